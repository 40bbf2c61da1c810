import {
  AuditPayloadSchema,
  CollaborationResultSchema,
  ExecutionPlanSchema,
  MentalModelBundleSchema,
  ObservabilityCallbackSchema,
  RunManifestSchema,
  TicketFrontmatterSchema,
  WorkflowTopologySpecSchema,
  toFieldIssues,
  type ExecutionPlan,
  type MentalModelBundle,
  type WorkflowTopologySpec,
} from '../contracts/index.js';
import { adjacency, describeCycle, leavesWorktree } from '../design/index.js';
import type { z } from 'zod';
import type { Finding, LoadedArtifact, RunArtifacts } from './findings.js';

function schemaFindings(kind: string, schema: z.ZodType, a: LoadedArtifact | undefined): Finding[] {
  if (!a) return [];
  if (a.parseError)
    return [
      { check: 'schemas', rule: `schema:${kind}`, level: 'error', file: a.file, path: '(root)', message: a.parseError },
    ];
  const r = schema.safeParse(a.raw);
  if (r.success) return [];
  return toFieldIssues(r.error, a.raw).map((i) => ({
    check: 'schemas' as const,
    rule: `schema:${kind}`,
    level: 'error' as const,
    file: a.file,
    path: i.path,
    message: i.message,
  }));
}

/** Validates every artifact present in the run against its schema (not "the last index line"). */
export function checkSchemas(run: RunArtifacts): Finding[] {
  return [
    ...schemaFindings('manifest', RunManifestSchema, run.manifest),
    ...schemaFindings('topology', WorkflowTopologySpecSchema, run.topology),
    ...schemaFindings('mental-model', MentalModelBundleSchema, run.bundle),
    ...schemaFindings('execution-plan', ExecutionPlanSchema, run.plan),
    ...run.tickets.flatMap((t) => schemaFindings('ticket', TicketFrontmatterSchema, t)),
    ...run.collaborations.flatMap((c) => schemaFindings('collaboration', CollaborationResultSchema, c)),
    ...run.callbacks.flatMap((c) => schemaFindings('callback', ObservabilityCallbackSchema, c)),
    ...run.auditPayloads.flatMap((p) => schemaFindings('audit-payload', AuditPayloadSchema, p)),
  ];
}

const parsed = <T>(schema: z.ZodType<T>, a: LoadedArtifact | undefined): T | undefined => {
  if (!a || a.parseError) return undefined;
  const r = schema.safeParse(a.raw);
  return r.success ? r.data : undefined;
};
const obj = (a: LoadedArtifact | undefined): Record<string, unknown> =>
  a && !a.parseError && typeof a.raw === 'object' && a.raw !== null ? (a.raw as Record<string, unknown>) : {};

const PHASE_NEEDS: ReadonlyArray<readonly [string, string, keyof RunArtifacts, string]> = [
  ['20_mental-model', 'CC-01', 'topology', '10_topology/workflow_topology_spec.json'],
  ['30_execution', 'CC-01', 'topology', '10_topology/workflow_topology_spec.json'],
  ['30_execution', 'CC-02', 'bundle', '20_mental-model/mental_model_bundle.json'],
  ['40_collaboration', 'CC-06', 'plan', '30_execution/execution_plan.json'],
];

/** Findings of one check, and `add` to record one (an error unless told it is a warning). */
function collector(check: Finding['check']): {
  out: Finding[];
  add: (rule: string, message: string, file?: string, path?: string, level?: Finding['level']) => void;
} {
  const out: Finding[] = [];
  return {
    out,
    add: (rule, message, file, path, level = 'error') => {
      out.push({ check, rule, level, message, file, path });
    },
  };
}

