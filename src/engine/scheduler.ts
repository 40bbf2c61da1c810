export type NodeState = 'pending' | 'running' | 'done' | 'failed' | 'blocked' | 'waiting' | 'cancelled';

/** What executing a node came to. `reset` re-opens nodes (a loop iteration); `retry` runs the node again at once. */
export type NodeOutcome =
  | { readonly kind: 'done' }
  | { readonly kind: 'failed'; readonly reason: string }
  | { readonly kind: 'waiting'; readonly reason: string }
  /** Cancelled with the whole run, or alone (its ticket was cancelled: `reason` says so, and its descendants are blocked). */
  | { readonly kind: 'cancelled'; readonly reason?: string }
  | { readonly kind: 'reset'; readonly nodes: readonly string[]; readonly reason: string };

export interface DagNode {
  readonly id: string;
  /** Forward parents only (loop back-edges are not dependencies). */
  readonly parents: readonly string[];
  /** Concurrency lane (an agent name); limited by `laneLimits`. */
  readonly lane?: string | undefined;
  /** Ready once every parent has settled (done, failed or blocked), not only when all are done: merges apply a quorum. */
  readonly settle?: boolean | undefined;
}

export interface SchedulerHooks {
  /**
   * Runs a node. Write-ahead rule: an executor calls `flush()` before its first side effect (a worktree, a spawn, a
   * commit), so the node's start and its parents' completion are on record before anything acts on them. (A worktree
   * the runner begins ahead for a child, from its parent's commit, records nothing and changes no state: the child's
   * own start takes it over only at the base it is started from.)
   */
  execute(id: string): Promise<NodeOutcome>;
  /** Asked before each start: `stop` ends dispatching (cancel, budget); running nodes finish. */
  admit(id: string): 'start' | 'stop';
  /** Every state change, in order (the runner buffers these as audit events). */
  onState(id: string, state: NodeState, detail: string | null): void;
  /**
   * Makes buffered state changes durable. Group commit: the scheduler calls it once per turn of the event loop that
   * changed something, after every {@link GROUP_COMMIT_STATES} changes, and before it returns; executors call it
   * before their side effects. A throw ends the run with that error.
   */
  flush(): void;
}

/** State changes after which the scheduler commits even within one turn of the event loop. */
export const GROUP_COMMIT_STATES = 256;

export interface SchedulerOptions {
  readonly maxConcurrency: number;
  readonly laneLimits?: Readonly<Record<string, number>>;
  /** States carried over from an earlier coordinator (resume): `done` nodes are never run again. */
  readonly initial?: ReadonlyMap<string, NodeState>;
  /**
   * Called once at the start with `reopen`: a node `waiting` for a person is made pending again (and runs as soon as
   * a slot is free) when `reopen(id)` is called while the run still has nodes running; a node still running when it is
   * called runs again at once if it comes back waiting. Returns what ends the subscription (called when the run ends).
   */
  readonly reopen?: ((reopen: (id: string) => void) => () => void) | undefined;
}

export interface SchedulerResult {
  readonly states: ReadonlyMap<string, NodeState>;
  readonly details: ReadonlyMap<string, string | null>;
  readonly stopped: boolean;
}

/**
 * Runs a DAG event by event: a node starts as soon as its last parent is done (no level barriers), within the global
 * and per-lane limits. A failure blocks every descendant (the failed ancestor named) while independent branches go on;
 * a node waiting for a person holds only its descendants, and runs again if it is reopened (a person decided) while
 * other nodes still run; once nothing runs, the run ends with it waiting.
 */
