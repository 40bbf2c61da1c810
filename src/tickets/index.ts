/** Tickets: markdown files with YAML frontmatter, the seed's strict state machine, and a store for one task context. */
export { TICKET_TRANSITIONS, transitionTicket, type TransitionResult } from './state-machine.js';
export { renderTicket, parseTicket, ticketSlug, type TicketDoc } from './ticket-file.js';
export {
  createTicketStore,
  type TicketStore,
  type TicketRef,
  type CreateTicketInput,
  type TransitionRecord,
} from './store.js';
