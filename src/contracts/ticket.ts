import { z } from 'zod';
import { DateSchema, RunIdSchema } from './common.js';
import { TICKET_PRIORITIES, TICKET_STATUSES } from './enums.js';

export const TicketStatusSchema = z.enum(TICKET_STATUSES);
export type TicketStatus = z.infer<typeof TicketStatusSchema>;

export const TicketPrioritySchema = z.enum(TICKET_PRIORITIES);
export type TicketPriority = z.infer<typeof TicketPrioritySchema>;

export const TICKET_ID_PATTERN = /^TKT-[0-9]{4,}$/;

/** YAML frontmatter of `40_collaboration/task-context/tickets/TKT-NNNN-<slug>.md` (with `title`, unlike v0.0.3). */
export const TicketFrontmatterSchema = z.looseObject({
  id: z.string().regex(TICKET_ID_PATTERN, 'must look like TKT-0001'),
  task_context_id: z.string().min(1),
  title: z.string().min(1),
  status: TicketStatusSchema,
  priority: TicketPrioritySchema.default('medium'),
  owner: z.string().min(1),
  due_by: DateSchema,
  dependencies: z.array(z.string().regex(TICKET_ID_PATTERN, 'must be a ticket id like TKT-0001')).default([]),
  tags: z.array(z.string().min(1)).default([]),
  created: DateSchema,
  updated: DateSchema,
  run_id: RunIdSchema.optional(),
  node_id: z.string().min(1).optional(),
  persona: z.string().min(1).optional(),
  agent: z.string().min(1).optional(),
  attempts: z.int().min(0).optional(),
  artifact_uri: z.string().optional(),
  blocked_reason: z.string().optional(),
});
export type TicketFrontmatter = z.infer<typeof TicketFrontmatterSchema>;
