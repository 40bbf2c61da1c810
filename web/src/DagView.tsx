import {
  Background,
  Controls,
  Handle,
  MiniMap,
  Panel,
  Position,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
  type Edge,
  type Node,
  type NodeProps,
} from '@xyflow/react';
import { memo, useEffect, useMemo, useRef } from 'react';
import { CanvasMiniMap } from './CanvasMiniMap.js';
import { usd } from './format.js';
import type { GraphNode, RunGraph, RunLayout } from '../../src/contracts/dashboard.js';

type Positions = Map<string, { x: number; y: number }>;

/** The two handles of a node box (6 px, centred on its top and bottom edges), as React Flow would measure them. */
function handlesOf(layout: RunLayout): NonNullable<Node['handles']> {
  const x = layout.width / 2 - 3;
  return [
    { type: 'target', position: Position.Top, x, y: -3, width: 6, height: 6 },
    { type: 'source', position: Position.Bottom, x, y: layout.height - 3, width: 6, height: 6 },
  ];
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
function topView(pos: Positions, W: number): { x: number; y: number; zoom: number } {
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
  layout: RunLayout;
  selected: string | null;
  onSelect(id: string | null): void;
}): React.JSX.Element {
  const { graph, layout, selected, onSelect } = props;
  const pos: Positions = useMemo(() => new Map(layout.positions.map(([id, x, y]) => [id, { x, y }])), [layout]);
  const byId = useMemo(() => new Map(graph.nodes.map((n) => [n.id, n])), [graph.nodes]);
  // Unchanged nodes and edges keep their object identity (the server's graph and the live updates keep the identity
  // of nodes that did not change), so React Flow re-renders only what an event changed.
  const cache = useRef(new Map<string, { of: unknown[]; value: FlowNode | Edge }>());
  const keep = <T extends FlowNode | Edge>(id: string, of: unknown[], make: () => T): T => {
    const hit = cache.current.get(id);
    if (hit && hit.of.length === of.length && hit.of.every((v, i) => v === of[i])) return hit.value as T;
    const value = make();
    cache.current.set(id, { of, value });
    return value;
  };
  const nodes: FlowNode[] = graph.nodes.map((n) => {
    const p = pos.get(n.id) ?? { x: 0, y: 0 };
    const sel = n.id === selected;
    return keep(`n:${n.id}`, [n, sel, p], () => ({
      id: n.id,
      type: 'mso' as const,
      position: p,
      data: { n, selected: sel },
      width: layout.width,
      height: layout.height,
      // Where the handles are, told up front: React Flow otherwise renders every node once to measure them, which
      // puts all 1,000 nodes of a big run in the page before it shows the few on screen.
      handles: handlesOf(layout),
      draggable: false,
      connectable: false,
    }));
  });
  const edges: Edge[] = graph.edges.map((e) => {
    const animated = byId.get(e.to)?.state === 'running';
    const from = byId.get(e.from)?.state;
    const className = from === 'done' ? 'edge-done' : from === 'failed' ? 'edge-failed' : '';
    return keep(`e:${e.from}>${e.to}`, [animated, className], () => ({
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
            ? { defaultViewport: topView(pos, layout.width) }
            : { fitView: true, fitViewOptions: { padding: 0.15, maxZoom: 1.2 } })}
          minZoom={0.05}
          onlyRenderVisibleElements={many}
          onNodeClick={(_, n) => onSelect(n.id)}
          onPaneClick={() => onSelect(null)}
          nodesConnectable={false}
        >
          <Background gap={20} size={1} />
          <Controls showInteractive={false} />
          {graph.nodes.length > 40 && !many && (
            <MiniMap pannable zoomable nodeClassName={(n) => `mm-${(n as FlowNode).data.n.state}`} />
          )}
          {many && (
            <Panel position="bottom-right">
              <CanvasMiniMap nodes={graph.nodes} layout={layout} />
            </Panel>
          )}
        </ReactFlow>
      </ReactFlowProvider>
    </div>
  );
}
