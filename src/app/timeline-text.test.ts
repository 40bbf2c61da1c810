import { describe, expect, it } from 'vitest';
import { describeEvent } from './timeline-text.js';

describe('the timeline’s words for ticket events', () => {
  it('says what a ticket move did, and that a held start could not be written', () => {
    expect(
      describeEvent('ticket.transition', { from: 'todo', to: 'in_progress', reason: 'engine started the node' }),
    ).toEqual({
      kind: 'ticket',
      text: 'todo → in_progress: engine started the node',
    });
    expect(describeEvent('ticket.move_failed', { to: 'in_progress', error: 'no ticket TKT-0002' })).toEqual({
      kind: 'ticket',
      text: 'could not be moved to in_progress: no ticket TKT-0002',
    });
  });
});
