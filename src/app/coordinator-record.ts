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
