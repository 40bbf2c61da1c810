import { join } from 'node:path';
import { loadRecordedRun, nodeBranchName } from '../engine/read.js';
import { readTextIfExists } from '../workspace/index.js';
import { openAuditReader } from '../audit/index.js';
import {
  README,
  rerunsByParent,
  shownStatus,
  summarize,
  type RunOpsContext,
  type SummaryReads,
} from './run-support.js';
import { planNodeIds } from './run-artifacts.js';
import type { NodeStatusRow, RunStatusResult, UnfinishedRun } from './run-types.js';
import { auditReaderOptions } from './settings.js';

/** `mso status`: one run's summary, or the runs still open. */
export async function runStatus(c: RunOpsContext, runId?: string): Promise<RunStatusResult> {
  const ws = await c.open(false);
  if (runId === undefined) {
    const all = await ws.runs.list();
    const unfinished = all.filter((r) => ['created', 'active', 'awaiting_human', 'cancelled'].includes(r.status));
    if (!unfinished.length) return { runs: [] };
    const reruns = await rerunsByParent(ws, all);
    // Read-only: a status never writes, and still answers when the audit database cannot be written.
    const reader = openAuditReader(c.deps, ws.layout.auditDb, auditReaderOptions(ws, c.deps));
    try {
      const log = { db: reader.raw };
      const runs: UnfinishedRun[] = [];
      for (const r of unfinished) {
        const ref = await ws.runs.get(r.run_id).catch(() => null);
        const ids = (ref ? await planNodeIds(c.deps, ref.dir) : null) ?? [];
        const recorded = loadRecordedRun(log, r.run_id);
        // The newest run made again from it.
        const rerun = reruns.get(r.run_id)?.at(-1);
        runs.push({
          run_id: r.run_id,
          status: shownStatus(c, log, r.run_id, r.status),
          nodes_done: ids.filter((id) => recorded.nodes.get(id)?.state === 'done').length,
          nodes_total: ids.length,
          updated_at: r.recorded_at,
          goal: ref?.manifest.goal ?? null,
          ...(rerun ? { rerun } : {}),
        });
      }
      return { runs };
    } finally {
      await reader.close();
    }
  }
  // The node table from the same reads as the summary (one opening of the audit log, one read of the plan).
  let nodeTable: NodeStatusRow[] = [];
  const summary = await summarize(c, ws, runId, {}, (reads) => (nodeTable = nodeRows(c, runId, reads)));
  return { ...summary, node_table: nodeTable };
}

/** One row per plan node: its recorded state and commit, and its attempts' agent, count, span and cost. */
function nodeRows(c: RunOpsContext, runId: string, { db, recorded, plan, status }: SummaryReads): NodeStatusRow[] {
  if (!plan) return [];
  const live = status === 'active';
  const rows = (db
    ?.prepare(
      `SELECT node_id, COUNT(*) AS n, COALESCE(SUM(cost_usd), 0) AS cost, MIN(started_at) AS first,
                MAX(COALESCE(ended_at, '')) AS last, SUM(CASE WHEN status = 'running' THEN 1 ELSE 0 END) AS running,
                (SELECT agent FROM attempts b WHERE b.run_id = a.run_id AND b.node_id = a.node_id AND b.agent IS NOT NULL
                 ORDER BY b.started_at DESC LIMIT 1) AS agent
         FROM attempts a WHERE run_id = ? AND node_id IS NOT NULL GROUP BY run_id, node_id`,
    )
    .all(runId) ?? []) as Array<{
    node_id: string;
    n: number;
    cost: number;
    first: string | null;
    last: string;
    running: number;
    agent: string | null;
  }>;
  const byNode = new Map(rows.map((r) => [r.node_id, r]));
  const now = c.deps.clock.now().getTime();
  return Object.entries(plan.execution_graph).map(([id, n]) => {
    const r = byNode.get(id);
    const rec = recorded?.nodes.get(id);
    const commit = rec?.commit ?? null;
    const end = r && r.running > 0 && live ? now : r?.last ? Date.parse(r.last) : null;
    return {
      node: id,
      state: rec?.state ?? 'pending',
      agent: r?.agent ?? (n.command ? 'shell' : (n.agent ?? null)),
      attempts: r?.n ?? 0,
      duration_ms: r?.first && end !== null ? Math.max(0, end - Date.parse(r.first)) : null,
      cost_usd: Math.round((r?.cost ?? 0) * 1e6) / 1e6,
      branch: commit ? nodeBranchName(runId, id) : null,
      commit,
    };
  });
}

/** The run's observation readme (Markdown), or null before the run was first mirrored. */
export async function runReadme(c: RunOpsContext, runId: string): Promise<string | null> {
  const { deps, open } = c;
  const ws = await open(false);
  await ws.runs.get(runId);
  return (await readTextIfExists(deps.fs, join(ws.layout.observationRunDir(runId), README))) ?? null;
}
