import type { AuditLog } from '../audit/index.js';

/**
 * What the run's last coordinator recorded it ran with (the `run.coordinator` event's payload: pid, backend, Redis
 * and prefix, budget, agent, concurrency), or an empty record for a run no coordinator took yet. A resume, a replay,
 * the dashboard and a decision made elsewhere all start from it.
 */
export function lastCoordinatorRecord(log: Pick<AuditLog, 'db'>, runId: string): Record<string, unknown> {
  const row = log.db
    .prepare("SELECT payload FROM events WHERE run_id = ? AND type = 'run.coordinator' ORDER BY seq DESC LIMIT 1")
    .get(runId) as { payload: string } | undefined;
  return row ? (JSON.parse(row.payload) as Record<string, unknown>) : {};
}

/**
 * What a completed run went on without (its engine's `run.outcome` reason: failed branches a merge went past), or
 * null: a run completed with every node done, or not completed by its engine.
 */
export function completedOutcomeReason(log: Pick<AuditLog, 'db'>, runId: string): string | null {
  const row = log.db
    .prepare("SELECT payload FROM events WHERE run_id = ? AND type = 'run.outcome' ORDER BY seq DESC LIMIT 1")
    .get(runId) as { payload: string } | undefined;
  const said = row ? (JSON.parse(row.payload) as { status?: unknown; reason?: unknown }) : {};
  return said.status === 'completed' && typeof said.reason === 'string' ? said.reason : null;
}
