import type { AgentWindow } from './outside-writes.js';
import { join } from 'node:path';
import type { AuditLog } from '../audit/index.js';
import { nodeBranch } from './git.js';
import { CHECKOUT_STATUS, createOutsideWatch, type OutsideWatch } from './outside-writes.js';
import { createTreeHasher, type TreeHasher } from './tree-hash.js';
import { addWorktree, worktreeInPlace } from './worktree-add.js';
import { limiter } from './limiter.js';
import { createTicketMoves } from './ticket-moves.js';
import { smallFsOf } from '../workspace/index.js';
import type { RecordedNode } from './run-state.js';
import { loadRecordedRun, recordedNode } from './run-state.js';
import type { RunnerDeps, RunnerInput } from './runner.js';

type AuditEvent = Parameters<AuditLog['appendEvent']>[0];
type Graph = RunnerInput['plan']['execution_graph'];
export type PlanNode = NonNullable<Graph[string]>;

/**
 * What every step of one run's execution shares: the recorded state of its nodes, the buffered audit events, the
 * worktree lock, and the small helpers that write snapshots and move tickets.
 */
export interface RunContext {
  readonly deps: RunnerDeps;
  readonly input: RunnerInput;
  readonly runId: string;
  readonly graph: Graph;
  readonly ids: readonly string[];
  node(id: string): PlanNode;
  rec(id: string): RecordedNode;
  /** Every node's recorded state (the nodes asked for so far). */
  readonly recorded: Map<string, RecordedNode>;
  /** Records an event now, with every state change buffered before it (write-ahead). */
  event(type: string, nodeId: string | null, payload: Record<string, unknown>): void;
  /**
   * Buffers an event nothing acts on before the next event or flush (a node's state change, what an agent did): it is
   * committed in that one's transaction.
   */
  bufferState(e: AuditEvent): void;
  /**
   * Queues a row write that no side effect waits on (a snapshot, an attempt row an event follows at once): it is
   * committed in the next event's or flush's transaction, so it costs no commit of its own.
   */
  deferRow(write: () => void): void;
  flushStates(): void;
  /**
   * Appends what an agent says or does while it runs (text, tool calls, errors) to the node's live log
   * ({@link liveLogPath}), redacted, so `mso logs --follow` can show it before the call's transcript is stored.
   */
  liveOutput(id: string, attemptId: string, e: Record<string, unknown>): void;
  /** Tells the progress hook something that is not an audit event (e.g. an agent call's cost). */
  notify(type: string, nodeId: string | null, payload: Record<string, unknown>): void;
  /** Runs `git worktree add` calls on the shared repository one at a time (git's own locks are not enough for it). */
  serial<T>(fn: () => Promise<T>): Promise<T>;
  /** Cost so far of the run's attempts. */
  spent(): number;
  worktreeOf(id: string): string;
  branchOf(id: string): string;
  /** Checks out `base` in the node's worktree (made on first use); HEAD is then `base`. */
  prepareWorktree(id: string, base: string): Promise<string>;
  /**
   * Called once node `done` has committed `commit` and nothing but its record is left (its step succeeded, no gate
   * or required file is left to check): starts making the worktrees of its children that are ready then (every other
   * parent done; not merges, not loop restarts) at that commit, without waiting for their dispatch, so that git work
   * overlaps the coordinator's bookkeeping between nodes; their `prepareWorktree` then takes it over (or makes it again
   * at another base). A worktree made for a node that never runs (the run stopped first) is a worktree like any other:
   * cleanup removes it, resume reuses it. A no-op where nodes are not dispatched from this process (a worker's job).
   */
  prepareChildrenAhead(done: string, commit: string): void;
  /** Waits for the worktrees begun by {@link prepareChildrenAhead} that no node has taken over. */
  settleAhead(): Promise<void>;
  /**
   * When the node's latest attempt in this run began, or null when it has none (a worker's job answers null: what a
   * person decided reaches it in the job).
   */
  lastAttemptAt(id: string): string | null;
  /**
   * How many attempts node `id` has on record in this run: a node run again (after a resume, in a loop's next
   * iteration) numbers its attempts on from there. A worker's job is told the count.
   */
  attemptsBefore(id: string): number;
  /** SHA-256 of file contents the run has hashed, by git mode and object id (see treeHash). */
  readonly contentHashes: Map<string, string>;
  /** When each node's agents ran (epoch ms; `to` null while running), to tell whose a stray write was. */
  readonly agentWindows: AgentWindow[];
  /** The run's tree hashes (over `contentHashes`), a node's tree derived from its parent's where it can. */
  readonly trees: TreeHasher;
  /** Snapshots of what nodes must not write (the repository, the workspace around the run), before and after each. */
  readonly outside: OutsideWatch;
  snapshot(
    id: string,
    status: 'pending' | 'active' | 'committed' | 'merged' | 'rolled_back' | 'failed',
    extra?: {
      treeHash?: string | null;
      fallbackTarget?: string | null;
      role?: 'execution' | 'critic_judge' | 'sentinel' | 'provisioning' | 'branching' | 'handoff';
      phase?: number;
      metadata?: Record<string, unknown>;
    },
  ): void;
  /** Moves node `id`'s ticket (see createTicketMoves: a quick node's start and end are one write). */
  moveTicket(id: string, to: 'in_progress' | 'done' | 'blocked', reason: string): Promise<void>;
  /** Writes the ticket starts still held back; the run's end waits for it. */
  settleTickets(): Promise<void>;
  /** Drops the ticket starts still held back, unwritten (the run stopped on an error). */
  dropTickets(): void;
}

