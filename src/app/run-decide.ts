import { liveRunHolder, openAuditLog, type AuditLog } from '../audit/index.js';
import { recordHumanDecision } from '../engine/index.js';
import { HitlItemSchema, InvalidArgumentError, NotFoundError, type HitlItem } from '../contracts/index.js';
import { createHitlStore, type HitlStore, type Workspace } from '../workspace/index.js';
import type { AppDeps } from './create-app.js';
import { leaseDeps, type RunOpsContext } from './run-support.js';
import type { DecideResult } from './run-types.js';
import { announceRunSignal, DECISION_REQUESTED, runHereOrInStore, throughStore } from './run-signals.js';
import { auditOptions } from './settings.js';

type Decision = 'approved' | 'rejected';

/** What a process without the run's folder asks its coordinator to record (the {@link DECISION_REQUESTED} payload). */
interface DecisionRequest {
  readonly item: string;
  readonly decision: Decision;
  readonly by: string;
  readonly note: string | null;
  readonly done: boolean;
}

/** Approving work a person was asked to do marks its node done: only when that person says the work was done. */
function refuseUndoneManualWork(
  item: Pick<HitlItem, 'id' | 'kind' | 'status'> & { readonly node: string | undefined },
  decision: Decision,
  done: boolean | undefined,
): void {
  if (decision === 'approved' && item.kind === 'manual_work' && item.status === 'pending' && !done)
    throw new InvalidArgumentError(
      'done',
      `${item.id} asks a person to do node ${item.node ?? '?'} by hand; approving it marks that node done. Do the work first, then approve with --done (MCP: done: true)`,
    );
}

/**
 * `mso approve|reject`: a person's decision on a human item, recorded in the item, the audit log and the mirror. A
 * run whose folder is on another machine (this workspace shares only the audit store, `audit.url`) is decided through
 * the store: the request goes to its live coordinator, which records it in the item as if it were made there.
 */
export async function decideItem(
  c: RunOpsContext,
  runId: string,
  itemId: string,
  decision: Decision,
  note?: string,
  options: { readonly done?: boolean | undefined } = {},
): Promise<DecideResult> {
  const r = await decide(c, runId, itemId, decision, note, options);
  return { ...r, conflict: !r.changed && r.item.status !== decision };
}

async function decide(
  c: RunOpsContext,
  runId: string,
  itemId: string,
  decision: Decision,
  note: string | undefined,
  options: { readonly done?: boolean | undefined },
): Promise<Omit<DecideResult, 'conflict'>> {
  const { deps, open } = c;
  const ws = await open(true);
  const where = await runHereOrInStore(deps, ws, runId);
  if (!where.ref)
    return throughStore(deps, ws, runId, where.notHere, (log, holder) =>
      requestDecision(deps, ws, log, runId, holder.pid, {
        item: itemId,
        decision,
        by: ws.layout.observerId,
        note: note ?? null,
        done: options.done === true,
      }),
    );
  const store = createHitlStore(deps, where.ref.dir, (n) => ws.layout.lockFile(n));
  const asked = await store.get(itemId);
  refuseUndoneManualWork({ ...asked, node: asked.source.node_id }, decision, options.done);
  const r = await store.decide(itemId, decision, ws.layout.observerId, note ?? null);
  const log = openAuditLog(deps, auditOptions(ws, deps));
  let coordinator: number | null;
  try {
    if (r.changed) {
      recordHumanDecision(log, runId, r.item, store.file(itemId));
      // A coordinator running the run hears it now and runs the node waiting on it (no resume needed).
      await announceRunSignal(deps, ws, log, runId);
    }
    coordinator = liveRunHolder(log, leaseDeps(deps), runId)?.pid ?? null;
  } finally {
    log.close();
  }
  if (r.changed) await ws.sync(runId);
  return { run_id: runId, item: r.item, changed: r.changed, coordinator };
}

