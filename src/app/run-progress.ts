import type { ExecutionPlan } from '../contracts/index.js';
import type { ProgressEvent, RecordedRun } from '../engine/index.js';

/**
 * One step of a run's progress as interfaces receive it: the engine's audit event (`node.state`, `node.attempt`,
 * `hitl.created`, `run.outcome`, ...), `attempt.cost` after each agent call, and `run.started` before the first node
 * with the plan's nodes (`payload.nodes`: `{ id, agent, state }`).
 */
export interface RunProgress {
  readonly run_id: string;
  /** ISO time the event was seen. */
  readonly at: string;
  readonly type: string;
  readonly node: string | null;
  readonly payload: Record<string, unknown>;
}

/** Receives a run's progress; it must be cheap and must not throw. */
export type ProgressListener = (e: RunProgress) => void;

/** One node in a {@link ProgressView}. */
export interface ProgressNode {
  readonly id: string;
  state: string;
  /** The agent (or chain) the node runs through, `shell` for a command. */
  agent: string | null;
  /** Epoch ms the node last started running, or null. */
  startedAt: number | null;
  endedAt: number | null;
  costUsd: number;
  detail: string | null;
  /** The node's latest failure that is being retried (`node.retry`): why, and which retry of how many. */
  retry: { readonly why: string; readonly n: number; readonly of: number } | null;
  /** Agents of its chain that failed before the one that took the call (`agent.chain`), and that one. */
  fellBack: {
    readonly failed: ReadonlyArray<{ readonly agent: string; readonly why: string }>;
    readonly to: string;
  } | null;
}

/** A run's progress folded from its events: what a live view shows. */
export interface ProgressView {
  readonly runId: string;
  readonly nodes: ReadonlyMap<string, ProgressNode>;
  /** Human items waiting for a person: `HITL-0001: title`. */
  readonly waiting: readonly string[];
  readonly total: number;
  readonly done: number;
  readonly failed: number;
  readonly costUsd: number;
  /** The run's outcome once it ended, else null. */
  readonly outcome: string | null;
}

/** Folds progress events into a {@link ProgressView}; `apply` returns true when the view changed. */
export function createProgressView(runId: string): { apply(e: RunProgress): boolean; view(): ProgressView } {
  const nodes = new Map<string, ProgressNode>();
  const waiting = new Map<string, string>();
  let outcome: string | null = null;
  let runCost = 0;
  const failures = new Map<string, string>();
  const nodeOf = (id: string): ProgressNode => {
    let n = nodes.get(id);
    if (!n) {
      n = {
        id,
        state: 'pending',
        agent: null,
        startedAt: null,
        endedAt: null,
        costUsd: 0,
        detail: null,
        retry: null,
        fellBack: null,
      };
      nodes.set(id, n);
    }
    return n;
  };
  return {
    apply(e) {
      const p = e.payload;
      const at = Date.parse(e.at);
      switch (e.type) {
        case 'run.started': {
          for (const x of (p['nodes'] as { id: string; agent: string | null; state: string }[] | undefined) ?? []) {
            const n = nodeOf(x.id);
            n.agent = x.agent;
            n.state = x.state;
          }
          return true;
        }
        case 'node.state': {
          if (!e.node) return false;
          const n = nodeOf(e.node);
          const state = String(p['state']);
          if (n.state === state) return false;
          n.state = state;
          n.detail = typeof p['detail'] === 'string' ? p['detail'] : null;
          if (state === 'running') [n.startedAt, n.endedAt] = [at, null];
          else if (n.startedAt !== null) n.endedAt = at;
          return true;
        }
        case 'node.attempt': {
          if (!e.node) return false;
          const agents = p['agents'];
          if (Array.isArray(agents) && agents.length) nodeOf(e.node).agent = agents.join('>');
          return true;
        }
        case 'node.failure': {
          // Kept until the engine says what it does about it: a retry is shown, a final failure is a state.
          const why = typeof p['message'] === 'string' ? p['message'] : p['error_class'];
          if (e.node) failures.set(e.node, typeof why === 'string' ? why : 'failed');
          return false;
        }
        case 'agent.chain': {
          // The agents that failed before the chain's chosen one (agents with nothing configured are not news).
          const trail = Array.isArray(p['trail']) ? (p['trail'] as Array<Record<string, unknown>>) : [];
          const chosen = typeof p['chosen'] === 'string' ? p['chosen'] : null;
          const failed = trail.filter((t) => t['outcome'] === 'failure' && t['agent'] !== chosen);
          if (!e.node || !chosen || failed.length === 0) return false;
          nodeOf(e.node).fellBack = {
            failed: failed.map((t) => ({ agent: String(t['agent']), why: String(t['reason'] ?? 'failed') })),
            to: chosen,
          };
          return true;
        }
        case 'node.retry': {
          if (!e.node) return false;
          const n = nodeOf(e.node);
          n.retry = { why: failures.get(e.node) ?? 'failed', n: Number(p['retry']), of: Number(p['of']) };
          failures.delete(e.node);
          return true;
        }
        case 'attempt.cost': {
          if (!e.node) return false;
          const usd = typeof p['cost_usd'] === 'number' ? p['cost_usd'] : 0;
          const n = nodeOf(e.node);
          n.costUsd += usd;
          runCost += usd;
          if (typeof p['agent'] === 'string') n.agent = p['agent'];
          return usd > 0;
        }
        case 'hitl.created': {
          waiting.set(String(p['item']), `${String(p['item'])}: ${String(p['title'] ?? '')}`);
          return true;
        }
        case 'run.outcome': {
          outcome = String(p['status']);
          return true;
        }
        default:
          return false;
      }
    },
    view() {
      const all = [...nodes.values()];
      return {
        runId,
        nodes,
        waiting: [...waiting.values()],
        total: all.length,
        done: all.filter((n) => n.state === 'done').length,
        failed: all.filter((n) => n.state === 'failed').length,
        costUsd: runCost,
        outcome,
      };
    },
  };
}

