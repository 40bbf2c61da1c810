import {
  SCHEMA_VERSION,
  type ExecutionNode,
  type ExecutionPlan,
  type FallbackRule,
  type MentalModelBundle,
  type Policy,
  type WorkflowTopologySpec,
} from '../contracts/index.js';
import { adjacency } from './graph.js';

/** The four default fallback rules (the MSO taxonomy); checkout targets are filled with absolute SHAs at run time. */
export const DEFAULT_FALLBACK_RULES: readonly FallbackRule[] = [
  {
    error_type: 'schema_validation_error',
    severity: 'high',
    action: 'checkout',
    target_commit: null,
    max_retry: 2,
    requires_human: false,
    retry_profile: { temperature: 0.2, prompt_override: 'strict_output_format' },
  },
  {
    error_type: 'hallucination',
    severity: 'medium',
    action: 'retry',
    target_commit: null,
    max_retry: 1,
    requires_human: false,
  },
  {
    error_type: 'agent_error',
    severity: 'medium',
    action: 'retry',
    target_commit: null,
    max_retry: 1,
    requires_human: false,
  },
  { error_type: 'timeout', severity: 'low', action: 'retry', target_commit: null, max_retry: 3, requires_human: false },
  {
    error_type: 'hitl_block',
    severity: 'critical',
    action: 'escalate',
    target_commit: null,
    max_retry: 0,
    requires_human: true,
  },
];

function normalizeWeights(w: Readonly<Record<string, number>>): Record<string, number> {
  const entries = Object.entries(w).filter(([, v]) => v > 0);
  const sum = entries.reduce((s, [, v]) => s + v, 0);
  if (sum === 0) return { confidence: 0.4, completeness: 0.3, format_compliance: 0.3 };
  const out = Object.fromEntries(entries.map(([k, v]) => [k, Math.round((v / sum) * 1e4) / 1e4]));
  // Put the rounding remainder on the largest weight so the sum is exactly 1.
  const rest = Math.round((1 - Object.values(out).reduce((s, v) => s + v, 0)) * 1e4) / 1e4;
  const top = entries.sort((a, b) => b[1] - a[1])[0]?.[0];
  if (top && rest !== 0) out[top] = Math.round(((out[top] ?? 0) + rest) * 1e4) / 1e4;
  return out;
}

/**
 * Combines topology and bundle into the execution plan: node types by DESIGN.md (merge ≥ 2 parents; branch = one
 * parent that has ≥ 2 children; else commit), permission mode and model by θ band from policy, hand-off contracts
 * from the explicit outputs, merge policies with weights summing to 1 and an explicit quorum, the default fallback
 * rules plus the policy's, the lifecycle policy, loop edges with their bounds, and the nodes' execution hints.
 */
export function buildPlan(
  topology: WorkflowTopologySpec,
  bundle: MentalModelBundle,
  policy: Pick<Policy, 'design'>,
  at: string,
): ExecutionPlan {
  const ids = topology.nodes.map((n) => n.id);
  const forward = topology.edges.map((e) => ({ from: e.from, to: e.to, back: e.max_iterations !== undefined }));
  const { parents, children } = adjacency(ids, forward);
  const graph: Record<string, ExecutionNode> = {};
  for (const n of topology.nodes) {
    const ps = parents.get(n.id) ?? [];
    const parentFansOut = ps.length === 1 && (children.get(ps[0] as string)?.length ?? 0) >= 2;
    const type = ps.length >= 2 ? 'merge' : parentFansOut ? 'branch' : 'commit';
    const model = policy.design.models[n.theta_gt_band];
    const kids = children.get(n.id) ?? [];
    const node: ExecutionNode = {
      type,
      label: n.label,
      bundle_ref: bundle.bundle_ref,
      parent_refs: ps,
      tree_hash_type: 'sha256',
      tree_hash_ref: null,
      chart_ids: bundle.node_chart_map[n.id] ?? [],
      mode: n.mode ?? (policy.design.permission_modes[n.theta_gt_band] as ExecutionNode['mode']),
      ...(model ? { model_selection: model } : {}),
      handoff_contract: {
        target: kids.length ? kids.join(',') : 'run_output',
        required_keys: ['output', 'status', 'evidence'],
        format: 'json',
        tree_hash_type: 'sha256',
        tree_hash_ref: null,
        ...(n.explicit_output ? { required_outputs: n.explicit_output } : {}),
      },
      ...(n.persona ? { persona: n.persona } : {}),
      ...(n.command ? { command: n.command } : {}),
      ...(n.agent ? { agent: n.agent } : {}),
      ...(n.instructions ? { instructions: n.instructions } : {}),
      ...(n.gates ? { gates: n.gates } : {}),
      ...(n.timeout_s !== undefined ? { timeout_s: n.timeout_s } : {}),
      ...(n.max_retry !== undefined ? { max_retry: n.max_retry } : {}),
      ...(n.budget_usd !== undefined ? { budget_usd: n.budget_usd } : {}),
    };
    if (type === 'merge') {
      const mp = n.merge_policy;
      node.merge_policy = {
        strategy: mp?.strategy ?? 'score_weighted',
        scoring_weights: normalizeWeights(
          mp?.scoring_weights ?? { confidence: 0.4, completeness: 0.3, format_compliance: 0.3 },
        ),
        quorum: Math.min(mp?.quorum ?? ps.length, ps.length),
        manual_review_required: mp?.manual_review_required ?? mp?.strategy === 'manual',
      };
    }
    graph[n.id] = node;
  }
  return {
    run_id: topology.run_id,
    bundle_ref: bundle.bundle_ref,
    execution_graph: graph,
    fallback_rules: [
      ...DEFAULT_FALLBACK_RULES.map((r) => ({ ...r })),
      ...policy.design.fallback_rules.map((r) => ({ ...r, target_commit: null })),
    ],
    lifecycle_policy: {
      branch_ttl_days: 7,
      artifact_retention_days: 30,
      archive_on_merge: true,
      cleanup_job_interval_days: 1,
    },
    loop_edges: topology.edges
      .filter((e) => e.max_iterations !== undefined)
      .map((e) => ({ from: e.from, to: e.to, max_iterations: e.max_iterations as number })),
    human_gate_nodes: topology.execution_policy?.human_gate_nodes ?? [],
    metadata: {
      schema_version: SCHEMA_VERSION,
      created_at: at,
      nodes_processed: ids,
      topology_type: topology.topology_type,
    },
  };
}
