import { join } from 'node:path';
import { liveRunHolder, openAuditReader, type AuditLog, type LeaseDeps } from '../audit/index.js';
import type { ExecutionPlan, RunStatus } from '../contracts/index.js';
import { decideCommand } from '../contracts/light.js';
import { createHitlStore, type RunRef, type Workspace } from '../workspace/index.js';
import type { TicketDoc } from '../tickets/index.js';
import type { Git } from '../engine/index.js';
import { loadRecordedRun, nodeBranchName, withDescendants, type RecordedRun } from '../engine/read.js';
import type { SqliteDb } from '../platform/index.js';
import type { AppDeps } from './create-app.js';
import type { DesignOps } from './design-ops.js';
import type { ObserveOps } from './observe-ops.js';
import { byNode, ownRepoDir, readRunArtifact, runTicketStore, ticketsByNode } from './run-artifacts.js';
import { nextSteps } from './run-next.js';
import type { RerunRef, RunResultRef, RunSummary, ShownRunStatus } from './run-types.js';
import { auditExists, auditReaderOptions } from './settings.js';

/** The statuses `mso runs prune` cleans up after. */
export const FINISHED_STATUSES_FOR_PRUNE: readonly string[] = ['completed', 'failed', 'cancelled', 'archived'];

/** The run's readme in its observation folder. */
export const README = 'readme.md';

/** What the run use cases (run, resume, cancel, replay, status, decide) share. */
export interface RunOpsContext {
  readonly deps: AppDeps;
  readonly cwd: string;
  readonly open: (create?: boolean) => Promise<Workspace>;
  readonly git: Git;
  readonly design: DesignOps;
  readonly observe: ObserveOps;
}

const count = (values: readonly string[]): Record<string, number> =>
  values.reduce<Record<string, number>>((m, v) => ((m[v] = (m[v] ?? 0) + 1), m), {});

export async function ensureTickets(c: RunOpsContext, ws: Workspace, ref: RunRef): Promise<Map<string, string>> {
  const { deps } = c;
  const plan = await readRunArtifact(deps, ref.dir, 'plan', 'execution plan');
  const store = runTicketStore(deps, ref.dir);
  const existing = new Map(
    (await store.list())
      .filter((t) => t.doc.frontmatter.node_id)
      .map((t) => [t.doc.frontmatter.node_id as string, t.doc.frontmatter.id]),
  );
  // The missing ones in one batch (one hold of the ticket counter, files written side by side): a parent made in
  // the same batch is named by its node, and becomes a dependency once it has its id.
  const missing = Object.entries(plan.execution_graph).filter(([id]) => !existing.has(id));
  const order = new Map(missing.map(([id], i) => [id, i]));
  const made = await store.createMany(
    missing.map(([id, n], i) => ({
      key: id,
      title: n.label ?? id,
      nodeId: id,
      runId: ref.runId,
      persona: n.persona,
      tags: [n.type],
      dependencies: n.parent_refs.map((p) => existing.get(p)).filter((x): x is string => Boolean(x)),
      // Parents listed after their child (none in a plan's order) are left out, as one by one.
      after: n.parent_refs.filter((p) => !existing.has(p) && (order.get(p) ?? i) < i),
      body: n.command ? `Command: \`${n.command}\`` : undefined,
    })),
  );
  for (const [i, [id]] of missing.entries()) existing.set(id, made[i]?.doc.frontmatter.id as string);
  return existing;
}

export async function ticketStatusByNode(c: RunOpsContext, runDir: string): Promise<Map<string, string>> {
  const { deps } = c;
  return new Map([...(await ticketsByNode(deps, runDir))].map(([node, t]) => [node, t.status]));
}

/**
 * What a resume of a run would do: it runs every unfinished node (failed ones again) but those whose ticket is
 * cancelled and what depends on them, so it has something to run when any other node is unfinished.
 */