/**
 * The engine's progress hook for a listener: stamps each event with the run and the time, and passes its payload
 * through the audit log's redactor (progress reaches stdout: no secret may).
 */
export function progressHook(
  runId: string,
  now: () => Date,
  listener: ProgressListener | undefined,
  redact: <T>(v: T) => T,
): ((e: ProgressEvent) => void) | undefined {
  if (!listener) return undefined;
  return (e) => {
    try {
      const at = e.at ?? now().toISOString();
      listener({ run_id: runId, at, type: e.type, node: e.nodeId, payload: redact(e.payload) });
    } catch {
      // A broken view never stops the run.
    }
  };
}

/** The `run.started` event: every node of the plan with its agent and recorded state (a resume starts part done). */
export function runStartedEvent(
  runId: string,
  now: () => Date,
  plan: ExecutionPlan,
  recorded: RecordedRun,
  agentOverride: string | undefined,
): RunProgress {
  const nodes = Object.entries(plan.execution_graph).map(([id, n]) => {
    const r = recorded.nodes.get(id);
    return {
      id,
      agent: n.command ? 'shell' : (n.agent ?? agentOverride ?? (n.persona ? `persona ${n.persona}` : null)),
      state: r && r.state === 'done' && r.commit !== null ? 'done' : 'pending',
    };
  });
  return { run_id: runId, at: now().toISOString(), type: 'run.started', node: null, payload: { nodes } };
}

/** A run started in the background, and the first run id it showed once it got under way. */
export interface UnderWay<R> {
  /** The whole run; it goes on after `firstRunId` settles. */
  readonly work: Promise<R>;
  /**
   * The first run id its progress names other than `skip` (or its result's): the run got past its refusals. Rejects
   * with the run's error when it fails before that, so a caller answers a refusal at once instead of after the fact.
   */
  readonly firstRunId: Promise<string>;
}

/** Starts `start` with a progress listener and tells when the run is under way (see UnderWay). */
export function underWay<R extends { readonly run_id: string }>(
  skip: string | null,
  start: (onProgress: ProgressListener) => Promise<R>,
): UnderWay<R> {
  let tell!: (id: string) => void;
  let fail!: (e: unknown) => void;
  let told = false;
  const firstRunId = new Promise<string>((done, failed) => {
    tell = (id) => {
      if (told || id === skip) return;
      told = true;
      done(id);
    };
    fail = (e) => {
      if (told) return;
      told = true;
      failed(e);
    };
  });
  const work = start((e) => tell(e.run_id));
  work.then((r) => tell(r.run_id), fail);
  return { work, firstRunId };
}
