import { z } from 'zod';
import { NodeTypeSchema, SeveritySchema, TimestampSchema } from './common.js';

export const CallbackEventTypeSchema = z.enum([
  'improvement_proposal',
  'anomaly_detected',
  'periodic_report',
  'hitl_request',
  'branch_created',
  'merge_completed',
  'checkout_executed',
  'snapshot_committed',
]);

/** `HC-YYYYMMDD-NNN`, `AS-YYYYMMDD-NNN` or `IP-YYYYMMDD-NNN`. */
export const CHECKPOINT_ID_PATTERN = /^(HC|AS|IP)-\d{8}-\d{3,}$/;

/** One observability callback event in `60_observability/`. */
export const ObservabilityCallbackSchema = z.looseObject({
  event_type: CallbackEventTypeSchema,
  checkpoint_id: z.string().regex(CHECKPOINT_ID_PATTERN, 'must look like HC-20261121-001'),
  payload: z.looseObject({
    target_skills: z.array(z.string()).default([]),
    severity: SeveritySchema,
    message: z.string().min(1),
    node_id: z.string().optional(),
    node_type: NodeTypeSchema.optional(),
    tree_hash_ref: z.string().nullable().optional(),
    parent_refs: z.array(z.string()).optional(),
  }),
  retry_policy: z.looseObject({
    max_retries: z.int().min(0),
    backoff_seconds: z.number().min(0),
    on_retry: z.enum(['drop', 'queue', 'error']),
  }),
  correlation: z.looseObject({
    run_id: z.string().min(1),
    artifact_uri: z.string().optional(),
    snapshot_id: z.string().optional(),
    /** Audit rows behind the finding, as `table:id`. */
    audit_refs: z.array(z.string()).default([]),
  }),
  timestamp: TimestampSchema,
});
export type ObservabilityCallback = z.infer<typeof ObservabilityCallbackSchema>;