/**
 * The decider's side, without the run's folder: the item as the store knows it (asked in `hitl.created`, decided in
 * `hitl.decided` or already requested), checked as a local decision is, then the request recorded and announced.
 */
async function requestDecision(
  deps: AppDeps,
  ws: Workspace,
  log: AuditLog,
  runId: string,
  coordinator: number,
  req: DecisionRequest,
): Promise<Omit<DecideResult, 'conflict'>> {
  const rows = (
    log.db
      .prepare(
        `SELECT at, type, node_id, payload FROM events WHERE run_id = ?
           AND type IN ('hitl.created', 'hitl.decided', ?) ORDER BY seq`,
      )
      .all(runId, DECISION_REQUESTED) as Array<{ at: string; type: string; node_id: string | null; payload: string }>
  )
    .map((r) => ({ ...r, p: JSON.parse(r.payload) as Record<string, unknown> }))
    .filter((r) => r.p['item'] === req.item);
  const created = rows.find((r) => r.type === 'hitl.created');
  if (!created) throw new NotFoundError('human item', `${req.item} of run ${runId}`);
  const asked = HitlItemSchema.shape.kind.safeParse(created.p['kind']);
  const kind = asked.success ? asked.data : 'escalation';
  const node = created.node_id ?? undefined;
  // Decided already, or asked for by someone else not yet taken up: the first decision stands, as with a local item.
  const earlier = rows.filter((r) => r.type !== 'hitl.created').at(-1);
  refuseUndoneManualWork(
    { id: req.item, kind, status: earlier ? 'approved' : 'pending', node },
    req.decision,
    req.done,
  );
  const item = (d: { decision: unknown; by: unknown; note: unknown }, at: string): HitlItem =>
    HitlItemSchema.parse({
      id: req.item,
      run_id: runId,
      kind,
      gate: kind === 'human_gate' || kind === 'manual_merge' ? 'H2' : 'H1',
      urgency: 'normal',
      title: typeof created.p['title'] === 'string' && created.p['title'] ? created.p['title'] : req.item,
      brief: '',
      source: node ? { node_id: node } : {},
      status: d.decision === 'rejected' ? 'rejected' : 'approved',
      created_at: created.at,
      decided_at: at,
      decided_by: typeof d.by === 'string' ? d.by : null,
      note: typeof d.note === 'string' ? d.note : null,
    });
  if (earlier)
    return {
      run_id: runId,
      item: item(earlier.p as { decision: unknown; by: unknown; note: unknown }, earlier.at),
      changed: false,
      coordinator,
      through_store: true,
    };
  log.appendEvent({ runId, type: DECISION_REQUESTED, nodeId: node ?? null, payload: { ...req, coordinator } });
  await announceRunSignal(deps, ws, log, runId);
  return {
    run_id: runId,
    item: item(req, deps.clock.now().toISOString()),
    changed: true,
    coordinator,
    through_store: true,
  };
}

/**
 * The coordinator's side: a {@link DECISION_REQUESTED} payload decided in the run's item as `mso approve|reject` would
 * here, and recorded (`hitl.decided`). A request for an item decided meanwhile, unknown here or not valid is dropped:
 * the first decision stands. Says whether the item changed.
 */
export async function applyDecisionRequest(
  store: HitlStore,
  log: AuditLog,
  runId: string,
  payload: string,
): Promise<boolean> {
  let req: DecisionRequest;
  let cur: HitlItem;
  try {
    req = JSON.parse(payload) as DecisionRequest;
    if (req.decision !== 'approved' && req.decision !== 'rejected') return false;
    cur = await store.get(req.item);
    refuseUndoneManualWork({ ...cur, node: cur.source.node_id }, req.decision, req.done);
  } catch {
    return false;
  }
  if (cur.status !== 'pending') return false;
  const r = await store.decide(req.item, req.decision, req.by, req.note);
  if (r.changed) recordHumanDecision(log, runId, r.item, store.file(req.item));
  return r.changed;
}
