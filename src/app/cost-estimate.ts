import type { AuditLog } from '../audit/index.js';
import type { ExecutionPlan, Policy } from '../contracts/index.js';

/** What a designed run should cost, from what its agents cost in this workspace before. */
export interface CostEstimate {
  /** Sum over the nodes with a known cost: shell commands and people cost nothing, an agent its average. */
  readonly usd: number;
  /** Nodes whose agent never completed an attempt here (no basis for an estimate). */
  readonly nodes_without_history: number;
}

/**
 * Estimates a plan's cost: each node goes to its `command` (shell, free), its agent, or the first agent of its
 * persona's fallback chain (else `default`), as the engine picks it; an agent costs the average of its successful
 * attempts recorded in the audit log.
 */
export function estimatePlanCost(log: Pick<AuditLog, 'db'>, plan: ExecutionPlan, policy: Policy): CostEstimate {
  const rows = log.db
    .prepare(
      "SELECT agent, AVG(COALESCE(cost_usd, 0)) AS c FROM attempts WHERE status = 'success' AND agent IS NOT NULL GROUP BY agent",
    )
    .all() as Array<{ agent: string; c: number }>;
  const average = new Map(rows.map((r) => [r.agent, r.c]));
  let usd = 0;
  let unknown = 0;
  for (const n of Object.values(plan.execution_graph)) {
    if (n.command) continue;
    const chain = (n.persona !== undefined ? policy.fallback_chains[n.persona] : undefined) ??
      policy.fallback_chains['default'] ?? ['manual'];
    const agent = n.agent ?? chain[0] ?? 'manual';
    if (policy.agents[agent]?.kind === 'manual' || agent === 'manual') continue;
    const c = average.get(agent);
    if (c === undefined) unknown++;
    else usd += c;
  }
  return { usd: Math.round(usd * 1e6) / 1e6, nodes_without_history: unknown };
}
