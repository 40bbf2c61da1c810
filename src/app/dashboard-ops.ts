import { createHash } from 'node:crypto';
import { openAuditLog, openAuditReader, liveRunHolder, type AuditLog, type AuditReader } from '../audit/index.js';
import {
  InvalidArgumentError,
  NodeRunStateSchema,
  NotFoundError,
  RUN_ID_PATTERN,
  SAFE_ID_PATTERN,
  type FeedEvent,
  type GraphNode,
  type HitlItem,
  type InboxItem,
  type NodeDetail,
  type ProposalPreview,
  type RunCard,
  type RunGraph,
  type RunStatus,
} from '../contracts/index.js';
import { createGit, loadRecordedRun, type RecordedRun } from '../engine/index.js';
import { createHitlStore, type RunRef, type Workspace } from '../workspace/index.js';
import type { AppDeps } from './create-app.js';
import type { Proposal } from '../observe/index.js';
import type { ObserveOps } from './observe-ops.js';
import { estimatePlanCost } from './cost-estimate.js';
import { previewProposal } from './proposal-preview.js';
import type { RunOps } from './run-ops.js';
import { planNodeIds, readRunArtifact, ticketsByNode } from './run-artifacts.js';
import { leaseDeps } from './run-support.js';
import { auditOptions, auditReaderOptions } from './settings.js';
import { lastCoordinatorRecord } from './coordinator-record.js';

/** A node's diff is cut here: the page shows diffs to read, not to download. */
const MAX_DIFF_BYTES = 512 * 1024;

/** The live event feed over the audit log: events after a sequence number, in order. */
export interface EventFeed {
  /** The highest sequence number recorded so far (0 for an empty log). */
  head(): number;
  /** Events after `seq`, oldest first, at most `limit`; a `node.state` event carries the node's new state. */
  after(seq: number, limit?: number): FeedEvent[];
  /** The database file the events are read from (a watcher of its folder learns of new events without polling). */
  readonly file: string;
  close(): void;
}

/** Reads and actions of the dashboard (`mso ui`), over the same stores as the CLI. */
export interface DashboardOps {
  /** Every run with progress, cost, duration and pending human items, newest first. */
  runs(status?: RunStatus): Promise<RunCard[]>;
  /** A run's DAG with each node's live state, ticket and cost, and the run's pending human items. */
  graph(runId: string): Promise<RunGraph>;
  /** One node: attempts, agent trail, gates, failures, commit, tree hash, diff, ticket, human items. */
  node(runId: string, nodeId: string): Promise<NodeDetail>;
  /** Pending human items of every run that is not archived. */
  inbox(): Promise<InboxItem[]>;
  /**
   * Records a decision exactly as `mso approve|reject` does; `resume` says whether the run now waits on nothing and
   * no coordinator holds it, so the caller should resume it (as `mso resume` would).
   */
  decide(
    runId: string,
    item: string,
    decision: 'approved' | 'rejected',
    note?: string,
  ): Promise<{ run_id: string; item: HitlItem; changed: boolean; resume: boolean }>;
  /** A proposal with the file its patch changes, before and after. */
  proposal(id: string): Promise<{ proposal: Proposal; preview: ProposalPreview }>;
  /** Opens the event feed (one read-only connection; close it when done). */
  feed(): Promise<EventFeed>;
}

/** Refuses ids that are not a run id, or not a safe node/item id, before anything reads a path. */
export function assertRunId(runId: string): void {
  if (!RUN_ID_PATTERN.test(runId)) throw new InvalidArgumentError('run id', `${JSON.stringify(runId)} is not a run id`);
}
export function assertSafeId(what: string, id: string): void {
  if (!SAFE_ID_PATTERN.test(id) || id.includes('..'))
    throw new InvalidArgumentError(what, `${JSON.stringify(id)} is not a valid ${what}`);
}

type NodeCosts = Map<string, { cost: number; attempts: number }>;

