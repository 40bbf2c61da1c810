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

/** Positions of the nodes, laid out once per topology (not on every state change). */
function useLayout(nodes: readonly GraphNode[], edges: RunGraph['edges']): Map<string, { x: number; y: number }> {
  const key = `${nodes.map((n) => n.id).join(',')}|${edges.map((e) => `${e.from}>${e.to}`).join(',')}`;
  return useMemo(() => {
    const g = new Graph();
    g.setGraph({ rankdir: 'TB', nodesep: 36, ranksep: 64, marginx: 20, marginy: 20 });
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

export function DagView(props: {
  graph: RunGraph;
  selected: string | null;
  onSelect(id: string | null): void;
}): React.JSX.Element {
  const { graph, selected, onSelect } = props;
  const pos = useLayout(graph.nodes, graph.edges);
  const byId = useMemo(() => new Map(graph.nodes.map((n) => [n.id, n])), [graph.nodes]);
  const nodes: FlowNode[] = graph.nodes.map((n) => ({
    id: n.id,
    type: 'mso',
    position: pos.get(n.id) ?? { x: 0, y: 0 },
    data: { n, selected: n.id === selected },
    width: W,
    height: H,
    draggable: false,
    connectable: false,
  }));
  const edges: Edge[] = graph.edges.map((e) => {
    const target = byId.get(e.to);
    const source = byId.get(e.from);
    return {
      id: `${e.from}>${e.to}`,
      source: e.from,
      target: e.to,
      animated: target?.state === 'running',
      className: source?.state === 'done' ? 'edge-done' : source?.state === 'failed' ? 'edge-failed' : '',
    };
  });
  const many = graph.nodes.length > 300;
  return (
    <div className="dag">
      <ReactFlowProvider>
        <FitOnResize />
        <ReactFlow
          nodes={nodes}
          edges={edges}
          nodeTypes={nodeTypes}
          fitView
          fitViewOptions={{ padding: 0.15, maxZoom: 1.2 }}
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
        </ReactFlow>
      </ReactFlowProvider>
    </div>
  );
}
