import { z } from 'zod';
import { NodeTypeSchema, RunIdSchema, TimestampSchema } from './common.js';
import { ExplicitOutputSchema, NodeHintsShape } from './topology.js';

export const HandoffContractSchema = z.looseObject({
  target: z.string().default('next_node'),
  required_keys: z.array(z.string()).default(['output', 'status', 'evidence']),
  format: z.string().default('json'),
  tree_hash_type: z.literal('sha256').optional(),
  tree_hash_ref: z.string().nullable().optional(),
  required_outputs: ExplicitOutputSchema.optional(),
});

export const ExecutionNodeSchema = z.looseObject({
  type: NodeTypeSchema,
  bundle_ref: z.string().min(1),
  parent_refs: z.array(z.string()),
  tree_hash_type: z.literal('sha256'),
  tree_hash_ref: z.string().nullable().default(null),
  label: z.string().optional(),
  model_selection: z.string().optional(),
  chart_ids: z.array(z.string()).default([]),
  handoff_contract: HandoffContractSchema.optional(),
  ...NodeHintsShape,
});
export type ExecutionNode = z.infer<typeof ExecutionNodeSchema>;

export const FallbackActionSchema = z.enum(['retry', 'checkout', 'escalate']);

export const FallbackRuleSchema = z.looseObject({
  error_type: z.string().min(1),
  severity: z.enum(['low', 'medium', 'high', 'critical']),
  action: FallbackActionSchema,
  target_commit: z.string().nullable().default(null),
  max_retry: z.int().min(0).default(2),
  requires_human: z.boolean().default(false),
  retry_profile: z
    .looseObject({
      model: z.string().optional(),
      temperature: z.number().optional(),
      prompt_override: z.string().optional(),
    })
    .optional(),
});
export type FallbackRule = z.infer<typeof FallbackRuleSchema>;

export const LifecyclePolicySchema = z.looseObject({
  branch_ttl_days: z.int().min(1).default(7),
  artifact_retention_days: z.int().min(1).default(30),
  archive_on_merge: z.boolean().default(true),
  cleanup_job_interval_days: z.int().min(1).default(1),
});

/** `30_execution/execution_plan.json` (v0.0.3 `execution_graph` form). */
export const ExecutionPlanSchema = z.looseObject({
  run_id: RunIdSchema,
  bundle_ref: z.string().min(1),
  execution_graph: z.record(z.string(), ExecutionNodeSchema),
  fallback_rules: z.array(FallbackRuleSchema),
  lifecycle_policy: LifecyclePolicySchema.optional(),
  metadata: z
    .looseObject({
      schema_version: z.string().optional(),
      created_at: TimestampSchema.optional(),
      notes: z.string().optional(),
      nodes_processed: z.array(z.string()).optional(),
    })
    .optional(),
});
export type ExecutionPlan = z.infer<typeof ExecutionPlanSchema>;
