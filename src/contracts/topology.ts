import { z } from 'zod';
import { PermissionModeSchema, RunIdSchema, SafeIdSchema, ThetaBandSchema, TimestampSchema } from './common.js';

export const OutputTypeSchema = z.enum([
  'memo',
  'decision',
  'table',
  'list',
  'report',
  'diagram',
  'checklist',
  'constraint_set',
  'recommendation',
  'code',
]);
export type OutputType = z.infer<typeof OutputTypeSchema>;

export const ExplicitOutputSchema = z.looseObject({
  type: OutputTypeSchema,
  required_sections: z.array(z.string().min(1)).default([]),
  acceptance_criteria: z.array(z.string().min(1)).default([]),
  /** Files (relative to the node's worktree) that must exist when the node is done. */
  required_files: z.array(z.string().min(1)).default([]),
});

export const ThetaRangeSchema = z
  .object({ min: z.number().min(0).max(1), max: z.number().min(0).max(1) })
  .refine((r) => r.min <= r.max, 'min must be <= max');

export const MergeStrategySchema = z.enum(['score_weighted', 'fast_forward', 'manual']);

export const MergePolicySchema = z.looseObject({
  strategy: MergeStrategySchema.default('score_weighted'),
  // Any non-negative weights: the plan normalises them to sum to 1, and governance checks that it does.
  scoring_weights: z.record(z.string(), z.number().min(0)).default({
    confidence: 0.4,
    completeness: 0.3,
    format_compliance: 0.3,
  }),
  quorum: z.int().min(1).optional(),
  manual_review_required: z.boolean().default(false),
});
export type MergePolicy = z.infer<typeof MergePolicySchema>;

/** Execution hints a hand-written workflow may carry on a node; carried through to the plan. */
export const NodeHintsShape = {
  command: z.string().min(1).optional(),
  persona: z.string().min(1).optional(),
  agent: z.string().min(1).optional(),
  /** The node's permission mode (default: the policy's `design.permission_modes` for its band). */
  mode: PermissionModeSchema.optional(),
  instructions: z.string().optional(),
  gates: z.array(z.string().min(1)).optional(),
  timeout_s: z.number().positive().max(604_800, 'at most 604800 (7 days)').optional(),
  max_retry: z.int().min(0).max(100, 'at most 100').optional(),
  budget_usd: z.number().min(0).optional(),
  merge_policy: MergePolicySchema.optional(),
};

export const TopologyNodeSchema = z.looseObject({
  id: SafeIdSchema,
  label: z.string().min(1),
  theta_gt_band: ThetaBandSchema,
  description: z.string().optional(),
  rsv_target: z.number().min(0).optional(),
  assigned_dqs: z.array(z.string()).optional(),
  stop_condition: z.string().optional(),
  explicit_output: ExplicitOutputSchema.optional(),
  theta_gt_range: ThetaRangeSchema.optional(),
  semantic_entropy_expected: z.number().min(0).max(1).optional(),
  ...NodeHintsShape,
});
export type TopologyNode = z.infer<typeof TopologyNodeSchema>;

export const EdgeTypeSchema = z.enum(['data', 'control', 'hitl']);

export const TopologyEdgeSchema = z.looseObject({
  from: SafeIdSchema,
  to: SafeIdSchema,
  type: EdgeTypeSchema.default('data'),
  /** A loop back-edge: how many times the edge may be taken before the loop stops. */
  max_iterations: z.int().min(1).optional(),
});
export type TopologyEdge = z.infer<typeof TopologyEdgeSchema>;

export const TopologyTypeSchema = z.enum(['linear', 'fan_out', 'fan_in', 'dag', 'loop']);
export type TopologyType = z.infer<typeof TopologyTypeSchema>;

export const LoopTypeSchema = z.enum([
  'redundancy_accumulation',
  'semantic_dependency_cycle',
  'rsv_inflation',
  'human_deferral_loop',
  'exploration_spiral',
  'infinite_loop',
]);

/** `10_topology/workflow_topology_spec.json` (MSO v0.0.3 vocabulary; `rsv_total` required, as CC-01 says). */
export const WorkflowTopologySpecSchema = z.looseObject({
  run_id: RunIdSchema,
  topology_type: TopologyTypeSchema,
  nodes: z.array(TopologyNodeSchema).min(1),
  edges: z.array(TopologyEdgeSchema),
  rsv_total: z.number().min(0),
  strategy_gate: z.boolean().default(false),
  selection_rationale: z.string().optional(),
  decision_questions: z
    .array(z.looseObject({ id: z.string().min(1), question: z.string().min(1), weight: z.number().min(0).default(1) }))
    .default([]),
  loop_risk_assessment: z
    .array(
      z.looseObject({
        loop_type: LoopTypeSchema,
        where: z.string().min(1),
        risk: z.enum(['low', 'med', 'high']),
        mitigation: z.array(z.string()).default([]),
      }),
    )
    .default([]),
  handoff_strategy: z
    .looseObject({
      handoff_points: z.array(z.string()).default([]),
      minimize_context_loss_rules: z.array(z.string()).default([]),
    })
    .optional(),
  execution_policy: z
    .looseObject({
      continue_reframe_stop_rules: z.array(z.string()).default([]),
      human_gate_nodes: z.array(z.string()).default([]),
      estimator_integration: z.looseObject({}).optional(),
    })
    .optional(),
  metadata: z
    .looseObject({
      schema_version: z.string().optional(),
      created_at: TimestampSchema.optional(),
      updated_at: TimestampSchema.optional(),
      source: z.string().optional(),
      goal_preview: z.string().optional(),
    })
    .optional(),
});
export type WorkflowTopologySpec = z.infer<typeof WorkflowTopologySpecSchema>;
