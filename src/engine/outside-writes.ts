import { dirname, join, relative, resolve, sep } from 'node:path';
import { folderEntries, gitDirs, mayReadWorktreeConfig, pathFingerprint, type Fs } from '../platform/index.js';
import type { AgentResult } from '../agents/index.js';
import { attemptResultFields } from './attempt-row.js';
import type { Git } from './git.js';
import type { RunContext } from './run-context.js';
import type { NodeOutcome } from './scheduler.js';

/** Where a node must not write: the repository (its checkout and git directory) and the workspace around its run. */
export interface OutsideScope {
  /** The repository's main checkout (`git worktree add` was run from here). */
  readonly repo: string;
  /** The run's folder, `<workspace>/.mso-context/active/<run-id>`. */
  readonly runDir: string;
  /** Folders inside the checkout whose untracked files are mso's (the workspace and observation roots). */
  readonly exclude: readonly string[];
}

/** Files of the scope with a fingerprint (size, mtime, mode, or a link target) each. */
export type OutsideSnapshot = ReadonlyMap<string, string>;

/** Parts of the workspace no node may change: the policy (it names the programs agents run), the anchor, and the run's design. */
const CONTEXT_WATCH = ['config', '.anchor.json'];
const RUN_WATCH = ['00_collect', '10_topology', '20_mental-model', '30_execution', '70_governance'];
/** Git directory entries that can make git run a program or change what it reads. */
const GIT_DIR_WATCH = ['config', 'config.worktree', 'hooks', 'info', 'commondir'];
/** A walk stops after this many entries, so a huge tree bounds the cost of one check. */
const MAX_ENTRIES = 20_000;

const isUnder = (path: string, dir: string): boolean => path === dir || path.startsWith(dir + sep);

/** Fingerprints of `paths` (see pathFingerprint), null for a path that does not exist. */
const fingerprints = (paths: readonly string[]): Array<string | null> => paths.map(pathFingerprint);

function walk(dir: string, into: Map<string, string>): void {
  const entries = folderEntries(dir).slice(0, Math.max(0, MAX_ENTRIES - into.size));
  const paths = entries.map((e) => join(dir, e.name));
  const fps = fingerprints(paths);
  for (const [i, e] of entries.entries()) {
    const fp = fps[i] as string | null;
    if (fp === null || into.size >= MAX_ENTRIES) continue;
    into.set(paths[i] as string, fp);
    if (e.isDirectory) walk(paths[i] as string, into);
  }
}

/** The git command that lists the main checkout's changed and untracked files (run in the checkout). */
export const CHECKOUT_STATUS = ['status', '--porcelain=v1', '-z', '--untracked-files=all'] as const;

/** The main checkout's changed and untracked files (git status), mso's own folders left out. */
async function checkoutPaths(deps: { readonly git: Git }, scope: OutsideScope): Promise<string[]> {
  const status = await deps.git.run(CHECKOUT_STATUS, resolve(scope.repo));
  return status.code === 0 ? parseCheckoutStatus(status.stdout, scope) : [];
}

/** The paths of {@link CHECKOUT_STATUS}'s output, absolute, mso's own untracked folders left out. */
function parseCheckoutStatus(stdout: string, scope: OutsideScope): string[] {
  const repo = resolve(scope.repo);
  const out: string[] = [];
  // The workspace may sit inside the repository: its files are the workspace walk's, not the checkout's.
  const fields = stdout.split('\0');
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as string;
    if (f.length < 4) continue;
    // A rename is followed by its source path in the next field.
    if (f[0] === 'R' || f[0] === 'C') i++;
    const path = join(repo, f.slice(3));
    // mso's own folders may sit inside the repository (the default ./workspace does): they are not the checkout's.
    if (f.startsWith('??') && scope.exclude.some((x) => isUnder(path, resolve(x)))) continue;
    out.push(path);
  }
  return out;
}

/**
 * Fingerprints what a node must leave alone: files git reports as changed or untracked in the repository's main
 * checkout, the program-running parts of its git directory (config, hooks, info), the workspace policy and anchor,
 * and the run's design artifacts. What mso itself writes while nodes run (the audit log, tickets, worktrees, other
 * runs) is not watched, so concurrent runs never trip it. Taken before and after a node, `outsideChanges` names
 * what moved.
 */