export function resumeScope(
  graph: ExecutionPlan['execution_graph'],
  stateOf: (id: string) => string,
  tickets: ReadonlyArray<{ readonly doc: TicketDoc }>,
): { cancelledTickets: Array<{ node: string; ticket: string }>; resumable: boolean } {
  const ids = Object.keys(graph);
  const ticketOf = byNode(tickets);
  const cancelledTickets = ids
    .filter((id) => stateOf(id) !== 'done' && ticketOf.get(id)?.status === 'cancelled')
    .map((id) => ({ node: id, ticket: ticketOf.get(id)?.id as string }));
  const skipped = withDescendants(
    graph,
    cancelledTickets.map((c) => c.node),
  );
  return { cancelledTickets, resumable: ids.some((id) => stateOf(id) !== 'done' && !skipped.has(id)) };
}

/** What {@link summarize} read, for a caller that shows more of the same run (`mso status`'s node table). */
export interface SummaryReads {
  /** The audit database, open read-only while the callback runs; null when the workspace has none yet. */
  readonly db: SqliteDb | null;
  readonly recorded: RecordedRun | null;
  readonly plan: ExecutionPlan | null;
  readonly status: ShownRunStatus;
}

export async function summarize(
  c: RunOpsContext,
  ws: Workspace,
  runId: string,
  extra: Partial<Omit<RunSummary, 'next'>> = {},
  more?: (reads: SummaryReads) => void,
): Promise<RunSummary> {
  const { deps } = c;
  const ref = await ws.runs.get(runId);
  // Read-only: a status must stay readable when the audit database cannot be written (read-only, disk full).
  const exists = await auditExists(ws, deps);
  let recorded = null;
  let status: ShownRunStatus = ref.manifest.status;
  let span: { first: string | null; last: string | null } = { first: null, last: null };
  const reader = exists ? openAuditReader(deps, ws.layout.auditDb, auditReaderOptions(ws, deps)) : null;
  let plan: ExecutionPlan | null;
  let tickets: Awaited<ReturnType<ReturnType<typeof runTicketStore>['list']>>;
  let hitl: Awaited<ReturnType<ReturnType<typeof createHitlStore>['list']>>;
  try {
    if (reader) {
      recorded = loadRecordedRun({ db: reader.raw }, runId);
      status = shownStatus(c, { db: reader.raw }, runId, ref.manifest.status);
      span = reader.raw
        .prepare(
          `SELECT (SELECT at FROM events WHERE run_id = ? ORDER BY seq LIMIT 1) AS first,
                  (SELECT at FROM events WHERE run_id = ? ORDER BY seq DESC LIMIT 1) AS last`,
        )
        .get(runId, runId) as { first: string | null; last: string | null };
    }
    tickets = await runTicketStore(deps, ref.dir)
      .list()
      .catch(() => []);
    hitl = await createHitlStore(deps, ref.dir, (n) => ws.layout.lockFile(n)).list();
    plan = await readRunArtifact(deps, ref.dir, 'plan').catch(() => null);
    more?.({ db: reader?.raw ?? null, recorded, plan, status });
  } finally {
    await reader?.close();
  }
  const ids = plan ? Object.keys(plan.execution_graph) : [];
  const stateOf = (id: string): string => recorded?.nodes.get(id)?.state ?? 'pending';
  const nodeStates = ids.map(stateOf);
  const { cancelledTickets, resumable } = resumeScope(plan?.execution_graph ?? {}, stateOf, tickets);
  // A failed or cancelled run, or one completed without a failed branch, may have been run again (mso rerun names
  // the new run after it, and links it back).
  const reruns =
    ['failed', 'cancelled'].includes(status) || (status === 'completed' && nodeStates.includes('failed'))
      ? ((await rerunsByParent(ws)).get(runId) ?? [])
      : [];
  const m = ref.manifest;
  const pending = hitl.filter((h) => h.status === 'pending');
  const result = plan && recorded ? resultRefs(runId, plan.execution_graph, recorded) : [];
  const summary: Omit<RunSummary, 'next'> = {
    run_id: runId,
    status,
    reason:
      m.error?.message ??
      (status === 'interrupted'
        ? `its coordinator stopped; mso resume ${runId}`
        : status === 'created'
          ? `designed, not run yet; mso resume ${runId} runs it`
          : (m.note ?? null)),
    nodes: count(nodeStates),
    tickets: count(tickets.map((t) => t.doc.frontmatter.status)),
    cost_usd: Math.round((recorded?.cost ?? 0) * 1e6) / 1e6,
    // From its creation to its end (completed or failed), else to its last recorded event; a run being coordinated
    // right now has lasted until now. Not to the last event of a finished run: the observation after it records one
    // later, and `mso run`'s summary, printed before it, would disagree with `mso status` and the dashboard.
    duration_ms: Math.max(
      0,
      (status === 'active' ? deps.clock.now().getTime() : Date.parse(m.completed_at ?? span.last ?? m.updated_at)) -
        Date.parse(span.first && span.first < m.created_at ? span.first : m.created_at),
    ),
    observation_readme: join(ws.layout.observationRunDir(runId), README),
    pending_human: pending.map((h) => `${h.id}: ${h.title}`),
    waiting: pending.map((h) => ({
      item: h.id,
      title: h.title,
      kind: h.kind,
      node: h.source.node_id ?? null,
      decide: decideCommand(runId, h.id, h.kind === 'manual_work'),
    })),
    pending_by_hand: pending.filter((h) => h.kind === 'manual_work').map((h) => h.id),
    ...(cancelledTickets.length > 0 ? { cancelled_tickets: cancelledTickets } : {}),
    // A completed (or archived) run is not resumed, whatever it went on without.
    ...(plan ? { resumable: resumable && status !== 'completed' && status !== 'archived' } : {}),
    ...(reruns.length > 0 ? { reruns } : {}),
    result,
    repo: recorded?.repo ?? null,
    ...extra,
  };
  // A run started with --init branched from a repository made in its folder (run-execute's provision).
  return { ...summary, next: nextSteps(summary, { ownRepo: summary.repo === ownRepoDir(ref.dir) }) };
}

