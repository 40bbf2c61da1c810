import { Graph, layout } from '@dagrejs/dagre';
import type { RunGraph, RunLayout } from '../contracts/index.js';

/** The size of a node box on the page (web/src/DagView.tsx draws it this size). */
export const NODE_WIDTH = 210;
export const NODE_HEIGHT = 78;

/** Lays out a DAG with dagre: top to bottom, each node's top-left corner. */
export function layoutDag(key: string, nodes: RunGraph['nodes'], edges: RunGraph['edges']): RunLayout {
  const g = new Graph();
  // network-simplex ranks best but is slow on big graphs; longest-path keeps a 1,000-node layout well under a second.
  g.setGraph({
    rankdir: 'TB',
    nodesep: 36,
    ranksep: 64,
    marginx: 20,
    marginy: 20,
    ranker: nodes.length > 300 ? 'longest-path' : 'network-simplex',
  });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) g.setNode(n.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const e of edges) g.setEdge(e.from, e.to);
  layout(g);
  return {
    key,
    width: NODE_WIDTH,
    height: NODE_HEIGHT,
    positions: nodes.map((n) => {
      const p = g.node(n.id);
      return [n.id, Math.round((p?.x ?? 0) - NODE_WIDTH / 2), Math.round((p?.y ?? 0) - NODE_HEIGHT / 2)];
    }),
  };
}

/** Layouts by topology hash: computed once per topology, however many pages and runs show it. */
export interface LayoutCache {
  get(graph: Pick<RunGraph, 'topology' | 'nodes' | 'edges'>): RunLayout;
  readonly size: number;
}

export function createLayoutCache(capacity = 32): LayoutCache {
  const cache = new Map<string, RunLayout>();
  return {
    get(graph) {
      const hit = cache.get(graph.topology);
      if (hit) {
        // Most recently used last: the first entry is the one to evict.
        cache.delete(graph.topology);
        cache.set(graph.topology, hit);
        return hit;
      }
      const made = layoutDag(graph.topology, graph.nodes, graph.edges);
      cache.set(graph.topology, made);
      if (cache.size > capacity) cache.delete(cache.keys().next().value as string);
      return made;
    },
    get size() {
      return cache.size;
    },
  };
}
