import type { AuditLog } from '../audit/index.js';
import type { NodeState } from './scheduler.js';

/** What the audit log says about one node of a run. */
export interface RecordedNode {
  state: NodeState;
  detail: string | null;
  commit: string | null;
  treeHash: string | null;
  summary: string;
  files: string[];
  iteration: number;
  baseOverride: string | null;
  requiredPresent: number;
  requiredTotal: number;
  gatesPassed: number;
  gatesTotal: number;
  /** The node committed after its last state change: its coordinator stopped between the commit and `done`. */
  committedLast: boolean;
  /** The distributed job enqueued for the node and not yet applied (a resumed coordinator adopts it), or null. */
  jobId: string | null;
  /** How many jobs were enqueued for the node (the next job's id counts on from it). */
  dispatches: number;
}

/** The run as recorded: provisioning, node states, live agent pids, the coordinator. */
export interface RecordedRun {
  readonly repo: string | null;
  readonly baseSha: string | null;
  readonly nodes: Map<string, RecordedNode>;
  /** Agent process groups spawned and not seen to exit, with their leader's start id (null if unknown). */
  readonly livePids: Map<number, string | null>;
  readonly coordinatorPid: number | null;
  readonly cost: number;
}

const fresh = (): RecordedNode => ({
  state: 'pending',
  detail: null,
  commit: null,
  treeHash: null,
  summary: '',
  files: [],
  iteration: 1,
  baseOverride: null,
  requiredPresent: 0,
  requiredTotal: 0,
  gatesPassed: 0,
  gatesTotal: 0,
  committedLast: false,
  jobId: null,
  dispatches: 0,
});

/** The recorded state of one node, created pending (and kept in the run) the first time it is asked for. */
export function recordedNode(nodes: Map<string, RecordedNode>, id: string): RecordedNode {
  let n = nodes.get(id);
  if (!n) nodes.set(id, (n = fresh()));
  return n;
}

/** Folds the run's events (in sequence order) into its current state: the audit log is the engine's source of truth. */
export function loadRecordedRun(log: Pick<AuditLog, 'db'>, runId: string): RecordedRun {
  const rows = log.db
    .prepare('SELECT type, node_id, payload FROM events WHERE run_id = ? ORDER BY seq')
    .all(runId) as Array<{ type: string; node_id: string | null; payload: string }>;
  const nodes = new Map<string, RecordedNode>();
  const livePids = new Map<number, string | null>();
  let repo: string | null = null;
  let baseSha: string | null = null;
  let coordinatorPid: number | null = null;
  for (const r of rows) {
    const p = JSON.parse(r.payload) as Record<string, unknown>;
    switch (r.type) {
      case 'run.provisioned':
        repo = String(p['repo']);
        baseSha = String(p['base_sha']);
        break;
      case 'run.coordinator':
        coordinatorPid = typeof p['pid'] === 'number' ? p['pid'] : null;
        break;
      case 'agent.spawned':
        livePids.set(Number(p['pid']), typeof p['start'] === 'string' ? p['start'] : null);
        break;
      case 'agent.exited':
        livePids.delete(Number(p['pid']));
        break;
      default:
        foldNodeEvent(nodes, r.type, r.node_id, p);
        break;
    }
  }
  const cost = (
    log.db.prepare('SELECT COALESCE(SUM(cost_usd), 0) AS c FROM attempts WHERE run_id = ?').get(runId) as { c: number }
  ).c;
  return { repo, baseSha, nodes, livePids, coordinatorPid, cost };
}

/**
 * Folds one event into the recorded state of a run's nodes: states, commits, loop iterations and distributed jobs.
 * `loadRecordedRun` folds the whole log with it; a coordinator folds a worker's events with it as it applies them.
 */
export function foldNodeEvent(
  nodes: Map<string, RecordedNode>,
  type: string,
  nodeId: string | null,
  p: Record<string, unknown>,
): void {
  const get = (id: string): RecordedNode => recordedNode(nodes, id);
  switch (type) {
    case 'node.state':
      if (nodeId) {
        const n = get(nodeId);
        n.state = p['state'] as NodeState;
        n.committedLast = false;
        n.detail = (p['detail'] as string | null) ?? null;
      }
      break;
    case 'node.committed':
      if (nodeId) {
        const n = get(nodeId);
        n.commit = String(p['commit']);
        n.treeHash = String(p['tree_hash']);
        n.summary = String(p['summary'] ?? '');
        n.files = (p['files'] as string[] | undefined) ?? [];
        n.requiredPresent = Number(p['required_present'] ?? 0);
        n.requiredTotal = Number(p['required_total'] ?? 0);
        n.gatesPassed = Number(p['gates_passed'] ?? 0);
        n.gatesTotal = Number(p['gates_total'] ?? 0);
        n.committedLast = true;
      }
      break;
    case 'loop.iterate':
      for (const id of (p['nodes'] as string[] | undefined) ?? []) {
        const n = get(id);
        n.iteration = Number(p['iteration'] ?? n.iteration + 1);
        if (id === p['to']) n.baseOverride = String(p['base'] ?? '') || null;
      }
      break;
    case 'node.enqueued':
      if (nodeId) {
        const n = get(nodeId);
        n.jobId = String(p['job_id']);
        n.dispatches += 1;
      }
      break;
    case 'node.job_applied':
    case 'node.job_failed':
      if (nodeId && get(nodeId).jobId === p['job_id']) get(nodeId).jobId = null;
      break;
    default:
      break;
  }
}

/**
 * `starts` and every node of `graph` that depends on one of them, directly or through others (by `parent_refs`):
 * what a resume leaves behind with a node it skips, what a rerun runs again with the nodes it starts from.
 */
export function withDescendants(
  graph: Readonly<Record<string, { readonly parent_refs: readonly string[] }>>,
  starts: Iterable<string>,
): Set<string> {
  const out = new Set(starts);
  for (let grew = true; grew;) {
    grew = false;
    for (const [id, n] of Object.entries(graph))
      if (!out.has(id) && n.parent_refs.some((p) => out.has(p))) grew = out.add(id).size > 0;
  }
  return out;
}