/** CC-01..CC-06 checked semantically, plus producers missing once their consumer stage started. */
export function checkContracts(run: RunArtifacts): Finding[] {
  const { out, add } = collector('contracts');
  const need = (rule: string, a: LoadedArtifact | undefined, keys: readonly string[]): void => {
    if (!a || a.parseError) return;
    for (const k of keys) if (!(k in obj(a))) add(rule, `required output key ${k} is missing`, a.file, k);
  };
  // Read phases from the raw manifest: a manifest with schema problems is reported by the schema check, not skipped here.
  const phases = (obj(run.manifest)['phases'] ?? {}) as Record<string, { status?: string } | undefined>;
  for (const [phase, rule, key, rel] of PHASE_NEEDS) {
    const status = phases[phase]?.status;
    if ((status === 'active' || status === 'completed') && !run[key])
      add(rule, `${phase} has started but its producer artifact ${rel} is missing`, rel);
  }
  if (run.plan && !run.topology)
    add('CC-01', 'the execution plan exists but the topology it must come from is missing', run.plan.file);
  if (run.plan && !run.bundle)
    add('CC-02', 'the execution plan exists but the mental model bundle it must come from is missing', run.plan.file);

  need('CC-01', run.topology, ['run_id', 'nodes', 'edges', 'topology_type', 'rsv_total']);
  need('CC-02', run.bundle, ['run_id', 'node_chart_map', 'local_charts', 'output_contract', 'bundle_ref']);
  need('CC-06', run.plan, ['run_id', 'execution_graph', 'fallback_rules']);
  const topology = parsed<WorkflowTopologySpec>(WorkflowTopologySpecSchema, run.topology);
  const bundle = parsed<MentalModelBundle>(MentalModelBundleSchema, run.bundle);
  const plan = parsed<ExecutionPlan>(ExecutionPlanSchema, run.plan);
  for (const [a, v] of [
    [run.topology, topology],
    [run.bundle, bundle],
    [run.plan, plan],
  ] as const) {
    if (a && v && v.run_id !== run.runId)
      add(
        a === run.topology ? 'CC-01' : a === run.bundle ? 'CC-02' : 'CC-06',
        `run_id ${v.run_id} is not this run (${run.runId})`,
        a.file,
        'run_id',
      );
  }
  const topoIds = new Set(topology?.nodes.map((n) => n.id) ?? []);
  if (topology && plan) {
    for (const id of Object.keys(plan.execution_graph))
      if (!topoIds.has(id))
        add('CC-01', `plan node ${id} is not a topology node`, run.plan?.file, `execution_graph.${id}`);
    for (const id of topoIds)
      if (!(id in plan.execution_graph))
        add('CC-01', `topology node ${id} has no plan node`, run.plan?.file, 'execution_graph');
  }
  if (topology && bundle) {
    const chartIds = new Set(bundle.local_charts.map((c) => c.id));
    for (const id of topoIds) {
      if (!bundle.node_chart_map[id]?.length)
        add('CC-02', `topology node ${id} has no chart in node_chart_map`, run.bundle?.file, `node_chart_map.${id}`);
    }
    for (const [node, charts] of Object.entries(bundle.node_chart_map)) {
      for (const c of charts)
        if (!chartIds.has(c))
          add(
            'CC-02',
            `node_chart_map.${node} names chart ${c}, which local_charts lacks`,
            run.bundle?.file,
            `node_chart_map.${node}`,
          );
    }
    if (plan) {
      if (plan.bundle_ref !== bundle.bundle_ref)
        add(
          'CC-02',
          `plan bundle_ref ${plan.bundle_ref} is not the bundle's ${bundle.bundle_ref}`,
          run.plan?.file,
          'bundle_ref',
        );
      for (const [id, n] of Object.entries(plan.execution_graph)) {
        for (const c of n.chart_ids)
          if (!chartIds.has(c))
            add(
              'CC-02',
              `plan node ${id} uses chart ${c}, which the bundle lacks`,
              run.plan?.file,
              `execution_graph.${id}.chart_ids`,
            );
      }
    }
  }
  const ticketIds = new Set(run.tickets.map((t) => String(obj(t)['id'] ?? '')));
  for (const t of run.tickets) {
    const fm = obj(t);
    for (const k of ['id', 'status', 'task_context_id', 'owner', 'due_by', 'dependencies', 'tags'])
      if (!(k in fm)) add('CC-03', `ticket frontmatter lacks ${k}`, t.file, k);
    const deps = Array.isArray(fm['dependencies']) ? (fm['dependencies'] as unknown[]) : [];
    deps.forEach((d, i) => {
      if (!ticketIds.has(String(d)))
        add('CC-03', `dependency ${String(d)} is not a ticket of this run`, t.file, `dependencies[${i}]`);
    });
  }
  for (const c of run.collaborations) {
    const v = obj(c);
    for (const k of ['dispatch_mode', 'handoff_payload', 'requires_manual_confirmation', 'fallback_reason'])
      if (!(k in v)) add('CC-04', `collaboration result lacks ${k}`, c.file, k);
    const hp = (v['handoff_payload'] ?? {}) as Record<string, unknown>;
    if (hp['run_id'] !== undefined && hp['run_id'] !== run.runId)
      add('CC-04', `handoff_payload.run_id ${String(hp['run_id'])} is not this run`, c.file, 'handoff_payload.run_id');
  }
  for (const p of run.auditPayloads) {
    const v = obj(p);
    for (const k of ['run_id', 'artifact_uri', 'status', 'errors', 'warnings', 'next_actions', 'metadata'])
      if (!(k in v)) add('CC-05', `audit payload lacks ${k}`, p.file, k);
  }
  if (plan) {
    for (const [id, n] of Object.entries(plan.execution_graph)) {
      for (const p of n.parent_refs)
        if (!(p in plan.execution_graph))
          add(
            'CC-06',
            `node ${id} names unknown parent ${p}; it cannot be recorded as a snapshot`,
            run.plan?.file,
            `execution_graph.${id}.parent_refs`,
          );
    }
  }
  return out;
}

