import { describe, expect, it } from 'vitest';
import type { GraphNode, RunGraph } from '../contracts/index.js';
import { createLayoutCache, layoutDag } from './layout.js';

/** A layered DAG of `n` nodes, 12 wide, each node with one or two parents in the layer above. */
function dag(n: number): Pick<RunGraph, 'topology' | 'nodes' | 'edges'> {
  const node = (id: string): GraphNode => ({
    id,
    label: id,
    type: 'commit',
    state: 'pending',
    detail: null,
    agent: null,
    merge: null,
    gates: 0,
    cost_usd: 0,
    attempts: 0,
    ticket: null,
    waiting_on_human: false,
  });
  const edges: RunGraph['edges'] = [];
  for (let i = 12; i < n; i++) {
    edges.push({ from: `n${i - 12}`, to: `n${i}` });
    if (i % 3 === 0) edges.push({ from: `n${i - 11}`, to: `n${i}` });
  }
  return { topology: `t${n}`, nodes: Array.from({ length: n }, (_, i) => node(`n${i}`)), edges };
}

describe('createLayoutCache', () => {
  it('lays a big DAG out in a worker thread exactly as in this thread, once per topology', async () => {
    const cache = createLayoutCache();
    try {
      const g = dag(240);
      const [a, b] = await Promise.all([cache.get(g), cache.get(g)]);
      expect(a).toBe(b);
      expect(a).toEqual(layoutDag(g.topology, g.nodes, g.edges));
      expect(a.positions).toHaveLength(240);
      // Children sit below their parents.
      const y = new Map(a.positions.map(([id, , top]) => [id, top]));
      for (const e of g.edges) expect(y.get(e.to) as number).toBeGreaterThan(y.get(e.from) as number);
      expect(await cache.get({ ...g, nodes: [...g.nodes] })).toBe(a);
      expect(cache.has(g.topology)).toBe(true);
      expect(cache.fromWorker).toBe(1);
    } finally {
      await cache.close();
    }
  });
  it('keeps at most its capacity, dropping the least recently used', async () => {
    const cache = createLayoutCache(2);
    try {
      const [x, y, z] = [dag(5), dag(6), dag(7)];
      await cache.get(x);
      await cache.get(y);
      await cache.get(x);
      await cache.get(z);
      expect([cache.has(x.topology), cache.has(y.topology), cache.has(z.topology)]).toEqual([true, false, true]);
      // Small graphs are laid out in this thread.
      expect(cache.fromWorker).toBe(0);
    } finally {
      await cache.close();
    }
  });
});
