import { TicketTransitionError, type TicketFrontmatter, type TicketStatus } from '../contracts/index.js';

/** Exactly the seed's diagram: todo → in_progress | cancelled; in_progress → done | blocked; blocked → in_progress | cancelled. */
export const TICKET_TRANSITIONS: Readonly<Record<TicketStatus, readonly TicketStatus[]>> = {
  todo: ['in_progress', 'cancelled'],
  in_progress: ['done', 'blocked'],
  blocked: ['in_progress', 'cancelled'],
  done: [],
  cancelled: [],
};

/** The outcome of a transition request; `changed` is false for a request for the current state. */
export interface TransitionResult {
  readonly ticket: TicketFrontmatter;
  readonly changed: boolean;
  readonly from: TicketStatus;
  readonly to: TicketStatus;
}

/**
 * Applies a status change (pure): a request for the current state is a no-op that succeeds; anything outside the
 * table throws `MSO_TICKET_INVALID_TRANSITION`; a real transition sets `updated`.
 */
export function transitionTicket(
  ticket: TicketFrontmatter,
  to: TicketStatus,
  today: string,
  reason?: string,
): TransitionResult {
  const from = ticket.status;
  if (from === to) return { ticket, changed: false, from, to };
  if (!TICKET_TRANSITIONS[from].includes(to)) throw new TicketTransitionError(ticket.id, from, to);
  const next: TicketFrontmatter = { ...ticket, status: to, updated: today };
  if (to === 'blocked') next.blocked_reason = reason ?? 'blocked';
  else delete next.blocked_reason;
  return { ticket: next, changed: true, from, to };
}
