import { join } from 'node:path';
import { readTextIfExists } from '../workspace/index.js';
import { README, summarize, type RunOpsContext } from './run-support.js';
import type { RunStatusResult } from './run-types.js';

/** `mso status`: one run's summary, or the runs still open. */
export async function runStatus(c: RunOpsContext, runId?: string): Promise<RunStatusResult> {
  const { open } = c;
  const ws = await open(false);
  if (runId === undefined)
    return {
      runs: (await ws.runs.list())
        .filter((r) => ['created', 'active', 'awaiting_human', 'cancelled'].includes(r.status))
        .map((r) => ({ run_id: r.run_id, status: r.status })),
    };
  return summarize(c, ws, runId);
}

/** The run's observation readme (Markdown), or null before the run was first mirrored. */
export async function runReadme(c: RunOpsContext, runId: string): Promise<string | null> {
  const { deps, open } = c;
  const ws = await open(false);
  await ws.runs.get(runId);
  return (await readTextIfExists(deps.fs, join(ws.layout.observationRunDir(runId), README))) ?? null;
}
