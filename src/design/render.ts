import type { ExecutionPlan, WorkflowTopologySpec } from '../contracts/index.js';
import { OWN_CRITERIA } from './topology-builder.js';

/**
 * Text as Mermaid reads it inside a quoted label: its own entity codes for the characters that end or break a label
 * (`#quot;`, `#lt;`, ...), so nothing is deleted; `#` first, as it starts every code.
 */
export function mermaidText(s: string): string {
  return s
    .replace(/#/g, '#35;')
    .replace(/"/g, '#quot;')
    .replace(/</g, '#lt;')
    .replace(/>/g, '#gt;')
    .replace(/&/g, '#amp;')
    .replace(/`/g, '#96;')
    .replace(/[|]/g, '#124;')
    .replace(/\r?\n/g, ' ');
}

/**
 * The topology (with plan node types, when known) as a Mermaid `flowchart LR`. Node ids are Mermaid ids of their
 * own (`n0`, `n1`, ...: a node called `end`, `style` or `a-b` would otherwise break the chart); the real id is in the
 * label.
 */
export function toMermaid(topology: WorkflowTopologySpec, plan?: ExecutionPlan): string {
  const lines = ['flowchart LR'];
  const key = new Map(topology.nodes.map((n, i) => [n.id, `n${i}`]));
  const idOf = (id: string): string => {
    let k = key.get(id);
    if (k === undefined) key.set(id, (k = `n${key.size}`));
    return k;
  };
  for (const n of topology.nodes) {
    const type = plan?.execution_graph[n.id]?.type;
    const text = `${mermaidText(n.id)}: ${mermaidText(n.label)}<br/>${mermaidText(n.persona ?? '')} · θ ${mermaidText(n.theta_gt_band)}${type ? ` · ${type}` : ''}`;
    const id = idOf(n.id);
    lines.push(
      type === 'merge' ? `  ${id}{{"${text}"}}` : type === 'branch' ? `  ${id}[/"${text}"/]` : `  ${id}["${text}"]`,
    );
  }
  for (const e of topology.edges) {
    const [from, to] = [idOf(e.from), idOf(e.to)];
    if (e.max_iterations !== undefined) lines.push(`  ${from} -.->|"loop ≤${e.max_iterations}"| ${to}`);
    else if (e.type === 'hitl') lines.push(`  ${from} -.->|HITL| ${to}`);
    else lines.push(`  ${from} --> ${to}`);
  }
  for (const g of topology.execution_policy?.human_gate_nodes ?? [])
    lines.push(`  style ${idOf(g)} stroke-dasharray: 5 5`);
  return lines.join('\n');
}

/** A plain-text outline of the graph. */
export function toText(topology: WorkflowTopologySpec, plan?: ExecutionPlan): string {
  const lines = [
    `${topology.run_id}  ${topology.topology_type}  ${count(topology.nodes.length, 'node')}, ${count(topology.edges.length, 'edge')}`,
    `rationale: ${topology.selection_rationale ?? '-'}`,
    `  ${'NODE'.padEnd(8)} ${'KIND'.padEnd(7)} ${'BAND'.padEnd(9)} ${'PERSONA'.padEnd(7)} ${'OUTPUT'.padEnd(9)}  TASK  <- AFTER`,
  ];
  for (const n of topology.nodes) {
    const p = plan?.execution_graph[n.id];
    const parents = topology.edges.filter((e) => e.to === n.id && e.max_iterations === undefined).map((e) => e.from);
    lines.push(
      `  ${n.id.padEnd(8)} ${(p?.type ?? '').padEnd(7)} ${n.theta_gt_band.padEnd(9)} ${(n.persona ?? '').padEnd(7)} ${(n.explicit_output?.type ?? '').padEnd(9)}  ${n.label}${parents.length ? `  <- ${parents.join(', ')}` : ''}`,
    );
  }
  // What the goal asks of every step (its rules: "Use TypeScript", "Do not change the schema"): the criteria all of
  // its task nodes share beyond their own (OWN_CRITERIA).
  const [first, ...rest] = topology.nodes
    .filter((n) => (n.assigned_dqs ?? []).length > 0)
    .map((n) => n.explicit_output?.acceptance_criteria.slice(OWN_CRITERIA) ?? []);
  const shared = (first ?? []).filter((c) => rest.every((cs) => cs.includes(c)));
  if (shared.length > 0) lines.push(`every step: ${shared.join('; ')}`);
  return lines.join('\n');
}

const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
