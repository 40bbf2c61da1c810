import { join } from 'node:path';
import { openAuditLog } from '../audit/index.js';
import { readTextIfExists, writeFileAtomic } from '../workspace/index.js';
import { CANCEL_REQUESTED } from './run-execute.js';
import type { RunOpsContext } from './run-support.js';
import type { CancelResult } from './run-types.js';

/** `mso cancel`: asks the run's live coordinator to stop; a run with none is marked cancelled at once. */
export async function cancelRun(c: RunOpsContext, runId: string): Promise<CancelResult> {
  const { deps, open } = c;
  const ws = await open(true);
  const ref = await ws.runs.get(runId);
  const holder = Number((await readTextIfExists(deps.fs, join(ref.dir, 'coordinator.pid')))?.trim() ?? NaN);
  const live = Number.isInteger(holder) && deps.processInfo.isAlive(holder);
  await writeFileAtomic(deps, join(ref.dir, 'cancel.request'), `${deps.clock.now().toISOString()}\n`);
  const log = openAuditLog(deps, { file: ws.layout.auditDb, blobsDir: ws.layout.blobsDir, env: deps.env });
  try {
    log.appendEvent({ runId, type: 'run.cancel_requested', payload: { coordinator: live ? holder : null } });
  } finally {
    log.close();
  }
  if (!live && ['created', 'active', 'awaiting_human'].includes(ref.manifest.status))
    await ws.runs.setStatus(runId, 'cancelled', {
      error: { message: `${CANCEL_REQUESTED}; no live coordinator`, phase: 'execution', reason: 'cancelled' },
    });
  return { run_id: runId, requested: true, coordinator: live ? holder : null };
}