export async function snapshotOutside(
  deps: { readonly git: Git },
  scope: OutsideScope,
  checkout?: readonly string[],
): Promise<OutsideSnapshot> {
  const out = new Map<string, string>();
  const runDir = resolve(scope.runDir);
  const contextDir = dirname(dirname(runDir));
  const repo = resolve(scope.repo);
  const changed = checkout ?? (await checkoutPaths(deps, scope));
  for (const [i, fp] of fingerprints(changed).entries()) out.set(changed[i] as string, fp ?? 'deleted');
  // Files and folders watched whole (a folder with everything under it), in this order.
  const watched: string[] = [];
  const dirs = gitDirs(repo);
  if (dirs) {
    const gitDir = dirs.commonDir;
    watched.push(...GIT_DIR_WATCH.map((name) => join(gitDir, name)));
    // Each worktree's own config, which git reads only with per-worktree config on: a change to the repository's
    // config that turns it on is caught by the watch on that file. (Listing them all at every look would cost a fan-out
    // of n nodes n² checks.)
    if (mayReadWorktreeConfig(gitDir)) {
      const wts = folderEntries(join(gitDir, 'worktrees'));
      watched.push(...wts.map((w) => join(gitDir, 'worktrees', w.name, 'config.worktree')));
    }
  }
  watched.push(...CONTEXT_WATCH.map((n) => join(contextDir, n)), ...RUN_WATCH.map((n) => join(runDir, n)));
  for (const [i, fp] of fingerprints(watched).entries()) {
    if (fp === null) continue;
    out.set(watched[i] as string, fp);
    if (fp.startsWith('d:')) walk(watched[i] as string, out);
  }
  return out;
}

/** {@link CHECKOUT_STATUS} run elsewhere (in a node's commit), with the watch's count of started nodes before it. */
export interface CheckoutListing {
  readonly code: number;
  readonly stdout: string;
  /** {@link OutsideWatch.stamp} read just before the listing was started. */
  readonly stamp: number;
}

/** How old (ms) the newest list of the checkout may be to stand for a node's first look (see createOutsideWatch). */
const FRESH_MS = 1000;

/** Snapshots before and after the nodes of one run (see {@link createOutsideWatch}). */
export interface OutsideWatch {
  /** The repository's main checkout, where {@link CHECKOUT_STATUS} runs. */
  readonly checkout: string;
  /** Taken before a node's agent runs; the node counts as running until its `after`. */
  before(): Promise<OutsideSnapshot>;
  /** Whether a `before` now would list the checkout itself (it has no quiet list, nor a fresh one, to reuse). */
  wantsListing(): boolean;
  /**
   * A listing of the checkout made by a process spawned anyway (a worktree's creation): the run's newest, for the
   * next `before` while it is fresh (see createOutsideWatch); a failed one is ignored.
   */
  offer(listed: { readonly code: number; readonly stdout: string }): void;
  /**
   * Taken once the node's agent has ended. `listed`: the checkout's status as run (after the agent ended) by the
   * caller in a process it spawned anyway; a failed one is run again here.
   */
  after(listed?: CheckoutListing): Promise<OutsideSnapshot>;
  /**
   * Read by a node between its agent's end and its `after`, just before it lists the checkout itself: the count of
   * nodes started so far (and gate commands run), or -1 when another node's agent runs (that list is never reused).
   */
  stamp(): number;
  /** Something else runs a program now (a gate command): the next node lists the checkout for itself. */
  unsettle(): void;
}

/**
 * Before/after snapshots for a run's nodes. Listing the checkout's changed files costs a git process; the list taken
 * after a node, when no other node ran at any moment since, still holds when the next node starts (nothing but the
 * coordinator ran, and it writes only in mso's own folders; a gate command ends that, see `unsettle`), so a chain
 * takes one git status per node instead of two, and that one can run in the node's commit process (`after(listed)`).
 * Side by side no moment is quiet for long: a node then takes the newest list the run has (another node's look after
 * its step, or a worktree's creation: `offer`) when it is at most {@link FRESH_MS} old, and lists the checkout itself
 * otherwise.
 * Such a list was made a moment earlier, so an edit by someone else in that moment is blamed on the node, as in a
 * chain's gap; an edit by a node running then is told apart by its change time (ownStrayWrites). A fan-out's children
 * of short steps so take one git status each, in their commit, instead of two; a node that waited longer for its turn
 * (an agent's) gets a list of its own.
 * Every fingerprint is read fresh. A person's edit in that gap is blamed on the next node, as one made while it runs.
 */
export function createOutsideWatch(
  deps: { readonly git: Git },
  scope: OutsideScope,
  /** Milliseconds, to tell how old a listing is (the run's clock). */
  now: () => number,
): OutsideWatch {
  let running = 0;
  // Bumped whenever a node starts: a list taken in a quiet moment is reused only while nothing has started since.
  let starts = 0;
  let quiet: { readonly paths: readonly string[]; readonly starts: number } | null = null;
  /** The newest list of the checkout from anywhere (a node's look after its step, a worktree's creation), and when. */
  let newest: { readonly paths: readonly string[]; readonly at: number } | null = null;
  const reusable = (): boolean => running === 0 && quiet !== null && quiet.starts === starts;
  /** A node starting now takes the newest list when it is this fresh (see above). */
  const fresh = (): boolean => newest !== null && now() - newest.at <= FRESH_MS;
  return {
    checkout: resolve(scope.repo),
    async before() {
      const reuse = reusable() ? quiet?.paths : fresh() ? newest?.paths : undefined;
      running++;
      starts++;
      quiet = null;
      return snapshotOutside(deps, scope, reuse);
    },
    wantsListing: () => !reusable() && !fresh(),
    offer(listed) {
      if (listed.code === 0) newest = { paths: parseCheckoutStatus(listed.stdout, scope), at: now() };
    },
    async after(listed) {
      running--;
      const given = listed?.code === 0 ? listed : undefined;
      // A list made elsewhere counts from the moment it was started: a node that began before it is not quiet.
      const at = given ? given.stamp : starts;
      const calm = running === 0;
      const paths = given ? parseCheckoutStatus(given.stdout, scope) : await checkoutPaths(deps, scope);
      quiet = calm && at === starts ? { paths, starts } : null;
      newest = { paths, at: now() };
      return snapshotOutside(deps, scope, paths);
    },
    stamp: () => (running === 1 ? starts : -1),
    unsettle() {
      starts++;
      quiet = null;
      newest = null;
    },
  };
}

