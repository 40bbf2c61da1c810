import { z } from 'zod';
import { TimestampSchema } from './common.js';

export const HitlStatusSchema = z.enum(['pending', 'approved', 'rejected']);

/** A human-in-the-loop item: a brief for a person, with the options and, once decided, the decision. */
/** A human item's id: HITL-0001, numbered per run. Also its file's name: never a path. */
export const HITL_ID_PATTERN = /^HITL-\d{4,}$/;

export const HitlItemSchema = z.looseObject({
  id: z.string().regex(HITL_ID_PATTERN, 'must look like HITL-0001'),
  run_id: z.string().min(1),
  kind: z.enum([
    'manual_work',
    'human_gate',
    'quorum_missed',
    'merge_conflict',
    'manual_merge',
    'escalation',
    'split_vote',
    'budget',
  ]),
  gate: z.enum(['H1', 'H2']),
  urgency: z.enum(['normal', 'high', 'critical']),
  title: z.string().min(1),
  brief: z.string(),
  source: z.looseObject({ node_id: z.string().optional(), ticket_id: z.string().optional() }),
  evidence: z.array(z.string()).default([]),
  options: z.array(z.string()).default(['resume', 'retry with parameters', 'abort']),
  status: HitlStatusSchema,
  created_at: TimestampSchema,
  decided_at: TimestampSchema.nullable().default(null),
  decided_by: z.string().nullable().default(null),
  note: z.string().nullable().default(null),
});
export type HitlItem = z.infer<typeof HitlItemSchema>;