/** A node's live log: NDJSON `{ at, attempt_id, type, text|name|input|message }` lines, one per agent event. */
export const liveLogPath = (runDir: string, nodeId: string): string =>
  join(runDir, '40_collaboration', 'live', `${nodeId}.ndjson`);

/**
 * `known` gives the recorded nodes instead of reading them from the audit log (a worker, which has no audit log, gets
 * them in its job).
 */
export function createRunContext(
  deps: RunnerDeps,
  input: RunnerInput,
  known?: Map<string, RecordedNode> | undefined,
): RunContext {
  const { log, git } = deps;
  const { runId } = input;
  const graph = input.plan.execution_graph;
  const recorded = known ? { nodes: known } : loadRecordedRun(log, runId);
  const buffered: AuditEvent[] = [];
  const progress = input.onProgress;
  /** Row writes waiting for the next event's transaction (see deferRow). */
  const rows: Array<() => void> = [];
  const flushStates = (): void => {
    if (rows.length === 0) {
      if (buffered.length) log.appendEvents(buffered.splice(0));
      return;
    }
    log.transaction(() => {
      for (const write of rows.splice(0)) write();
      if (buffered.length) log.appendEvents(buffered.splice(0));
    });
  };
  let worktreeLock: Promise<void> = Promise.resolve();
  /** Worktrees begun ahead of their node's dispatch, by node, with the base they were made at. */
  const ahead = new Map<string, { readonly base: string; readonly made: Promise<boolean> }>();
  /**
   * Worktrees made ahead run as many at once as nodes may: a fan-out's children are checked out in plan order, the
   * first ones done while the rest wait, instead of all of them sharing the cores at once.
   */
  const aheadSlots = limiter(Math.max(1, input.maxConcurrency));
  /** Each node's children, built on first use (the graph does not change during a run). */
  let childrenOf: Map<string, string[]> | undefined;
  let liveWrites: Promise<unknown> = Promise.resolve();
  let liveDirMade = false;
  const pendingLive = new Map<string, string[]>();
  // A private key printed by a command spans lines, and the live log gets them one at a time: the redactor, seeing a
  // single line, knows only the BEGIN line. Every line of the block is withheld here instead.
  const inKey = new Set<string>();
  const keyLines = (attempt: string, e: Record<string, unknown>): Record<string, unknown> => {
    if (e['type'] !== 'output' || typeof e['text'] !== 'string') return e;
    const key = `${attempt}:${String(e['stream'])}`;
    const text = e['text'];
    if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY/.test(text)) inKey.add(key);
    if (!inKey.has(key)) return e;
    if (/-----END [A-Z0-9 ]*PRIVATE KEY/.test(text)) inKey.delete(key);
    return { ...e, text: '[redacted: private key line]' };
  };
  const worktreeOf = (id: string): string => join(input.runDir, 'worktree', id);
  const branchOf = (id: string): string => nodeBranch(runId, id);
  const contentHashes = new Map<string, string>();
  /** Queries on the run's attempts, each statement made once. */
  const attemptQueries = new Map<string, ReturnType<typeof log.db.prepare>>();
  /**
   * One row of a query on the run's attempts. `flushed` (the default): the deferred rows are written first, so that an
   * attempt row waiting for its event's transaction counts, and what was buffered before the read is committed first.
   */
  const attemptsRow = <T>(sql: string, args: readonly unknown[], flushed = true): T | undefined => {
    if (flushed) flushStates();
    let stmt = attemptQueries.get(sql);
    if (!stmt) attemptQueries.set(sql, (stmt = log.db.prepare(sql)));
    return stmt.get(...args) as T | undefined;
  };
  const COUNT = 'SELECT count(*) AS n FROM attempts WHERE run_id = ? AND node_id = ?';
  /** The node's attempts on record, for its ticket. */
  const attemptsOf = (id: string): { attempts: number } | undefined => {
    const n = Number(attemptsRow<{ n: number | string }>(COUNT, [runId, id])?.n ?? 0);
    return n > 0 ? { attempts: n } : undefined;
  };
  const tickets = createTicketMoves({
    tickets: input.tickets,
    ticketOf: input.ticketOf,
    clock: deps.clock,
    runId,
    attemptsOf,
    record: (e) => ctx.bufferState(e),
    commit: () => flushStates(),
  });

  /**
   * Makes node `id`'s worktree at `base` (or resets the one there). Worktrees of different nodes are made side by side
   * (a wide graph's children at once); only what goes through `git worktree add` itself waits for its turn (see
   * addWorktree).
   */
  const makeWorktree = async (id: string, base: string): Promise<string> => {
    const wt = worktreeOf(id);
    const fs = smallFsOf(deps);
    if (await worktreeInPlace(fs, input.repo, wt)) {
      await git.ok(['reset', '--hard', base], wt);
      await git.ok(['clean', '-fdx'], wt);
    } else {
      const where = { repo: input.repo, path: wt, branch: branchOf(id), base };
      // The checkout's status for the node's first look, when it needs one, runs in the same process.
      const first = ctx.outside.wantsListing() ? { args: CHECKOUT_STATUS, cwd: input.repo } : undefined;
      const added = await addWorktree(git, fs, where, first, ctx.serial);
      if (added.first) ctx.outside.offer(added.first);
    }
    return wt;
  };

  const ctx: RunContext = {
    deps,
    input,
    runId,
    graph,
    ids: Object.keys(graph),
    node: (id) => graph[id] as PlanNode,
    rec: (id) => recordedNode(recorded.nodes, id),
    recorded: recorded.nodes,
    event(type, nodeId, payload) {
      buffered.push({ runId, type, nodeId, payload });
      flushStates();
      progress?.({ type, nodeId, payload });
    },
    deferRow(write) {
      rows.push(write);
    },
    bufferState(e) {
      buffered.push(e);
      progress?.({ type: e.type, nodeId: e.nodeId ?? null, payload: e.payload ?? {}, ...(e.at ? { at: e.at } : {}) });
    },
    flushStates,
    liveOutput(id, attemptId, raw) {
      const e = keyLines(`${id}:${attemptId}`, raw);
      const line = `${JSON.stringify(log.redactor.value({ at: deps.clock.now().toISOString(), attempt_id: attemptId, ...e }))}\n`;
      const file = liveLogPath(input.runDir, id);
      // Lines that come while a write is under way go out together in the next one (a chatty command is not one
      // file append per line).
      const queued = pendingLive.get(file);
      if (queued) {
        queued.push(line);
        return;
      }
      pendingLive.set(file, [line]);
      liveWrites = liveWrites
        .then(async () => {
          const lines = pendingLive.get(file) ?? [];
          pendingLive.delete(file);
          if (!liveDirMade) await deps.fs.mkdir(join(input.runDir, '40_collaboration', 'live'), { recursive: true });
          liveDirMade = true;
          await deps.fs.appendFile(file, lines.join(''));
        })
        .catch(() => undefined); // a live log is a view: losing a line never stops the node
    },
    notify(type, nodeId, payload) {
      progress?.({ type, nodeId, payload });
    },
    serial(fn) {
      const next = worktreeLock.then(fn, fn);
      worktreeLock = next.then(
        () => undefined,
        () => undefined,
      );
      return next;
    },
    spent: () =>
      attemptsRow<{ c: number }>('SELECT COALESCE(SUM(cost_usd), 0) AS c FROM attempts WHERE run_id = ?', [runId])?.c ??
      0,
    worktreeOf,
    branchOf,
    contentHashes,
    agentWindows: [],
    trees: createTreeHasher(git, deps.fs, contentHashes, smallFsOf(deps)),
    outside: createOutsideWatch(deps, { repo: input.repo, runDir: input.runDir, exclude: input.ownRoots ?? [] }, () =>
      deps.clock.now().getTime(),
    ),
    prepareChildrenAhead(done, commit) {
      childrenOf ??= childrenIndex(ctx.ids, graph);
      for (const c of childrenOf.get(done) ?? []) {
        const n = graph[c];
        const r = ctx.rec(c);
        if (!n || n.type === 'merge' || ahead.has(c)) continue;
        if (r.state !== 'pending' || r.baseOverride !== null || r.commit !== null) continue;
        if (!n.parent_refs.every((p) => p === done || (ctx.rec(p).state === 'done' && ctx.rec(p).commit !== null)))
          continue;
        const first = n.parent_refs[0] as string;
        const base = first === done ? commit : ctx.rec(first).commit;
        if (base === null) continue;
        ahead.set(c, {
          base,
          made: aheadSlots(() => makeWorktree(c, base)).then(
            () => true,
            () => false,
          ),
        });
      }
    },
    lastAttemptAt: (id) =>
      attemptsRow<{ at: string | null }>(
        'SELECT MAX(started_at) AS at FROM attempts WHERE run_id = ? AND node_id = ?',
        [runId, id],
      )?.at ?? null,
    // No flush: an attempt's row is deferred only to go out with its node.attempt event, right after it.
    attemptsBefore: (id) => Number(attemptsRow<{ n: number | string }>(COUNT, [runId, id], false)?.n ?? 0),
    async settleAhead() {
      await Promise.all([...ahead.values()].map((a) => a.made));
    },
    prepareWorktree(id, base) {
      const early = ahead.get(id);
      if (!early) return makeWorktree(id, base);
      ahead.delete(id);
      // Made ahead at this base: taken over. Made at another, or failed: made again here (it says why if it fails).
      return early.made.then((ok) => (ok && early.base === base ? worktreeOf(id) : makeWorktree(id, base)));
    },
    snapshot(id, status, extra = {}) {
      const n = graph[id];
      if (!n) return;
      ctx.deferRow(() =>
        log.recordSnapshot({
          runId,
          nodeId: id,
          nodeType: n.type,
          parentRefs: n.parent_refs,
          treeHashRef: extra.treeHash ?? null,
          status,
          agentRole:
            extra.role ?? (n.type === 'merge' ? 'critic_judge' : n.type === 'branch' ? 'branching' : 'execution'),
          phase: extra.phase ?? (n.type === 'commit' ? 2 : 3),
          fallbackTarget: extra.fallbackTarget ?? null,
          ...(n.merge_policy ? { mergePolicy: n.merge_policy as Record<string, unknown> } : {}),
          metadata: extra.metadata ?? {},
        }),
      );
    },
    moveTicket: (id, to, reason) => tickets.move(id, to, reason),
    settleTickets: () => tickets.settle(),
    dropTickets: () => tickets.drop(),
  };
  return ctx;
}

/** Each node's children in `graph`, in the order of `ids`. */
function childrenIndex(ids: readonly string[], graph: Graph): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const c of ids) for (const p of graph[c]?.parent_refs ?? []) out.set(p, [...(out.get(p) ?? []), c]);
  return out;
}
