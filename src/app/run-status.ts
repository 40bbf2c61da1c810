import { join } from 'node:path';
import { readTextIfExists } from '../workspace/index.js';
import { openAuditLog } from '../audit/index.js';
import { README, shownStatus, summarize, type RunOpsContext } from './run-support.js';
import type { RunStatusResult } from './run-types.js';

/** `mso status`: one run's summary, or the runs still open. */
export async function runStatus(c: RunOpsContext, runId?: string): Promise<RunStatusResult> {
  const ws = await c.open(false);
  if (runId === undefined) {
    const unfinished = (await ws.runs.list()).filter((r) =>
      ['created', 'active', 'awaiting_human', 'cancelled'].includes(r.status),
    );
    const log = openAuditLog(c.deps, { file: ws.layout.auditDb, blobsDir: ws.layout.blobsDir, env: c.deps.env });
    try {
      return { runs: unfinished.map((r) => ({ run_id: r.run_id, status: shownStatus(c, log, r.run_id, r.status) })) };
    } finally {
      log.close();
    }
  }
  return summarize(c, ws, runId);
}

/** The run's observation readme (Markdown), or null before the run was first mirrored. */
export async function runReadme(c: RunOpsContext, runId: string): Promise<string | null> {
  const { deps, open } = c;
  const ws = await open(false);
  await ws.runs.get(runId);
  return (await readTextIfExists(deps.fs, join(ws.layout.observationRunDir(runId), README))) ?? null;
}
