import { describe, expect, it } from 'vitest';
import { absorbedFailures } from './run-outcome.js';
import type { NodeState } from './scheduler.js';

// root -> x, y, z -> join (a merge); z failed.
const graph = {
  root: { parent_refs: [] },
  x: { parent_refs: ['root'] },
  y: { parent_refs: ['root'] },
  z: { parent_refs: ['root'] },
  join: { parent_refs: ['x', 'y', 'z'] },
};
const states =
  (s: Record<string, NodeState>) =>
  (id: string): NodeState | undefined =>
    s[id];

describe('absorbedFailures', () => {
  it('names a failed node whose merge went on without it, when every final node is done', () => {
    const s = { root: 'done', x: 'done', y: 'done', z: 'failed', join: 'done' } as const;
    expect(absorbedFailures(graph, states(s))).toEqual([{ node: 'z', children: ['join'] }]);
  });
  it('has none when a final node failed, a node was blocked, or one is not settled', () => {
    expect(absorbedFailures(graph, states({ root: 'done', x: 'done', y: 'done', z: 'done', join: 'failed' }))).toEqual(
      [],
    );
    expect(
      absorbedFailures(graph, states({ root: 'done', x: 'done', y: 'done', z: 'failed', join: 'blocked' })),
    ).toEqual([]);
    expect(
      absorbedFailures(graph, states({ root: 'done', x: 'done', y: 'done', z: 'failed', join: 'waiting' })),
    ).toEqual([]);
    // A failed node with another child that could not run (blocked) is not gone past.
    const two = { ...graph, after: { parent_refs: ['z'] } };
    expect(
      absorbedFailures(
        two,
        states({ root: 'done', x: 'done', y: 'done', z: 'failed', join: 'done', after: 'blocked' }),
      ),
    ).toEqual([]);
  });
  it('has none when nothing failed', () => {
    expect(absorbedFailures(graph, states({ root: 'done', x: 'done', y: 'done', z: 'done', join: 'done' }))).toEqual(
      [],
    );
  });
});
