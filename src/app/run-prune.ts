import { join } from 'node:path';
import { openAuditLog } from '../audit/index.js';
import { InvalidArgumentError, type RunStatus } from '../contracts/index.js';
import { loadRecordedRun, runBranchPrefix } from '../engine/index.js';
import { FINISHED_STATUSES_FOR_PRUNE, type RunOpsContext } from './run-support.js';
import { auditOptions } from './settings.js';

export interface PruneOptions {
  /** Only runs finished (or last recorded) longer ago than this: `7d`, `12h`, `30m`. */
  readonly olderThan?: string | undefined;
  /** Only runs with one of these statuses (default: completed, failed, cancelled, archived). */
  readonly statuses?: readonly string[] | undefined;
}

export interface PrunedRun {
  readonly run_id: string;
  readonly status: RunStatus;
  readonly repo: string | null;
  readonly worktrees_removed: number;
  readonly branches_deleted: readonly string[];
}

const UNIT_MS: Readonly<Record<string, number>> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `7d` → ms; refuses anything else with the flag named. */
export function parseAge(text: string): number {
  const m = /^(\d+)([mhdw])$/.exec(text.trim());
  if (!m) throw new InvalidArgumentError('--older-than', `${text} is not an age like 30m, 12h, 7d or 2w`);
  return Number(m[1]) * (UNIT_MS[m[2] as string] as number);
}

/**
 * `mso runs prune`: removes the git worktrees and `mso/<run>/*` branches of finished runs; their run folders, audit
 * rows and blobs stay (replay, explain and reports keep working from the record).
 */
export async function pruneRuns(c: RunOpsContext, options: PruneOptions = {}): Promise<PrunedRun[]> {
  const { deps, git } = c;
  const age = options.olderThan !== undefined ? parseAge(options.olderThan) : 0;
  const statuses = options.statuses?.length ? options.statuses : FINISHED_STATUSES_FOR_PRUNE;
  for (const s of statuses)
    if (!FINISHED_STATUSES_FOR_PRUNE.includes(s))
      throw new InvalidArgumentError(
        '--status',
        `${s} is not a finished status (${FINISHED_STATUSES_FOR_PRUNE.join(', ')})`,
      );
  const ws = await c.open(false);
  const cutoff = deps.clock.now().getTime() - age;
  const due = (await ws.runs.list()).filter(
    (r) => statuses.includes(r.status) && Date.parse(r.completed_at ?? r.recorded_at ?? r.created_at) <= cutoff,
  );
  const log = openAuditLog(deps, auditOptions(ws, deps));
  const pruned: PrunedRun[] = [];
  try {
    for (const r of due) {
      const repo = loadRecordedRun(log, r.run_id).repo;
      let removed = 0;
      const deleted: string[] = [];
      const ref = await ws.runs.get(r.run_id).catch(() => undefined);
      const wtDir = ref ? join(ref.dir, 'worktree') : null;
      if (repo && (await deps.fs.stat(repo).catch(() => undefined))) {
        const listed = await git.run(['worktree', 'list', '--porcelain'], repo);
        for (const line of listed.stdout.split('\n')) {
          const path = line.startsWith('worktree ') ? line.slice('worktree '.length) : null;
          if (path && wtDir && path.startsWith(`${wtDir}/`)) {
            if ((await git.run(['worktree', 'remove', '--force', path], repo)).code === 0) removed++;
          }
        }
        await git.run(['worktree', 'prune'], repo);
        const branches = await git.run(
          ['for-each-ref', '--format=%(refname:short)', `refs/heads/${runBranchPrefix(r.run_id)}`],
          repo,
        );
        for (const b of branches.stdout.split('\n').filter(Boolean))
          if ((await git.run(['branch', '-D', b], repo)).code === 0) deleted.push(b);
      }
      // A folder left that cannot be removed (read-only files, for an unprivileged user) is named and kept: the
      // other runs are still pruned.
      if (wtDir)
        await deps.fs.rm(wtDir, { recursive: true, force: true }).catch((e: unknown) => {
          deps.logger.warn(
            `could not remove ${wtDir} (${(e as Error).message}); remove it by hand (chmod -R u+w first if it holds read-only files)`,
          );
        });
      if (removed === 0 && deleted.length === 0) continue;
      log.appendEvent({
        runId: r.run_id,
        type: 'run.pruned',
        payload: { repo, worktrees_removed: removed, branches_deleted: deleted },
      });
      pruned.push({ run_id: r.run_id, status: r.status, repo, worktrees_removed: removed, branches_deleted: deleted });
    }
  } finally {
    log.close();
  }
  return pruned;
}
