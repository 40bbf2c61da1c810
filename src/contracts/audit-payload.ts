import { z } from 'zod';
import { NodeTypeSchema } from './common.js';

export const AuditStatusSchema = z.enum(['success', 'fail', 'in_progress']);

export const AgentRoleSchema = z.enum([
  'provisioning',
  'execution',
  'handoff',
  'branching',
  'critic_judge',
  'sentinel',
]);

export const SnapshotStatusSchema = z.enum(['pending', 'active', 'committed', 'merged', 'rolled_back', 'failed']);

export const NodeSnapshotPayloadSchema = z.strictObject({
  node_id: z.string().min(1),
  node_type: NodeTypeSchema,
  parent_refs: z.array(z.string()).default([]),
  tree_hash_type: z.literal('sha256').default('sha256'),
  tree_hash_ref: z.string().nullable().optional(),
  agent_role: AgentRoleSchema.default('execution'),
  phase: z.int().min(1).max(4).default(2),
  status: SnapshotStatusSchema.default('pending'),
  merge_policy: z.looseObject({}).optional(),
  fallback_target: z.string().nullable().optional(),
  input_artifact_uri: z.string().optional(),
  output_artifact_uri: z.string().optional(),
  metadata: z.looseObject({}).optional(),
});

export const WorkTypeSchema = z.enum([
  'execution',
  'modification',
  'structure',
  'document',
  'skill',
  'error',
  'review',
]);

/** An audit payload (CC-05): what `mso audit append` accepts and what the audit log stores as an `audit_logs` row. */
export const AuditPayloadSchema = z.looseObject({
  run_id: z.string().min(1),
  artifact_uri: z.string(),
  status: AuditStatusSchema,
  errors: z.array(z.string()).default([]),
  warnings: z.array(z.string()).default([]),
  next_actions: z.array(z.string()).default([]),
  metadata: z.looseObject({ schema_version: z.string().min(1) }),
  task_id: z
    .string()
    .regex(/^TASK-.{2,}$/, 'must start with TASK- and be longer than 5 characters')
    .optional(),
  task_name: z.string().min(1).optional(),
  mode: z.string().min(1).optional(),
  action: z.string().min(1).optional(),
  notes: z.string().optional(),
  work_type: WorkTypeSchema.optional(),
  triggered_by: z.enum(['user_request', 'auto', 'hook']).optional(),
  duration_sec: z.number().min(0).optional(),
  files_affected: z.array(z.string()).optional(),
  session_id: z.string().optional(),
  intent: z.string().optional(),
  node_snapshot: NodeSnapshotPayloadSchema.optional(),
  decisions: z
    .array(
      z.looseObject({
        id: z
          .string()
          .regex(/^DEC-.+/, 'must start with DEC-')
          .optional(),
        title: z.string().min(1),
        context: z.string().optional(),
        decision_content: z.string().optional(),
        requested_by: z.string().optional(),
        approved_by: z.string().optional(),
      }),
    )
    .optional(),
});
export type AuditPayload = z.infer<typeof AuditPayloadSchema>;
