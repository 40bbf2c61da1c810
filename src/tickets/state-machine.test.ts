import { describe, expect, it } from 'vitest';
import type { TicketFrontmatter, TicketStatus } from '../contracts/index.js';
import { TICKET_TRANSITIONS, transitionTicket } from './state-machine.js';

const t = (status: TicketStatus): TicketFrontmatter => ({
  id: 'TKT-0001',
  task_context_id: 'TKT-0001',
  title: 'x',
  status,
  priority: 'medium',
  owner: 'agent',
  due_by: '2026-11-28',
  dependencies: [],
  tags: [],
  created: '2026-11-20',
  updated: '2026-11-20',
});
const ALL: TicketStatus[] = ['todo', 'in_progress', 'blocked', 'done', 'cancelled'];
const ALLOWED = new Set([
  'todo>in_progress',
  'todo>cancelled',
  'in_progress>done',
  'in_progress>blocked',
  'blocked>in_progress',
  'blocked>cancelled',
]);

describe('transitionTicket', () => {
  it('has exactly the seed diagram as its table', () => {
    const pairs = Object.entries(TICKET_TRANSITIONS).flatMap(([from, tos]) => tos.map((to) => `${from}>${to}`));
    expect(new Set(pairs)).toEqual(ALLOWED);
  });
  it.each(ALL.flatMap((from) => ALL.map((to) => [from, to] as const)))('%s -> %s', (from, to) => {
    if (from === to) {
      const r = transitionTicket(t(from), to, '2026-11-21');
      expect(r.changed).toBe(false);
      expect(r.ticket.updated).toBe('2026-11-20');
    } else if (ALLOWED.has(`${from}>${to}`)) {
      const r = transitionTicket(t(from), to, '2026-11-21', 'why');
      expect(r).toMatchObject({ changed: true, from, to });
      expect(r.ticket.updated).toBe('2026-11-21');
      if (to === 'blocked') expect(r.ticket.blocked_reason).toBe('why');
    } else {
      expect(() => transitionTicket(t(from), to, '2026-11-21')).toThrow(
        expect.objectContaining({
          code: 'MSO_TICKET_INVALID_TRANSITION',
          message: expect.stringContaining(`invalid transition ${from} -> ${to}`),
        }),
      );
    }
  });
});
