/**
 * Enumerations as plain arrays, with no schema library behind them: the schemas are built from these (z.enum), and
 * the CLI offers them as choices without loading zod at start-up.
 */
export const RUN_STATUSES = [
  'created',
  'active',
  'awaiting_human',
  'completed',
  'failed',
  'cancelled',
  'archived',
] as const;
export const TICKET_STATUSES = ['todo', 'in_progress', 'blocked', 'done', 'cancelled'] as const;
export const TICKET_PRIORITIES = ['low', 'medium', 'high', 'critical'] as const;