export async function runDag(
  nodes: readonly DagNode[],
  hooks: SchedulerHooks,
  opts: SchedulerOptions,
): Promise<SchedulerResult> {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const children = new Map(nodes.map((n) => [n.id, [] as string[]]));
  for (const n of nodes) for (const p of n.parents) children.get(p)?.push(n.id);
  const state = new Map<string, NodeState>(
    nodes.map((n) => [n.id, opts.initial?.get(n.id) === 'done' ? 'done' : 'pending']),
  );
  const details = new Map<string, string | null>();
  const laneRunning = new Map<string, number>();
  let running = 0;
  let stopped = false;
  const order = nodes.map((n) => n.id);
  // Group commit: state changes since the last flush, and whether a flush is queued for the end of this turn.
  let unflushed = 0;
  let flushQueued = false;
  // A hook that throws (an audit write that fails) stops dispatching; the run ends with that error once idle.
  let fatal: { error: unknown } | null = null;
  const guard = (fn: () => void): void => {
    try {
      fn();
    } catch (e) {
      fatal ??= { error: e };
      stopped = true;
    }
  };
  const flush = (): void => {
    if (fatal) return;
    unflushed = 0;
    guard(() => hooks.flush());
  };

  const set = (id: string, s: NodeState, detail: string | null = null): void => {
    const was = state.get(id);
    if (was !== s && (was === 'done' || s === 'done')) {
      for (const c of children.get(id) ?? []) undone.set(c, (undone.get(c) ?? 0) + (s === 'done' ? -1 : 1));
    }
    state.set(id, s);
    details.set(id, detail);
    hooks.onState(id, s, detail);
    if (++unflushed >= GROUP_COMMIT_STATES) flush();
    else if (!flushQueued) {
      flushQueued = true;
      setImmediate(() => {
        flushQueued = false;
        if (unflushed > 0) flush();
      });
    }
  };
  const SETTLED = new Set<NodeState>(['done', 'failed', 'blocked', 'cancelled']);
  // Parents not yet done, per node: readiness is O(1) for ordinary nodes even under a 10,000-wide fan-in.
  const undone = new Map(nodes.map((n) => [n.id, n.parents.filter((p) => state.get(p) !== 'done').length]));
  const isReady = (id: string): boolean => {
    if (state.get(id) !== 'pending') return false;
    const n = byId.get(id);
    const ps = n?.parents ?? [];
    if (!n?.settle) return (undone.get(id) ?? 0) === 0;
    // A merge with no parent done has nothing to merge: it is blocked, not run.
    return ps.every((p) => SETTLED.has(state.get(p) as NodeState)) && ps.some((p) => state.get(p) === 'done');
  };
  const blockDescendants = (id: string, why: string): void => {
    const queue = [...(children.get(id) ?? [])].sort();
    while (queue.length) {
      const c = queue.shift() as string;
      if (state.get(c) !== 'pending') continue;
      if (byId.get(c)?.settle) {
        // A merge decides for itself (quorum) once its parents settle, unless none of them can succeed.
        const ps = byId.get(c)?.parents ?? [];
        if (
          !ps.every((p) => SETTLED.has(state.get(p) as NodeState) || p === id) ||
          ps.some(
            (p) =>
              state.get(p) === 'done' ||
              state.get(p) === 'pending' ||
              state.get(p) === 'running' ||
              state.get(p) === 'waiting',
          )
        )
          continue;
      }
      set(c, 'blocked', why);
      queue.push(...[...(children.get(c) ?? [])].sort());
    }
  };

  // Nodes a person decided on while they were running: if they come back waiting, they run again at once.
  const rewake = new Set<string>();
  let ended = false;
  let unsubscribe: (() => void) | undefined;
  return new Promise((resolve, reject) => {
    const finishIfIdle = (): void => {
      if (running !== 0) return;
      flush();
      ended = true;
      unsubscribe?.();
      if (fatal) reject(fatal.error);
      else resolve({ states: state, details, stopped });
    };
    // Candidates in plan order; only nodes whose parents changed are re-examined (O(edges) overall).
    const candidates = new Set(order.filter((id) => isReady(id)));
    const examine = (ids: Iterable<string>): void => {
      for (const c of ids) if (isReady(c)) candidates.add(c);
    };
    // Outcomes that arrive in the same microtask turn are settled first, then started from in one pass.
    let launchQueued = false;
    const launchSoon = (): void => {
      if (launchQueued) return;
      launchQueued = true;
      queueMicrotask(() => {
        launchQueued = false;
        launch();
      });
    };
    const launch = (): void => {
      guard(startReady);
      finishIfIdle();
    };
    const startReady = (): void => {
      const starting: string[] = [];
      for (const id of candidates) {
        if (stopped || running + starting.length >= opts.maxConcurrency) break;
        if (!isReady(id)) {
          candidates.delete(id);
          continue;
        }
        const lane = byId.get(id)?.lane;
        const limit = lane ? opts.laneLimits?.[lane] : undefined;
        if (
          lane &&
          limit !== undefined &&
          (laneRunning.get(lane) ?? 0) + starting.filter((s) => byId.get(s)?.lane === lane).length >= limit
        )
          continue;
        if (hooks.admit(id) === 'stop') {
          stopped = true;
          break;
        }
        candidates.delete(id);
        set(id, 'running');
        starting.push(id);
      }
      for (const id of starting) {
        running++;
        const lane = byId.get(id)?.lane;
        if (lane) laneRunning.set(lane, (laneRunning.get(lane) ?? 0) + 1);
        // An executor that throws instead of rejecting still settles its node (as failed), or the run would hang.
        let run: Promise<NodeOutcome>;
        try {
          run = hooks.execute(id);
        } catch (e) {
          run = Promise.reject(e);
        }
        run.then(
          (outcome) => settle(id, lane, outcome),
          (e: unknown) =>
            settle(id, lane, { kind: 'failed', reason: `engine error: ${(e as Error)?.message ?? String(e)}` }),
        );
      }
    };
    const reopenWaiting = (id: string): void => {
      set(id, 'pending', 'a person decided: runs again');
      examine([id]);
    };
    const settle = (id: string, lane: string | undefined, outcome: NodeOutcome): void => {
      running--;
      if (lane) laneRunning.set(lane, (laneRunning.get(lane) ?? 1) - 1);
      guard(() => record(id, outcome));
      launchSoon();
    };
    const record = (id: string, outcome: NodeOutcome): void => {
      switch (outcome.kind) {
        case 'done':
          set(id, 'done');
          examine(children.get(id) ?? []);
          break;
        case 'failed':
          set(id, 'failed', outcome.reason);
          blockDescendants(id, `blocked by failed ancestor ${id}`);
          // Merges below may now have all parents settled.
          examine(nodes.filter((n) => n.settle).map((n) => n.id));
          break;
        case 'waiting':
          set(id, 'waiting', outcome.reason);
          if (rewake.delete(id)) reopenWaiting(id);
          break;
        case 'cancelled':
          set(id, 'cancelled', outcome.reason ?? 'cancelled');
          if (outcome.reason !== undefined) {
            blockDescendants(id, `blocked by cancelled ancestor ${id}`);
            examine(nodes.filter((n) => n.settle).map((n) => n.id));
          }
          break;
        case 'reset':
          for (const r of outcome.nodes) if (state.get(r) !== 'running' || r === id) set(r, 'pending', outcome.reason);
          examine(outcome.nodes);
          break;
      }
      if (outcome.kind !== 'waiting') rewake.delete(id);
    };
    unsubscribe = opts.reopen?.((id) => {
      if (ended || stopped) return;
      const s = state.get(id);
      if (s === 'running') rewake.add(id);
      else if (s === 'waiting')
        guard(() => {
          reopenWaiting(id);
          launchSoon();
        });
    });
    launch();
  });
}
