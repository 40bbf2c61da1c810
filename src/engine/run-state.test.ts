import { describe, expect, it } from 'vitest';
import { withDescendants } from './run-state.js';

describe('withDescendants', () => {
  it('takes the starts and everything below them, however the graph is listed, and nothing beside them', () => {
    // Listed children first: a single pass over the list would miss d.
    const graph = {
      d: { parent_refs: ['c'] },
      c: { parent_refs: ['b'] },
      b: { parent_refs: ['a'] },
      a: { parent_refs: [] },
      side: { parent_refs: ['a'] },
      join: { parent_refs: ['side', 'c'] },
    };
    expect([...withDescendants(graph, ['b'])].sort()).toEqual(['b', 'c', 'd', 'join']);
    expect([...withDescendants(graph, [])]).toEqual([]);
  });
});