/** The dashboard's use cases. */
export function createDashboardOps(
  deps: AppDeps,
  open: (create?: boolean) => Promise<Workspace>,
  engine: RunOps,
  observe: ObserveOps,
): DashboardOps {
  const git = createGit({ proc: deps.proc, env: deps.env });

  async function withLog<T>(ws: Workspace, fn: (log: AuditLog) => T | Promise<T>): Promise<T> {
    const log = openAuditLog(deps, auditOptions(ws, deps));
    try {
      return await fn(log);
    } finally {
      log.close();
    }
  }

  /** True while a live process holds the run's coordinator lease. */
  function coordinated(log: AuditLog, runId: string): boolean {
    return liveRunHolder(log, leaseDeps(deps), runId) !== null;
  }

  const pendingOf = async (ws: Workspace, ref: RunRef): Promise<HitlItem[]> =>
    (await createHitlStore(deps, ref.dir, (n) => ws.layout.lockFile(n)).list()).filter((h) => h.status === 'pending');

  function nodeCosts(log: AuditLog, runId: string): NodeCosts {
    const rows = log.db
      .prepare(
        'SELECT node_id, COALESCE(SUM(cost_usd), 0) AS c, COUNT(*) AS n FROM attempts WHERE run_id = ? GROUP BY node_id',
      )
      .all(runId) as Array<{ node_id: string | null; c: number; n: number }>;
    return new Map(rows.filter((r) => r.node_id).map((r) => [r.node_id as string, { cost: r.c, attempts: r.n }]));
  }

  async function card(ws: Workspace, ref: RunRef, log: AuditLog, recorded?: RecordedRun): Promise<RunCard> {
    const rec = recorded ?? loadRecordedRun(log, ref.runId);
    // A card only counts the plan's nodes: its ids are read without checking the whole plan against its schema.
    const ids = (await planNodeIds(deps, ref.dir)) ?? [];
    const state = (id: string): string => rec.nodes.get(id)?.state ?? 'pending';
    const m = ref.manifest;
    return {
      run_id: ref.runId,
      status: m.status === 'active' && !coordinated(log, ref.runId) ? 'interrupted' : m.status,
      goal: m.goal ?? null,
      created_at: m.created_at,
      duration_ms: Math.max(0, Date.parse(m.completed_at ?? m.updated_at) - Date.parse(m.created_at)),
      nodes_total: ids.length,
      nodes_done: ids.filter((id) => state(id) === 'done').length,
      nodes_failed: ids.filter((id) => state(id) === 'failed').length,
      cost_usd: Math.round(rec.cost * 1e6) / 1e6,
      pending_human: (await pendingOf(ws, ref)).length,
      tags: [...m.tags],
      started:
        log.db
          .prepare("SELECT 1 FROM events WHERE run_id = ? AND type IN ('run.coordinator', 'node.state') LIMIT 1")
          .get(ref.runId) !== undefined,
    };
  }

  async function graphOf(ws: Workspace, ref: RunRef, log: AuditLog): Promise<RunGraph> {
    // Read first: every event after it is newer than what follows, so a page can apply those on top.
    const seq = (log.db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM events').get() as { s: number }).s;
    const rec = loadRecordedRun(log, ref.runId);
    const plan = await readRunArtifact(deps, ref.dir, 'plan').catch(() => null);
    const graph = plan?.execution_graph ?? {};
    const costs = nodeCosts(log, ref.runId);
    const tickets = await ticketsByNode(deps, ref.dir);
    const pending = await pendingOf(ws, ref);
    const budgetUsd = lastCoordinatorRecord(log, ref.runId)['budget_usd'] ?? null;
    const nodes: GraphNode[] = Object.entries(graph).map(([id, n]) => {
      const r = rec.nodes.get(id);
      const mp = n.merge_policy as { strategy?: unknown; quorum?: unknown } | undefined;
      return {
        id,
        label: n.label ?? id,
        type: n.type,
        state: r?.state ?? 'pending',
        detail: r?.detail ?? null,
        agent: n.command ? 'shell' : (n.agent ?? n.persona ?? null),
        merge:
          n.type === 'merge' || mp
            ? {
                strategy: typeof mp?.strategy === 'string' ? mp.strategy : 'default',
                quorum: typeof mp?.quorum === 'number' ? mp.quorum : null,
              }
            : null,
        gates: n.gates?.length ?? 0,
        cost_usd: Math.round((costs.get(id)?.cost ?? 0) * 1e6) / 1e6,
        attempts: costs.get(id)?.attempts ?? 0,
        ticket: tickets.get(id) ?? null,
        waiting_on_human: pending.some((h) => h.source.node_id === id),
      };
    });
    const edges = Object.entries(graph).flatMap(([id, n]) => n.parent_refs.map((p) => ({ from: p, to: id })));
    const topology = createHash('sha256')
      .update(JSON.stringify([nodes.map((n) => n.id), edges.map((e) => [e.from, e.to])]))
      .digest('hex')
      .slice(0, 24);
    const run = await card(ws, ref, log, rec);
    return {
      seq,
      run,
      reason: ref.manifest.error?.message ?? ref.manifest.note ?? null,
      budget_usd: typeof budgetUsd === 'number' ? budgetUsd : null,
      coordinator_alive: coordinated(log, ref.runId),
      nodes,
      edges,
      pending,
      estimate: run.started || !plan ? null : estimatePlanCost(log, plan, ws.policy),
      topology,
    };
  }

  async function diffOf(repo: string | null, commit: string | null): Promise<{ diff: string | null; cut: boolean }> {
    if (!repo || !commit || !/^[0-9a-f]{40}$/.test(commit)) return { diff: null, cut: false };
    const r = await git.run(['diff', '--no-color', '--no-ext-diff', `${commit}^1`, commit], repo);
    if (r.code !== 0) return { diff: null, cut: false };
    const cut = Buffer.byteLength(r.stdout) > MAX_DIFF_BYTES;
    return { diff: cut ? Buffer.from(r.stdout).subarray(0, MAX_DIFF_BYTES).toString('utf8') : r.stdout, cut };
  }

  return {
    async runs(status) {
      const ws = await open(false);
      const records = (await ws.runs.list(status)).filter((r) => r.status !== 'archived');
      return withLog(ws, async (log) => {
        const out: RunCard[] = [];
        for (const r of records) {
          const ref = await ws.runs.get(r.run_id).catch(() => null);
          if (ref) out.push(await card(ws, ref, log));
        }
        return out.sort((a, b) => b.created_at.localeCompare(a.created_at) || b.run_id.localeCompare(a.run_id));
      });
    },
    async graph(runId) {
      assertRunId(runId);
      const ws = await open(false);
      const ref = await ws.runs.get(runId);
      return withLog(ws, (log) => graphOf(ws, ref, log));
    },
    async node(runId, nodeId) {
      assertRunId(runId);
      assertSafeId('node id', nodeId);
      const ws = await open(false);
      const ref = await ws.runs.get(runId);
      return withLog(ws, async (log) => {
        const g = await graphOf(ws, ref, log);
        const node = g.nodes.find((n) => n.id === nodeId);
        if (!node) throw new NotFoundError('node', `${nodeId} in ${runId}`);
        const rec = loadRecordedRun(log, runId);
        const r = rec.nodes.get(nodeId);
        const events = log.db
          .prepare('SELECT type, payload FROM events WHERE run_id = ? AND node_id = ? ORDER BY seq')
          .all(runId, nodeId) as Array<{ type: string; payload: string }>;
        const of = (type: string): Array<Record<string, unknown>> =>
          events.filter((e) => e.type === type).map((e) => JSON.parse(e.payload) as Record<string, unknown>);
        const s = (v: unknown): string | null => (typeof v === 'string' ? v : null);
        const attempts = log.db
          .prepare(
            `SELECT attempt_id, attempt_no, agent, model, status, started_at, duration_ms, cost_usd, cost_source,
                    error_class, error_message, fallback_rule
               FROM attempts WHERE run_id = ? AND node_id = ? ORDER BY COALESCE(started_at, queued_at), attempt_no`,
          )
          .all(runId, nodeId) as NodeDetail['attempts'];
        const { diff, cut } = await diffOf(rec.repo, r?.commit ?? null);
        const all = await createHitlStore(deps, ref.dir, (n) => ws.layout.lockFile(n)).list();
        return {
          run_id: runId,
          node,
          commit: r?.commit ?? null,
          tree_hash: r?.treeHash ?? null,
          summary: r?.summary ?? '',
          files: r?.files ?? [],
          attempts,
          agent_trail: of('agent.chain').map((p) => ({
            attempt_id: s(p['attempt_id']),
            steps: ((p['trail'] as Array<Record<string, unknown>> | undefined) ?? []).map((t) => ({
              agent: String(t['agent']),
              outcome: String(t['outcome']),
              reason: String(t['reason'] ?? ''),
            })),
            chosen: s(p['chosen']),
          })),
          gates: of('gate.result').map((p) => ({
            command: String(p['command']),
            status: String(p['status']),
            exit_code: typeof p['exit_code'] === 'number' ? p['exit_code'] : null,
            message: s(p['message']),
          })),
          failures: of('node.failure').map((p) => ({
            error_class: String(p['error_class']),
            message: String(p['message'] ?? ''),
            rule: s(p['rule']),
            action: s(p['action']),
          })),
          diff,
          diff_truncated: cut,
          hitl: all.filter((h) => h.source.node_id === nodeId),
        };
      });
    },
    async inbox() {
      const ws = await open(false);
      const out: InboxItem[] = [];
      for (const r of await ws.runs.list()) {
        if (r.status === 'archived') continue;
        const ref = await ws.runs.get(r.run_id).catch(() => null);
        if (!ref) continue;
        for (const h of await pendingOf(ws, ref)) out.push({ ...h, run_status: ref.manifest.status });
      }
      return out.sort((a, b) => a.created_at.localeCompare(b.created_at));
    },
    async decide(runId, item, decision, note) {
      assertRunId(runId);
      assertSafeId('item', item);
      const r = await engine.decide(runId, item, decision, note);
      const ws = await open(false);
      const ref = await ws.runs.get(runId);
      // The decision already says whether a live coordinator holds the run (it then takes the decision up itself).
      const resume =
        r.changed &&
        ref.manifest.status === 'awaiting_human' &&
        r.coordinator === null &&
        (await pendingOf(ws, ref)).length === 0;
      return { ...r, resume };
    },
    async proposal(id) {
      assertSafeId('proposal id', id);
      const proposal = await observe.proposals.show(id);
      return { proposal, preview: await previewProposal(deps, await open(false), proposal) };
    },
    async feed() {
      const ws = await open(true);
      // Opening the writer once creates and migrates the file; the reader then sees the current schema.
      await withLog(ws, () => undefined);
      const reader: AuditReader = openAuditReader(deps, ws.layout.auditDb, auditReaderOptions(ws, deps));
      const head = reader.raw.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM events');
      const after = reader.raw.prepare(
        `SELECT seq, at, run_id, type, node_id, CASE WHEN type = 'node.state' THEN payload END AS payload
           FROM events WHERE seq > ? ORDER BY seq LIMIT ?`,
      );
      type Row = Omit<FeedEvent, 'state' | 'detail'> & { payload: string | null };
      const toEvent = ({ payload, ...e }: Row): FeedEvent => {
        if (payload === null) return e;
        const p = JSON.parse(payload) as { state?: unknown; detail?: unknown };
        const state = NodeRunStateSchema.safeParse(p.state);
        return state.success ? { ...e, state: state.data, detail: typeof p.detail === 'string' ? p.detail : null } : e;
      };
      return {
        head: () => (head.get() as { s: number }).s,
        after: (seq, limit = 500) => (after.all(seq, limit) as Row[]).map(toEvent),
        file: ws.layout.auditDb,
        close: () => void reader.close(),
      };
    },
  };
}
