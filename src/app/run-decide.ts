import { liveRunHolder, openAuditLog } from '../audit/index.js';
import { recordHumanDecision } from '../engine/index.js';
import { InvalidArgumentError } from '../contracts/index.js';
import { createHitlStore } from '../workspace/index.js';
import { leaseDeps, type RunOpsContext } from './run-support.js';
import type { DecideResult } from './run-types.js';
import { announceRunSignal } from './run-signals.js';
import { auditOptions } from './settings.js';

/** `mso approve|reject`: a person's decision on a human item, recorded in the item, the audit log and the mirror. */
export async function decideItem(
  c: RunOpsContext,
  runId: string,
  itemId: string,
  decision: 'approved' | 'rejected',
  note?: string,
  options: { readonly done?: boolean | undefined } = {},
): Promise<DecideResult> {
  const { deps, open } = c;
  const ws = await open(true);
  const ref = await ws.runs.get(runId);
  const store = createHitlStore(deps, ref.dir, (n) => ws.layout.lockFile(n));
  // Approving work a person was asked to do marks its node done: only when that person says the work was done.
  const asked = await store.get(itemId);
  if (decision === 'approved' && asked.kind === 'manual_work' && asked.status === 'pending' && !options.done)
    throw new InvalidArgumentError(
      'done',
      `${itemId} asks a person to do node ${asked.source?.node_id ?? '?'} by hand; approving it marks that node done. Do the work first, then approve with --done (MCP: done: true)`,
    );
  const by = ws.layout.observerId;
  const r = await store.decide(itemId, decision, by, note ?? null);
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
