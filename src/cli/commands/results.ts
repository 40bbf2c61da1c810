import type { Command } from 'commander';
import { splitList, type CliContext } from '../context.js';
import { runExit } from '../io.js';
import { withProgress } from '../progress.js';
import { nextLines, waitingLines } from '../summary-lines.js';

/** `mso apply` and `mso rerun`: use a run's result, or run its failed part again. */
export function registerResults(program: Command, ctx: CliContext): void {
  program
    .command('apply')
    .description("bring a run's result (its final node's branch) into your branch by a merge, or write it as a patch")
    .argument('<run-id>')
    .option('--onto <branch>', 'merge into this branch (checked out first; default: the current branch)')
    .option('--patch <file>', 'write the result as a patch (git diff from the run base) instead of merging')
    .option('--node <id>', 'the final node to apply when the run has several')
    .action(async (runId: string, o: { onto?: string; patch?: string; node?: string }) => {
      const r = await ctx.app().engine.apply(runId, o);
      ctx.done({
        data: r,
        human: !r.changed
          ? r.mode === 'patch'
            ? `NOTHING to apply: ${r.node} @ ${r.commit.slice(0, 12)} changes nothing since the run's base (no patch written)`
            : `ALREADY in ${r.onto ?? 'HEAD'} of ${r.repo}: ${r.node} @ ${r.commit.slice(0, 12)} (nothing merged)`
          : r.mode === 'patch'
            ? `PATCH ${r.patch} (${r.node} @ ${r.commit.slice(0, 12)}); apply it with: git apply ${r.patch}`
            : `MERGED ${r.node} @ ${r.commit.slice(0, 12)} into ${r.onto ?? 'HEAD'} of ${r.repo} (merge commit ${r.merged?.slice(0, 12)})`,
      });
    });
  program
    .command('rerun')
    .description(
      'run the failed nodes (or --node ID) and their descendants again as a new linked run, reusing the rest',
    )
    .argument('<run-id>')
    .option('--failed', 'every node that failed')
    .option('--node <a,b>', 'these nodes')
    .option('--events', 'stream progress as NDJSON events on stdout (the last line is the run summary)')
    .action(async (runId: string, o: { failed?: boolean; node?: string; events?: boolean }) => {
      const { summary: r, streamed } = await withProgress(
        ctx,
        o.events,
        (onProgress) =>
          ctx
            .app()
            .engine.rerun(runId, { failed: o.failed, nodes: splitList(o.node), signal: ctx.io.signal, onProgress }),
        (x) => x.summary,
      );
      const s = r.summary;
      ctx.done({
        data: r,
        human: [
          `rerun     ${r.run_id} (of ${runId}: ${r.from ?? '-'} and descendants; reused ${r.reused.join(', ') || 'none'})`,
          `status    ${s.status}${s.reason ? ` (${s.reason})` : ''}`,
          ...(s.result ?? []).map((x) => `result    ${x.branch} @ ${x.commit.slice(0, 12)}`),
          ...waitingLines(s),
          ...nextLines(s),
        ],
        exitCode: runExit(s.status),
        streamed,
      });
    });
}
