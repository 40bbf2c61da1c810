import { Graph, layout } from '@dagrejs/dagre';
import {
  Background,
  Controls,
  Handle,
  MiniMap,
  Position,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type Edge,
  type Node,
  type NodeProps,
} from '@xyflow/react';
import { memo, useEffect, useMemo, useRef } from 'react';
import { usd } from './format.js';
import type { GraphNode, RunGraph } from '../../src/contracts/dashboard.js';

const W = 210;
const H = 78;

type Positions = Map<string, { x: number; y: number }>;

/** FNV-1a of a string, as a short cache key. */
function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(36);
}

function computeLayout(nodes: readonly GraphNode[], edges: RunGraph['edges']): Positions {
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
  for (const n of nodes) g.setNode(n.id, { width: W, height: H });
  for (const e of edges) g.setEdge(e.from, e.to);
  layout(g);
  return new Map(
    nodes.map((n) => {
      const p = g.node(n.id);
      return [n.id, { x: (p?.x ?? 0) - W / 2, y: (p?.y ?? 0) - H / 2 }];
    }),
  );
}

/**
 * Positions of the nodes, laid out once per topology: not on state changes, and not again on a later visit (the
 * positions of a topology are kept in this browser's local storage).
 */
function useLayout(nodes: readonly GraphNode[], edges: RunGraph['edges']): Positions {
  const key = `${nodes.map((n) => n.id).join(',')}|${edges.map((e) => `${e.from}>${e.to}`).join(',')}`;
  return useMemo(() => {
    const store = `mso-layout:${nodes.length}:${hash(key)}`;
    try {
      const saved = localStorage.getItem(store);
      if (saved) {
        const rows = JSON.parse(saved) as Array<[string, number, number]>;
        if (rows.length === nodes.length) return new Map(rows.map(([id, x, y]) => [id, { x, y }]));
      }
    } catch {
      // unreadable: lay out again
    }
    const pos = computeLayout(nodes, edges);
    if (nodes.length > 50) {
      try {
        localStorage.setItem(store, JSON.stringify([...pos].map(([id, p]) => [id, Math.round(p.x), Math.round(p.y)])));
      } catch {
        // full or disabled: the layout is recomputed next time
      }
    }
    return pos;
  }, [key]);
}

type FlowNode = Node<{ n: GraphNode; selected: boolean }, 'mso'>;

const DagNode = memo(function DagNode({ data }: NodeProps<FlowNode>): React.JSX.Element {
  const { n } = data;
  return (
    <div
      className={`dag-node st-${n.state} ${data.selected ? 'sel' : ''} ${n.waiting_on_human ? 'human' : ''}`}
      data-node={n.id}
      data-state={n.state}
    >
      <Handle type="target" position={Position.Top} />
      <div className="dn-top">
        <span className="dn-label" title={n.label}>
          {n.label}
        </span>
        {n.type !== 'commit' && <span className={`dn-type t-${n.type}`}>{n.type}</span>}
        {n.waiting_on_human && (
          <span className="dn-human" title="waiting for a person">
            needs you
          </span>
        )}
      </div>
      <div className="dn-detail" title={n.detail ?? ''}>
        {n.detail ?? ''}
      </div>
      <div className="dn-meta">
        <span className="dn-state">{n.state}</span>
        {n.merge && <span className="dn-quorum">quorum {n.merge.quorum ?? '–'}</span>}
        {n.agent && <span className="dn-agent">{n.agent}</span>}
        {n.cost_usd > 0 && <span>{usd(n.cost_usd)}</span>}
      </div>
      <Handle type="source" position={Position.Bottom} />
    </div>
  );
});
const nodeTypes = { mso: DagNode };

/** Fits the graph again when its area changes size (the node panel opens or closes, the window resizes). */
function FitOnResize(): React.JSX.Element {
  const flow = useReactFlow();
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current?.parentElement;
    if (!el) return;
    let first = true;
    const obs = new ResizeObserver(() => {
      if (first) first = false;
      else void flow.fitView({ padding: 0.15, maxZoom: 1.2, duration: 150 });
    });
    obs.observe(el);
    return () => obs.disconnect();
  }, [flow]);
  return <div ref={ref} hidden />;
}

/** The viewport that shows the top of the layout, centred, at a readable zoom. */
function topView(pos: ReadonlyMap<string, { x: number; y: number }>): { x: number; y: number; zoom: number } {
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  for (const p of pos.values()) {
    minX = Math.min(minX, p.x);
    maxX = Math.max(maxX, p.x + W);
    minY = Math.min(minY, p.y);
  }
  const zoom = 0.8;
  const width = Math.max(400, window.innerWidth - 40);
  return { x: width / 2 - ((minX + maxX) / 2) * zoom, y: 24 - minY * zoom, zoom };
}

export function DagView(props: {
  graph: RunGraph;
  selected: string | null;
  onSelect(id: string | null): void;
}): React.JSX.Element {
  const { graph, selected, onSelect } = props;
  const pos = useLayout(graph.nodes, graph.edges);
  const byId = useMemo(() => new Map(graph.nodes.map((n) => [n.id, n])), [graph.nodes]);
  // Unchanged nodes and edges keep their object identity, so React Flow re-renders only what an event changed.
  const cache = useRef(new Map<string, { key: string; value: FlowNode | Edge }>());
  const keep = <T extends FlowNode | Edge>(id: string, key: string, make: () => T): T => {
    const hit = cache.current.get(id);
    if (hit && hit.key === key) return hit.value as T;
    const value = make();
    cache.current.set(id, { key, value });
    return value;
  };
  const nodes: FlowNode[] = graph.nodes.map((n) => {
    const p = pos.get(n.id) ?? { x: 0, y: 0 };
    const sel = n.id === selected;
    return keep(`n:${n.id}`, `${JSON.stringify(n)}|${sel}|${p.x},${p.y}`, () => ({
      id: n.id,
      type: 'mso' as const,
      position: p,
      data: { n, selected: sel },
      width: W,
      height: H,
      draggable: false,
      connectable: false,
    }));
  });
  const edges: Edge[] = graph.edges.map((e) => {
    const animated = byId.get(e.to)?.state === 'running';
    const from = byId.get(e.from)?.state;
    const className = from === 'done' ? 'edge-done' : from === 'failed' ? 'edge-failed' : '';
    return keep(`e:${e.from}>${e.to}`, `${animated}|${className}`, () => ({
      id: `${e.from}>${e.to}`,
      source: e.from,
      target: e.to,
      animated,
      className,
    }));
  });
  const many = graph.nodes.length > 300;
  return (
    <div className="dag">
      <ReactFlowProvider>
        {!many && <FitOnResize />}
        <ReactFlow
          nodes={nodes}
          edges={edges}
          nodeTypes={nodeTypes}
          // A big graph opens readable at its top (only the visible nodes render); the minimap shows all of it.
          {...(many
            ? { defaultViewport: topView(pos) }
            : { fitView: true, fitViewOptions: { padding: 0.15, maxZoom: 1.2 } })}
          minZoom={0.05}
          onlyRenderVisibleElements={many}
          onNodeClick={(_, n) => onSelect(n.id)}
          onPaneClick={() => onSelect(null)}
          nodesConnectable={false}
        >
          <Background gap={20} size={1} />
          <Controls showInteractive={false} />
          {graph.nodes.length > 40 && (
            <MiniMap pannable zoomable nodeClassName={(n) => `mm-${(n as FlowNode).data.n.state}`} />
          )}
        </ReactFlow>
      </ReactFlowProvider>
    </div>
  );
}
