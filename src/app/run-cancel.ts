import { join } from 'node:path';
import { liveRunHolder, openAuditLog } from '../audit/index.js';
import { RunTransitionError } from '../contracts/index.js';
import { writeFileAtomic } from '../workspace/index.js';
import { leaseDeps, type RunOpsContext } from './run-support.js';
import type { CancelResult } from './run-types.js';
import { auditOptions } from './settings.js';

/** The file a live coordinator polls for a cancel request: JSON `{ at, by, reason }`. */
export const CANCEL_REQUEST = 'cancel.request';

/**
 * `mso cancel`: asks the run's live coordinator to stop (it ends its agents' process groups and records the run as
 * cancelled with the reason); a run with no live coordinator is marked cancelled at once. A finished run cannot be
 * cancelled.
 */
export async function cancelRun(c: RunOpsContext, runId: string, reason?: string): Promise<CancelResult> {
  const { deps, open } = c;
  const ws = await open(true);
  const ref = await ws.runs.get(runId);
  const status = ref.manifest.status;
  if (status === 'completed' || status === 'failed' || status === 'archived')
    throw new RunTransitionError(runId, status, 'cancelled');
  const why = reason ?? `cancelled by ${ws.layout.observerId}`;
  const log = openAuditLog(deps, auditOptions(ws, deps));
  let coordinator: number | null;
  try {
    coordinator = liveRunHolder(log, leaseDeps(deps), runId)?.pid ?? null;
    await writeFileAtomic(
      deps,
      join(ref.dir, CANCEL_REQUEST),
      `${JSON.stringify({ at: deps.clock.now().toISOString(), by: ws.layout.observerId, reason: why })}\n`,
    );
    log.appendEvent({ runId, type: 'run.cancel_requested', payload: { coordinator, reason: why } });
  } finally {
    log.close();
  }
  if (coordinator === null && status !== 'cancelled')
    await ws.runs.setStatus(runId, 'cancelled', {
      error: { message: `cancelled: ${why}`, phase: 'execution', reason: 'cancelled' },
    });
  return { run_id: runId, requested: true, coordinator };
}
