import { Option, type Command } from 'commander';
import type { RunView } from '../../app/index.js';
import { RUN_STATUSES, UsageError } from '../../contracts/light.js';
import type { RunStatus } from '../../contracts/index.js';
import { splitList, type CliContext } from '../context.js';

function compact(v: RunView): Record<string, unknown> {
  return {
    run_id: v.run_id,
    status: v.status,
    dir: v.dir,
    observation: v.observation,
    manifest: v.manifest,
    ...(v.sync ? { sync: v.sync } : {}),
  };
}

/** `mso runs create|list|show|finalize|archive`. */
export function registerRuns(program: Command, ctx: CliContext): void {
  const runs = program.command('runs').description('run folders: create, list, show, finalize, archive, prune');
  runs
    .command('create')
    .description('scaffold a run (manifest, phase folders, observation mirror) and print its id')
    .option('--run-id <id>', 'explicit run id YYYYMMDD-<skill-key>-<case-slug>')
    .option('--skill-key <key>', 'skill key or full skill name (default msoorch)')
    .option('--case-slug <slug>', 'case slug (default: from --goal, else "run")')
    .option('--goal <text>', 'the goal this run serves (recorded in the manifest)')
    .option('--tags <a,b>', 'comma-separated tags')
    .action(async (opts: { runId?: string; skillKey?: string; caseSlug?: string; goal?: string; tags?: string }) => {
      const v = await ctx.app().runs.create({
        runId: opts.runId,
        skillKey: opts.skillKey,
        caseSlug: opts.caseSlug,
        goal: opts.goal,
        tags: splitList(opts.tags),
      });
      ctx.done({ data: compact(v), human: v.run_id });
    });
  runs
    .command('list')
    .description('list runs with their latest status (from the manifest index)')
    .addOption(new Option('--status <status>', 'only runs with this status').choices(RUN_STATUSES))
    .action(async (opts: { status?: RunStatus }) => {
      const list = await ctx.app().runs.list(opts.status);
      // Columns as wide as their longest cell; a dry run (stopped after its gate) says so beside its status.
      const statusOf = (r: (typeof list)[number]): string =>
        `${r.status}${r.tags.includes('dry-run') ? ' (dry run)' : ''}`;
      const idWidth = Math.max(3, ...list.map((r) => r.run_id.length));
      const statusWidth = Math.max(6, ...list.map((r) => statusOf(r).length));
      // Made at, to the second in UTC: the manifest keeps milliseconds, or none for a run made from its id alone.
      const row = (id: string, status: string, at: string): string =>
        `${id.padEnd(idWidth)}  ${status.padEnd(statusWidth)}  ${at}`;
      ctx.done({
        data: { runs: list, count: list.length },
        human:
          list.length === 0
            ? ['(no runs)']
            : [
                row('RUN', 'STATUS', 'CREATED (UTC)'),
                ...list.map((r) => row(r.run_id, statusOf(r), `${r.created_at.slice(0, 19).replace('T', ' ')}`)),
              ],
      });
    });
  runs
    .command('show')
    .description('show a run manifest')
    .argument('<run-id>')
    .option('--provenance', 'what the run needs to be reproduced: input hashes, versions, base commit, environment')
    .action(async (runId: string, o: { provenance?: boolean }) => {
      if (o.provenance) {
        const p = await ctx.app().explain.provenance(runId);
        ctx.done({ data: p, human: JSON.stringify(p, null, 2) });
        return;
      }
      const v = await ctx.app().runs.show(runId);
      ctx.done({ data: compact(v), human: JSON.stringify(v.manifest, null, 2) });
    });
  runs
    .command('finalize')
    .description('set the final status of a run and record it in the index')
    .argument('<run-id>')
    .addOption(new Option('--status <status>', 'final status').choices(['completed', 'failed']).makeOptionMandatory())
    .option('--message <text>', 'error message for a failed run')
    .action(async (runId: string, opts: { status: 'completed' | 'failed'; message?: string }) => {
      const v = await ctx.app().runs.finalize(runId, opts.status, opts.message);
      ctx.done({ data: compact(v), human: `${v.run_id} ${v.status}` });
    });
  runs
    .command('archive')
    .description(
      'move a finished run to archive/<YYYY-MM>/ (or, with --auto, every finished run older than auto_archive_after_days)',
    )
    .argument('[run-id]')
    .option('--auto', 'archive every finished run past run_policy.auto_archive_after_days')
    .action(async (runId: string | undefined, opts: { auto?: boolean }) => {
      const app = ctx.app();
      if (opts.auto === true) {
        if (runId !== undefined) throw new UsageError('give a run id or --auto, not both');
        const list = await app.runs.archiveDue();
        ctx.done({
          data: { archived: list.map(compact), count: list.length },
          human: list.length ? list.map((v) => `ARCHIVED ${v.run_id} -> ${v.dir}`) : ['nothing to archive'],
        });
        return;
      }
      if (runId === undefined) throw new UsageError('give a run id, or --auto');
      const v = await app.runs.archive(runId);
      ctx.done({ data: compact(v), human: `ARCHIVED ${v.run_id} -> ${v.dir}` });
    });
  runs
    .command('prune')
    .description('remove the worktrees and mso/<run>/* branches of finished runs (their audit and run folder stay)')
    .option('--older-than <age>', 'only runs finished longer ago than this: 30m, 12h, 7d, 2w')
    .option('--status <a,b>', 'only these statuses (default completed,failed,cancelled,archived)')
    .action(async (o: { olderThan?: string; status?: string }) => {
      const list = await ctx.app().engine.prune({ olderThan: o.olderThan, statuses: splitList(o.status) });
      ctx.done({
        data: { pruned: list, count: list.length },
        human: list.length
          ? list.map(
              (p) =>
                `PRUNED ${p.run_id} (${p.status}): ${p.worktrees_removed} worktree(s), ${p.branches_deleted.length} branch(es)`,
            )
          : ['nothing to prune'],
      });
    });
}