/** Paths added, removed or changed between two snapshots, sorted, relative to `base` when under it. */
export function outsideChanges(before: OutsideSnapshot, after: OutsideSnapshot, base?: string): string[] {
  const changed = new Set<string>();
  for (const [p, fp] of after) if (before.get(p) !== fp) changed.add(p);
  for (const p of before.keys()) if (!after.has(p)) changed.add(p);
  // A directory's own entry changes whenever a file in it does: name the files, not their folders.
  const paths = [...changed].filter((p) => ![...changed].some((q) => q !== p && q.startsWith(p + sep)));
  return paths.map((p) => (base && isUnder(p, base) ? relative(base, p) || p : p)).sort();
}

/** When one node's agents ran, in epoch milliseconds of the run's clock; `to` is null while they run. */
export interface AgentWindow {
  readonly node: string;
  readonly from: number;
  to: number | null;
}

/** File times come from the kernel's coarse clock, a few milliseconds behind the one windows are read from. */
const SLACK_MS = 50;

/** The change time of `path`, or of its nearest folder that still exists (a deletion changes its folder). */
async function changeTime(fs: Pick<Fs, 'lstat'>, path: string): Promise<number | null> {
  for (let p = path; ; p = dirname(p)) {
    const st = await fs.lstat(p).catch(() => null);
    if (st) return st.ctimeMs;
    if (dirname(p) === p) return null;
  }
}

/**
 * Which of the stray `paths` node `id` saw are its own. A path's change time (ctime: set by the kernel on every
 * change, and no process can set it back) is matched against the windows in which each node's agents ran: a change
 * inside other nodes' windows only is theirs (each of them sees it too, since it fell between their own before and
 * after looks, and fails for it); a change inside this node's window is this node's, shared with every other node
 * running then (they cannot be told apart); a change inside no window (a process that escaped its group, or someone
 * else) is kept by every node that saw it, as before.
 */
export async function ownStrayWrites(
  ctx: Pick<RunContext, 'agentWindows' | 'event'> & { readonly deps: { readonly fs: Pick<Fs, 'lstat'> } },
  id: string,
  paths: readonly string[],
): Promise<{ paths: string[]; note: string }> {
  const mine: string[] = [];
  const shared = new Set<string>();
  let unattributed = false;
  const elsewhere: Array<{ path: string; nodes: string[] }> = [];
  for (const path of paths) {
    const t = await changeTime(ctx.deps.fs, path);
    const running =
      t === null
        ? []
        : ctx.agentWindows.filter((w) => w.from - SLACK_MS <= t && (w.to === null || t <= w.to + SLACK_MS));
    const nodes = [...new Set(running.map((w) => w.node))];
    if (nodes.length === 0) {
      mine.push(path);
      unattributed = true;
    } else if (nodes.includes(id)) {
      mine.push(path);
      for (const n of nodes) if (n !== id) shared.add(n);
    } else elsewhere.push({ path, nodes });
  }
  if (elsewhere.length > 0) ctx.event('node.outside_writes_elsewhere', id, { writes: elsewhere });
  const notes = [
    ...(shared.size > 0
      ? [`${[...shared].sort().join(', ')} ran at the same moment and cannot be told apart from it`]
      : []),
    ...(unattributed ? ['some changed while no agent of the run was running'] : []),
  ];
  return { paths: mine, note: notes.length > 0 ? ` (${notes.join('; ')})` : '' };
}

/** Fails a node that changed `paths` outside its worktree: the attempt closed as failure, the event and snapshot name them. */
export function failOutsideWrites(
  ctx: RunContext,
  id: string,
  attemptId: string,
  result: AgentResult | null,
  paths: readonly string[],
  note = '',
): NodeOutcome {
  const shown = paths.slice(0, 20).join(', ') + (paths.length > 20 ? `, and ${paths.length - 20} more` : '');
  const reason = `changed outside its worktree while it ran: ${shown}${note}`;
  ctx.deps.log.recordAttempt({
    attemptId,
    runId: ctx.runId,
    ...(result ? attemptResultFields(result) : { endedAt: ctx.deps.clock.now().toISOString() }),
    status: 'failure',
    errorClass: 'outside_writes',
    errorMessage: reason,
    filesChanged: [...paths],
  });
  ctx.event('node.failure', id, { error_class: 'outside_writes', message: reason, paths, attempt_id: attemptId });
  ctx.snapshot(id, 'failed', { role: 'sentinel', phase: 4, metadata: { outside_writes: paths } });
  return { kind: 'failed', reason };
}
