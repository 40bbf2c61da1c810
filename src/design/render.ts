import type { ExecutionPlan, WorkflowTopologySpec } from '../contracts/index.js';

const safe = (s: string): string => s.replace(/["\n]/g, ' ').replace(/[<>]/g, '');

/** The topology (with plan node types, when known) as a Mermaid `flowchart LR`. */
export function toMermaid(topology: WorkflowTopologySpec, plan?: ExecutionPlan): string {
  const lines = ['flowchart LR'];
  for (const n of topology.nodes) {
    const type = plan?.execution_graph[n.id]?.type;
    const text = `${n.id}: ${safe(n.label)}<br/>${n.persona ?? ''} · θ ${n.theta_gt_band}${type ? ` · ${type}` : ''}`;
    lines.push(
      type === 'merge'
        ? `  ${n.id}{{"${text}"}}`
        : type === 'branch'
          ? `  ${n.id}[/"${text}"/]`
          : `  ${n.id}["${text}"]`,
    );
  }
  for (const e of topology.edges) {
    if (e.max_iterations !== undefined) lines.push(`  ${e.from} -.->|"loop ≤${e.max_iterations}"| ${e.to}`);
    else if (e.type === 'hitl') lines.push(`  ${e.from} -.->|HITL| ${e.to}`);
    else lines.push(`  ${e.from} --> ${e.to}`);
  }
  for (const g of topology.execution_policy?.human_gate_nodes ?? []) lines.push(`  style ${g} stroke-dasharray: 5 5`);
  return lines.join('\n');
}

/** A plain-text outline of the graph. */
export function toText(topology: WorkflowTopologySpec, plan?: ExecutionPlan): string {
  const lines = [
    `${topology.run_id}  ${topology.topology_type}  ${topology.nodes.length} nodes, ${topology.edges.length} edges`,
    `rationale: ${topology.selection_rationale ?? '-'}`,
  ];
  for (const n of topology.nodes) {
    const p = plan?.execution_graph[n.id];
    const parents = topology.edges.filter((e) => e.to === n.id && e.max_iterations === undefined).map((e) => e.from);
    lines.push(
      `  ${n.id.padEnd(8)} ${(p?.type ?? '').padEnd(7)} ${n.theta_gt_band.padEnd(9)} ${(n.persona ?? '').padEnd(7)} ${n.explicit_output?.type ?? ''}  ${n.label}${parents.length ? `  <- ${parents.join(', ')}` : ''}`,
    );
  }
  return lines.join('\n');
}
