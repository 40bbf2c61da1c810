import { describe, expect, it } from 'vitest';
import { wentOnWithout } from './run-outcome.js';
import type { NodeState } from './scheduler.js';

// root -> x, y, z -> join (a merge), and root -> a -> a2 -> join.
const graph = {
  root: { parent_refs: [] },
  x: { parent_refs: ['root'] },
  y: { parent_refs: ['root'] },
  z: { parent_refs: ['root'] },
  a: { parent_refs: ['root'] },
  a2: { parent_refs: ['a'] },
  join: { parent_refs: ['x', 'y', 'z', 'a2'] },
};
const states =
  (s: Record<string, NodeState>) =>
  (id: string): NodeState | undefined =>
    s[id];
const all = (over: Record<string, NodeState>): Record<string, NodeState> => ({
  root: 'done',
  x: 'done',
  y: 'done',
  z: 'done',
  a: 'done',
  a2: 'done',
  join: 'done',
  ...over,
});

describe('wentOnWithout', () => {
  it('names what the done final nodes went on without: a failed branch, and one blocked after a failure', () => {
    expect(wentOnWithout(graph, states(all({ z: 'failed' })))).toEqual({
      finals: ['join'],
      failed: ['z'],
      blocked: [],
    });
    // A failure one node before the merge: the node after it is blocked, the merge went on.
    expect(wentOnWithout(graph, states(all({ a: 'failed', a2: 'blocked' })))).toEqual({
      finals: ['join'],
      failed: ['a'],
      blocked: ['a2'],
    });
  });
  it('is null when a final node did not finish, a node is not settled, or nothing failed', () => {
    expect(wentOnWithout(graph, states(all({ join: 'failed' })))).toBeNull();
    expect(wentOnWithout(graph, states(all({ z: 'failed', join: 'blocked' })))).toBeNull();
    for (const s of ['waiting', 'cancelled', 'pending', 'running'] as const)
      expect(wentOnWithout(graph, states(all({ z: 'failed', y: s }))), s).toBeNull();
    expect(wentOnWithout(graph, states(all({})))).toBeNull();
    // A second final node blocked by the failure: the run did not get there.
    const two = { ...graph, after: { parent_refs: ['z'] } };
    expect(wentOnWithout(two, states({ ...all({ z: 'failed' }), after: 'blocked' }))).toBeNull();
  });
});
