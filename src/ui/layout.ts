import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { Graph, layout } from '@dagrejs/dagre';
import type { RunGraph, RunLayout } from '../contracts/index.js';

/** The size of a node box on the page (web/src/DagView.tsx draws it this size). */
export const NODE_WIDTH = 210;
export const NODE_HEIGHT = 78;
/** From this many nodes a layout is computed off the event loop (dagre takes a second or more at 1,000 nodes). */
const WORKER_FROM = 150;

type DagreGraph = Record<string, unknown>;
const graphOptions = (n: number): DagreGraph => ({
  rankdir: 'TB',
  nodesep: 36,
  ranksep: 64,
  marginx: 20,
  marginy: 20,
  // network-simplex ranks best but is slow on big graphs; longest-path keeps a 1,000-node layout near a second.
  ranker: n > 300 ? 'longest-path' : 'network-simplex',
});

const toLayout = (
  key: string,
  ids: readonly string[],
  centres: ReadonlyArray<readonly [number, number]>,
): RunLayout => ({
  key,
  width: NODE_WIDTH,
  height: NODE_HEIGHT,
  positions: ids.map((id, i) => {
    const [x, y] = centres[i] ?? [0, 0];
    return [id, Math.round(x - NODE_WIDTH / 2), Math.round(y - NODE_HEIGHT / 2)];
  }),
});

/** Lays out a DAG with dagre, top to bottom: each node's top-left corner. */
export function layoutDag(key: string, nodes: RunGraph['nodes'], edges: RunGraph['edges']): RunLayout {
  const g = new Graph();
  g.setGraph(graphOptions(nodes.length));
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) g.setNode(n.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  for (const e of edges) g.setEdge(e.from, e.to);
  layout(g);
  return toLayout(
    key,
    nodes.map((n) => n.id),
    nodes.map((n) => [g.node(n.id)?.x ?? 0, g.node(n.id)?.y ?? 0] as const),
  );
}

// The worker runs the same dagre calls as layoutDag. It is plain CommonJS given as text, so it runs the same from the
// built package, the bench build and the TypeScript sources under test (no separate file to find).
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { Graph, layout } = require(workerData.dagre);
parentPort.on('message', ({ id, ids, edges, options, width, height }) => {
  try {
    const g = new Graph();
    g.setGraph(options);
    g.setDefaultEdgeLabel(() => ({}));
    for (const n of ids) g.setNode(n, { width, height });
    for (const [a, b] of edges) g.setEdge(a, b);
    layout(g);
    parentPort.postMessage({ id, centres: ids.map((n) => [g.node(n).x, g.node(n).y]) });
  } catch (e) {
    parentPort.postMessage({ id, error: String(e && e.message || e) });
  }
});
`;

/** Layouts by topology hash: computed once per topology, however many pages and runs show it. */
export interface LayoutCache {
  /** The layout of the graph's topology (computed in a worker thread for a big graph, then kept). */
  get(graph: Pick<RunGraph, 'topology' | 'nodes' | 'edges'>): Promise<RunLayout>;
  /** True when the topology is laid out already. */
  has(topology: string): boolean;
  readonly size: number;
  /** Layouts the worker thread computed (the others were small, or the worker could not run). */
  readonly fromWorker: number;
  /** Ends the worker thread. */
  close(): Promise<void>;
}

export function createLayoutCache(capacity = 32): LayoutCache {
  const cache = new Map<string, RunLayout>();
  const computing = new Map<string, Promise<RunLayout>>();
  let worker: Worker | null = null;
  let seq = 0;
  let fromWorker = 0;
  const waiting = new Map<number, { done(c: Array<[number, number]>): void; fail(e: Error): void }>();
  const startWorker = (): Worker => {
    const dagre = createRequire(import.meta.url).resolve('@dagrejs/dagre');
    const w = new Worker(WORKER, { eval: true, workerData: { dagre } });
    w.unref();
    w.on('message', (m: { id: number; centres?: Array<[number, number]>; error?: string }) => {
      const p = waiting.get(m.id);
      waiting.delete(m.id);
      if (m.centres) p?.done(m.centres);
      else p?.fail(new Error(m.error ?? 'layout failed'));
    });
    w.on('error', (e) => {
      for (const p of waiting.values()) p.fail(e);
      waiting.clear();
      worker = null;
    });
    return w;
  };
  const inWorker = (g: Pick<RunGraph, 'topology' | 'nodes' | 'edges'>): Promise<RunLayout> => {
    const ids = g.nodes.map((n) => n.id);
    return new Promise<Array<[number, number]>>((done, fail) => {
      const id = ++seq;
      waiting.set(id, { done, fail });
      worker ??= startWorker();
      worker.postMessage({
        id,
        ids,
        edges: g.edges.map((e) => [e.from, e.to]),
        options: graphOptions(ids.length),
        width: NODE_WIDTH,
        height: NODE_HEIGHT,
      });
    }).then(
      (centres) => {
        fromWorker++;
        return toLayout(g.topology, ids, centres);
      },
      // No worker here (or it broke): lay out in this thread.
      () => layoutDag(g.topology, g.nodes, g.edges),
    );
  };
  const keep = (key: string, made: RunLayout): RunLayout => {
    cache.set(key, made);
    if (cache.size > capacity) cache.delete(cache.keys().next().value as string);
    return made;
  };
  return {
    get(graph) {
      const hit = cache.get(graph.topology);
      if (hit) {
        // Most recently used last: the first entry is the one to evict.
        cache.delete(graph.topology);
        cache.set(graph.topology, hit);
        return Promise.resolve(hit);
      }
      if (graph.nodes.length < WORKER_FROM)
        return Promise.resolve(keep(graph.topology, layoutDag(graph.topology, graph.nodes, graph.edges)));
      let p = computing.get(graph.topology);
      if (!p) {
        p = inWorker(graph)
          .then((made) => keep(graph.topology, made))
          .finally(() => computing.delete(graph.topology));
        computing.set(graph.topology, p);
      }
      return p;
    },
    has: (topology) => cache.has(topology),
    get size() {
      return cache.size;
    },
    get fromWorker() {
      return fromWorker;
    },
    async close() {
      const w = worker;
      worker = null;
      await w?.terminate();
    },
  };
}
