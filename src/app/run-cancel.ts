import { join } from 'node:path';
import { liveRunHolder, openAuditLog } from '../audit/index.js';
import { RunTransitionError } from '../contracts/index.js';
import { writeFileAtomic } from '../workspace/index.js';
import { leaseDeps, type RunOpsContext } from './run-support.js';
import { announceRunSignal, runHereOrInStore, throughStore } from './run-signals.js';
import type { CancelResult } from './run-types.js';
import { auditOptions } from './settings.js';

/** The file a live coordinator polls for a cancel request: JSON `{ at, by, reason }`. */
export const CANCEL_REQUEST = 'cancel.request';

/**
 * `mso cancel`: asks the run's live coordinator to stop (it ends its agents' process groups and records the run as
 * cancelled with the reason); a run with no live coordinator is marked cancelled at once. A finished run cannot be
 * cancelled. The request is recorded in the audit store and announced (PostgreSQL NOTIFY, the run's Redis channel),
 * so a process that shares only the store with the coordinator (another machine, `audit.url`) can cancel it too.
 */
export async function cancelRun(c: RunOpsContext, runId: string, reason?: string): Promise<CancelResult> {
  const { deps, open } = c;
  const ws = await open(true);
  const why = reason ?? `cancelled by ${ws.layout.observerId}`;
  const where = await runHereOrInStore(deps, ws, runId);
  // Not in this workspace: a run coordinated elsewhere is cancelled through the store it shares with us.
  if (!where.ref)
    return throughStore(deps, ws, runId, where.notHere, async (log, holder) => {
      log.appendEvent({ runId, type: 'run.cancel_requested', payload: { coordinator: holder.pid, reason: why } });
      await announceRunSignal(deps, ws, log, runId);
      return { run_id: runId, requested: true, coordinator: holder.pid };
    });
  const ref = where.ref;
  const status = ref.manifest.status;
  if (status === 'completed' || status === 'failed' || status === 'archived')
    throw new RunTransitionError(runId, status, 'cancelled', `run ${runId} is ${status}: there is nothing to cancel`);
  const log = openAuditLog(deps, auditOptions(ws, deps));
  let coordinator: number | null;
  try {
    coordinator = liveRunHolder(log, leaseDeps(deps), runId)?.pid ?? null;
    // Cancelled already, and no coordinator left to tell: nothing is asked and nothing written.
    if (status === 'cancelled' && coordinator === null) return { run_id: runId, requested: false, coordinator };
    await writeFileAtomic(
      deps,
      join(ref.dir, CANCEL_REQUEST),
      `${JSON.stringify({ at: deps.clock.now().toISOString(), by: ws.layout.observerId, reason: why })}\n`,
    );
    log.appendEvent({ runId, type: 'run.cancel_requested', payload: { coordinator, reason: why } });
    if (coordinator !== null) await announceRunSignal(deps, ws, log, runId);
  } finally {
    log.close();
  }
  if (coordinator === null)
    await ws.runs.setStatus(runId, 'cancelled', {
      error: { message: `cancelled: ${why}`, phase: 'execution', reason: 'cancelled' },
    });
  return { run_id: runId, requested: true, coordinator };
}
