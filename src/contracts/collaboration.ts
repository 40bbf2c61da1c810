import { z } from 'zod';

export const DispatchModeSchema = z.enum(['run', 'batch', 'swarm']);
export type DispatchMode = z.infer<typeof DispatchModeSchema>;

/** The request handed to an agent for one ticket (CC-04 input side). */
export const HandoffPayloadSchema = z.looseObject({
  run_id: z.string().min(1),
  task_id: z.string().min(1),
  task_name: z.string().min(1),
  mode: DispatchModeSchema,
  dispatch_mode: DispatchModeSchema,
  artifact_uri: z.string(),
  owner: z.string().min(1),
  dependencies: z.array(z.string()).default([]),
  tags: z.array(z.string()).default([]),
  due_by: z.string().optional(),
  status: z.string().optional(),
  state_machine_version: z.string().default('v1'),
  task_spec: z.string().optional(),
  cc_coupling_id: z.literal('CC-04').default('CC-04'),
  required_skill_ids: z.array(z.string()).default([]),
  missing_dependency_action: z.enum(['auto', 'manual_required']).default('auto'),
  requires_manual_confirmation: z.boolean().default(false),
  fallback_reason: z.string().nullable().optional(),
  mode_reason: z.string().optional(),
  dependency_results: z
    .array(
      z.looseObject({
        task_id: z.string(),
        status: z.string(),
        summary: z.string().optional(),
        artifact_uri: z.string().optional(),
      }),
    )
    .optional(),
});
export type HandoffPayload = z.infer<typeof HandoffPayloadSchema>;

/** `<ticket-stem>.agent-collaboration.json` (CC-04 output). */
export const CollaborationResultSchema = z.looseObject({
  dispatch_mode: DispatchModeSchema,
  handoff_payload: HandoffPayloadSchema,
  requires_manual_confirmation: z.boolean(),
  fallback_reason: z.string().nullable(),
  status: z.enum(['success', 'failure', 'partial', 'blocked', 'timeout', 'cancelled', 'in_progress']),
  run_id: z.string().min(1),
  artifact_uri: z.string(),
  errors: z.array(z.string()).default([]),
  warnings: z.array(z.string()).default([]),
  next_actions: z.array(z.string()).default([]),
  output_report: z.looseObject({}).optional(),
  metadata: z.looseObject({
    schema_version: z.string(),
    cc_coupling_id: z.literal('CC-04'),
    required_skill_ids: z.array(z.string()).default([]),
    missing_dependency_action: z.enum(['auto', 'manual_required']).default('auto'),
  }),
});
export type CollaborationResult = z.infer<typeof CollaborationResultSchema>;
