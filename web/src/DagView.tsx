import { Graph, layout } from '@dagrejs/dagre';
import {
  Background,
  Controls,
  Handle,
  MiniMap,
  Position,
  ReactFlow,
  type Edge,
  type Node,
  type NodeProps,
} from '@xyflow/react';
import { memo, useMemo } from 'react';
import { usd } from './format.js';
import type { GraphNode, RunGraph } from '../../src/contracts/dashboard.js';

const W = 210;
const H = 74;

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
        <span className="dn-type" title={n.type}>
          {n.type === 'merge' ? '⑃' : n.type === 'branch' ? '⑂' : '●'}
        </span>
        <span className="dn-label" title={n.label}>
          {n.label}
        </span>
        {n.waiting_on_human && (
          <span className="dn-human" title="waiting for a person">
            ✋
          </span>
        )}
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
        {!many && <MiniMap pannable zoomable nodeClassName={(n) => `mm-${(n as FlowNode).data.n.state}`} />}
      </ReactFlow>
    </div>
  );
}
