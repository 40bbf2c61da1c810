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

describe('the timeline’s words for a resume after a crash', () => {
  it('says the run was taken over, what was left running was ended, and which attempts were closed', () => {
    expect(describeEvent('run.lease_taken_over', { from_pid: 4242, from_host: 'vm', since: 'x' })).toEqual({
      kind: 'coordinator',
      text: 'took the run over from coordinator pid 4242 on vm, which stopped without ending it',
    });
    expect(describeEvent('agent.orphan_killed', { pid: 4250, signal: 'SIGTERM' })).toEqual({
      kind: 'recovery',
      text: 'ended process group 4250 (SIGTERM) an earlier coordinator left running',
    });
    expect(describeEvent('attempts.interrupted', { count: 1 })).toEqual({
      kind: 'recovery',
      text: 'closed 1 attempt(s) the stopped coordinator left running; their nodes run again',
    });
  });
});
