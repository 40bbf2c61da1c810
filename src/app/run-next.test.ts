import { describe, expect, it } from 'vitest';
import { nextSteps } from './run-next.js';
import type { WaitingItem } from './run-types.js';

const base = { run_id: 'R', nodes: {}, waiting: [] as WaitingItem[], result: [] };
const commands = (s: Parameters<typeof nextSteps>[0]): string[] => nextSteps(s).map((n) => n.command);

describe('nextSteps', () => {
  it('applies a finished run, naming the node when it has several results', () => {
    const one = [{ node: 'a', branch: 'mso/R/a', commit: 'c' }];
    expect(nextSteps({ ...base, status: 'completed', result: one })).toEqual([
      { command: 'mso apply R', note: 'or: mso apply R --patch result.patch' },
    ]);
    const two = [...one, { node: 'b', branch: 'mso/R/b', commit: 'd' }];
    expect(commands({ ...base, status: 'completed', result: two })).toEqual(['mso apply R --node a']);
    expect(commands({ ...base, status: 'completed' })).toEqual([]);
    // Completed without a failed branch (its merge went past it): that branch can be run again, after the apply.
    expect(commands({ ...base, status: 'completed', result: one, nodes: { done: 3, failed: 1 } })).toEqual([
      'mso apply R',
      'mso rerun R --failed',
    ]);
    // A run on a repository of its own (--init): a merge would stay in the run's folder; the patch is the way out.
    expect(nextSteps({ ...base, status: 'completed', result: one }, { ownRepo: true })).toEqual([
      {
        command: 'mso apply R --patch result.patch',
        note: "its repository is the run's own (--init): the patch carries the work to yours",
      },
    ]);
  });
  it('resumes a run that can go on, once what waits for a person is decided', () => {
    for (const status of ['created', 'interrupted', 'cancelled'] as const)
      expect(commands({ ...base, status })).toEqual(['mso resume R']);
    // Said in full wherever it is read (mso rerun and --json show no waiting lines above it).
    const item = (id: string, title: string): WaitingItem => ({
      item: id,
      title,
      kind: 'human_gate',
      node: null,
      decide: `mso approve|reject R ${id}`,
    });
    const waiting = [item('HITL-0001', 'approve a'), item('HITL-0002', 'do b by hand')];
    expect(nextSteps({ ...base, status: 'awaiting_human', waiting })).toEqual([
      { command: 'mso resume R', note: 'once HITL-0001, HITL-0002 are decided' },
    ]);
    expect(nextSteps({ ...base, status: 'awaiting_human', waiting: waiting.slice(0, 1) })).toEqual([
      { command: 'mso resume R', note: 'once HITL-0001 is decided' },
    ]);
    expect(nextSteps({ ...base, status: 'awaiting_human' })).toEqual([{ command: 'mso resume R' }]);
  });
  it('reruns what a resume would skip or what failed, unless the run was made again already', () => {
    const cancelled = { ...base, status: 'cancelled' as const, resumable: false };
    const tickets = [{ node: 'x', ticket: 'TKT-0002' }];
    expect(nextSteps({ ...cancelled, cancelled_tickets: tickets })).toEqual([
      { command: 'mso rerun R --node x', note: 'resume skips a node whose ticket is cancelled: x TKT-0002' },
    ]);
    const failed = { ...base, status: 'failed' as const, nodes: { failed: 1 } };
    expect(nextSteps(failed)).toEqual([{ command: 'mso rerun R --failed', note: 'why: mso logs R' }]);
    const again = [{ run_id: 'R2', status: 'completed' as const }];
    expect(commands({ ...failed, reruns: again })).toEqual([]);
    expect(commands({ ...cancelled, cancelled_tickets: tickets, reruns: again })).toEqual([]);
  });
});
