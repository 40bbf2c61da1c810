import { execute } from './run-execute.js';
import { recordFailure } from './run-start.js';
import { observeAfter, summarize, type RunOpsContext } from './run-support.js';
import type { ResumeOptions, RunSummary } from './run-types.js';

/** `mso resume`: a new coordinator goes on from the audit log; finished nodes are never run again. */
export async function resumeRun(c: RunOpsContext, runId: string, options: ResumeOptions = {}): Promise<RunSummary> {
  const { open } = c;
  const ws = await open(true);
  const ref = await ws.runs.get(runId);
  if (ref.manifest.status === 'completed' || ref.manifest.status === 'archived')
    return summarize(c, ws, runId, { reason: `run is ${ref.manifest.status}: nothing to resume` });
  let summary: RunSummary;
  try {
    summary = await execute(c, ws, ref, options);
  } catch (e) {
    await recordFailure(c, runId, e, 'resume');
    throw e;
  }
  return { ...summary, ...(await observeAfter(c, runId)) };
}
