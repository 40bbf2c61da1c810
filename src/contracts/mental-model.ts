import { z } from 'zod';
import { RunIdSchema, ThetaBandSchema, TimestampSchema } from './common.js';
import { ThetaRangeSchema } from './topology.js';

export const CheckpointStageSchema = z.enum(['preflight', 'pre_h1', 'pre_h2']);

export const LocalChartSchema = z.looseObject({
  id: z.string().min(1),
  name: z.string().min(1),
  type: z.string().optional(),
  /** The library mental model this chart instantiates, e.g. `critical_review`. */
  model_id: z.string().optional(),
  owner: z.string().optional(),
  theta_gt_band: ThetaBandSchema.optional(),
  theta_gt_range: ThetaRangeSchema.optional(),
  semantic_entropy_expected: z.number().min(0).max(1).optional(),
  gt_angle_policy: z.enum(['inherit', 'widen', 'override']).optional(),
  guidance: z.string().optional(),
  checkpoints: z.array(z.looseObject({ stage: CheckpointStageSchema, criteria: z.array(z.string()) })).optional(),
  failure_signals: z.array(z.string()).optional(),
  rationale: z.string().optional(),
});
export type LocalChart = z.infer<typeof LocalChartSchema>;

/** `20_mental-model/mental_model_bundle.json`. */
export const MentalModelBundleSchema = z.looseObject({
  run_id: RunIdSchema,
  domain: z.string().min(1),
  bundle_ref: z.string().min(1),
  local_charts: z.array(LocalChartSchema).min(1),
  node_chart_map: z.record(z.string(), z.array(z.string().min(1)).min(1)),
  output_contract: z.looseObject({}),
  execution_checkpoints: z.looseObject({ stage: CheckpointStageSchema, criteria: z.array(z.string()).default([]) }),
  core_axioms: z.array(z.string()).default([]),
  module_index: z.array(z.string()).default([]),
  loading_policy: z.enum(['eager', 'lazy', 'on_demand']).default('lazy'),
  gt_angle_config: z
    .looseObject({
      default_policy: z.enum(['inherit', 'widen', 'override']).default('inherit'),
      widen_step: z.enum(['narrow_to_moderate', 'moderate_to_wide']).optional(),
    })
    .optional(),
  topology_feedback: z
    .array(z.looseObject({ node_id: z.string(), issue: z.string(), suggestion: z.string() }))
    .default([]),
  metadata: z
    .looseObject({
      schema_version: z.string().optional(),
      created_at: TimestampSchema.optional(),
      generated_by: z.string().optional(),
      assumptions: z.array(z.string()).optional(),
    })
    .optional(),
});
export type MentalModelBundle = z.infer<typeof MentalModelBundleSchema>;