/**
 * The runs made again by mso rerun, by the run each was made from (oldest first): tagged so in the registry's
 * `records` (all of them when not given), linked back by their manifests' `parent_run_id`.
 */
export async function rerunsByParent(
  ws: Workspace,
  records?: ReadonlyArray<{ readonly run_id: string; readonly status: string; readonly tags: readonly string[] }>,
): Promise<Map<string, RerunRef[]>> {
  const out = new Map<string, RerunRef[]>();
  for (const r of (records ?? (await ws.runs.list())).filter((x) => x.tags.includes('rerun'))) {
    const parent = (await ws.runs.get(r.run_id).catch(() => null))?.manifest.parent_run_id;
    if (parent) out.set(parent, [...(out.get(parent) ?? []), { run_id: r.run_id, status: r.status }]);
  }
  return out;
}

/** The final nodes (no node lists them as a parent) that committed: where the run's work is. */
export function resultRefs(
  runId: string,
  graph: Record<string, { parent_refs: readonly string[] }>,
  recorded: RecordedRun,
): RunResultRef[] {
  const parents = new Set(Object.values(graph).flatMap((n) => n.parent_refs));
  return Object.keys(graph)
    .filter((id) => !parents.has(id))
    .flatMap((id) => {
      const commit = recorded.nodes.get(id)?.commit;
      return commit ? [{ node: id, branch: nodeBranchName(runId, id), commit }] : [];
    });
}

/** The run's own observability pass (mode event); it never fails the run. */
export async function observeAfter(c: RunOpsContext, runId: string, log?: AuditLog): Promise<{ findings?: number }> {
  try {
    const [r] = await c.observe.observe({ runId, mode: 'event', log });
    return { findings: r?.findings.length ?? 0 };
  } catch (e) {
    c.deps.logger.warn(`observability after ${runId} failed: ${(e as Error).message}`);
    return {};
  }
}

/**
 * The status to show: an `active` run whose coordinator is gone (no lease, or its holder died) is `interrupted` —
 * `mso resume` goes on from where it stopped.
 */
export function shownStatus(
  c: RunOpsContext,
  log: Pick<AuditLog, 'db'>,
  runId: string,
  status: RunStatus,
): ShownRunStatus {
  if (status !== 'active') return status;
  return liveRunHolder(log, leaseDeps(c.deps), runId) ? 'active' : 'interrupted';
}

/** What the lease checks need from the app: this process and the clock. */
export const leaseDeps = (deps: AppDeps): LeaseDeps => ({ processInfo: deps.processInfo, now: () => deps.clock.now() });