/** Graph structure: acyclic, known endpoints, orphans, parent cardinality and node types, merge weights and quorum, RSV. */
export function checkStructure(run: RunArtifacts): Finding[] {
  const { out, add } = collector('structure');
  const topology = parsed<WorkflowTopologySpec>(WorkflowTopologySpecSchema, run.topology);
  const plan = parsed<ExecutionPlan>(ExecutionPlanSchema, run.plan);
  if (topology) {
    const file = run.topology?.file;
    const ids = topology.nodes.map((n) => n.id);
    ids.forEach((id, i) => {
      if (ids.indexOf(id) !== i) add('unique-ids', `duplicate node id ${id}`, file, `nodes[${i}].id`);
    });
    topology.edges.forEach((e, i) => {
      if (!ids.includes(e.from)) add('known-endpoints', `edge from unknown node ${e.from}`, file, `edges[${i}].from`);
      if (!ids.includes(e.to)) add('known-endpoints', `edge to unknown node ${e.to}`, file, `edges[${i}].to`);
    });
    const forward = topology.edges.map((e) => ({ from: e.from, to: e.to, back: e.max_iterations !== undefined }));
    const cycle = describeCycle(ids, forward);
    if (cycle) add('acyclic', `cycle ${cycle} (only back-edges with max_iterations may close a loop)`, file, 'edges');
    if (ids.length > 1) {
      for (const id of ids)
        if (!topology.edges.some((e) => e.from === id || e.to === id))
          add('orphans', `node ${id} has no edges`, file, `nodes[${ids.indexOf(id)}]`, 'warning');
    }
    for (const g of topology.execution_policy?.human_gate_nodes ?? [])
      if (!ids.includes(g))
        add('known-endpoints', `human gate node ${g} is not a node`, file, 'execution_policy.human_gate_nodes');
    const dqSum = topology.decision_questions.reduce((s, q) => s + q.weight, 0);
    if (topology.decision_questions.length > 0 && Math.abs(dqSum - topology.rsv_total) > 0.01)
      add(
        'rsv-total',
        `rsv_total ${topology.rsv_total} is not the sum of DQ weights (${dqSum.toFixed(4)})`,
        file,
        'rsv_total',
      );
    const targetSum = topology.nodes.reduce((s, n) => s + (n.rsv_target ?? 0), 0);
    if (topology.rsv_total > 0 && Math.abs(targetSum - topology.rsv_total) > topology.rsv_total * 0.1) {
      add(
        'rsv-targets',
        `Σ rsv_target ${targetSum.toFixed(4)} is more than 10% away from rsv_total ${topology.rsv_total}`,
        file,
        'nodes',
        'warning',
      );
    }
    topology.nodes.forEach((n, i) => {
      (n.explicit_output?.required_files ?? []).forEach((f, j) => {
        if (leavesWorktree(f))
          add(
            'safe-paths',
            `required file ${f} would leave the worktree`,
            file,
            `nodes[${i}].explicit_output.required_files[${j}]`,
          );
      });
    });
    if (plan) {
      const pfile = run.plan?.file;
      const { parents, children } = adjacency(ids, forward);
      for (const [id, n] of Object.entries(plan.execution_graph)) {
        const ps = parents.get(id) ?? [];
        const expected =
          ps.length >= 2
            ? 'merge'
            : ps.length === 1 && (children.get(ps[0] as string)?.length ?? 0) >= 2
              ? 'branch'
              : 'commit';
        if (ids.includes(id) && n.type !== expected)
          add(
            'node-type',
            `node ${id} is ${n.type} but its edges make it ${expected}`,
            pfile,
            `execution_graph.${id}.type`,
          );
        if (n.type === 'merge' && n.parent_refs.length < 2)
          add(
            'parent-cardinality',
            `merge node ${id} has ${n.parent_refs.length} parent(s); it needs at least 2`,
            pfile,
            `execution_graph.${id}.parent_refs`,
          );
        if (n.type === 'branch' && n.parent_refs.length !== 1)
          add(
            'parent-cardinality',
            `branch node ${id} has ${n.parent_refs.length} parents; it needs exactly 1`,
            pfile,
            `execution_graph.${id}.parent_refs`,
          );
        if (n.type === 'commit' && n.parent_refs.length > 1)
          add(
            'parent-cardinality',
            `commit node ${id} has ${n.parent_refs.length} parents; at most 1`,
            pfile,
            `execution_graph.${id}.parent_refs`,
          );
        if (ids.includes(id) && [...n.parent_refs].sort().join(',') !== [...ps].sort().join(','))
          add(
            'parent-refs',
            `node ${id} parent_refs ${n.parent_refs.join(',') || '(none)'} differ from its edges (${ps.join(',') || 'none'})`,
            pfile,
            `execution_graph.${id}.parent_refs`,
          );
        if (n.type === 'merge') {
          const mp = n.merge_policy;
          if (!mp)
            add('merge-policy', `merge node ${id} has no merge_policy`, pfile, `execution_graph.${id}.merge_policy`);
          else {
            const sum = Object.values(mp.scoring_weights).reduce((s, v) => s + v, 0);
            if (Math.abs(sum - 1) > 0.001)
              add(
                'weights-sum',
                `merge node ${id} scoring weights sum to ${sum.toFixed(4)}, not 1`,
                pfile,
                `execution_graph.${id}.merge_policy.scoring_weights`,
              );
            if (mp.quorum === undefined)
              add(
                'quorum',
                `merge node ${id} has no explicit quorum`,
                pfile,
                `execution_graph.${id}.merge_policy.quorum`,
              );
            else if (mp.quorum > n.parent_refs.length)
              add(
                'quorum',
                `merge node ${id} quorum ${mp.quorum} exceeds its ${n.parent_refs.length} parents`,
                pfile,
                `execution_graph.${id}.merge_policy.quorum`,
              );
          }
        }
      }
    }
  }
  return out;
}
