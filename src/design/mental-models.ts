import {
  SCHEMA_VERSION,
  THETA_RANGES,
  type LocalChart,
  type MentalModelBundle,
  type ThetaBand,
  type WorkflowTopologySpec,
} from '../contracts/index.js';
import { adjacency } from './graph.js';
import { MENTAL_MODELS, type MentalModel, type Position } from './mental-model-library.js';

/** A node's position in the graph, for model fit. */
export function positionOf(
  id: string,
  parents: ReadonlyMap<string, string[]>,
  children: ReadonlyMap<string, string[]>,
  total: number,
): Position {
  if (total === 1) return 'single';
  const p = parents.get(id)?.length ?? 0;
  const c = children.get(id)?.length ?? 0;
  if (p >= 2) return 'merge';
  if (p === 0) return 'root';
  if (c === 0) return 'leaf';
  const parent = parents.get(id)?.[0];
  if (parent && (children.get(parent)?.length ?? 0) >= 2) return 'branch';
  return 'inner';
}

/** The best model for a node and why (band 3, output 3, position 2, persona 2 points; library order breaks ties). */
export function chooseModel(node: { band: ThetaBand; output: string; position: Position; persona: string }): {
  model: MentalModel;
  reasons: string[];
  score: number;
} {
  let best: { model: MentalModel; reasons: string[]; score: number } | null = null;
  for (const m of MENTAL_MODELS) {
    const reasons: string[] = [];
    let score = 0;
    const fits: Array<[boolean, number, string]> = [
      [m.bands.includes(node.band), 3, `band ${node.band}`],
      [(m.outputs as readonly string[]).includes(node.output), 3, `output ${node.output}`],
      [m.positions.includes(node.position), 2, `position ${node.position}`],
      [m.personas.includes(node.persona), 2, `persona ${node.persona}`],
    ];
    for (const [fit, points, reason] of fits) {
      if (!fit) continue;
      score += points;
      reasons.push(reason);
    }
    if (!best || score > best.score) best = { model: m, reasons, score };
  }
  return best as { model: MentalModel; reasons: string[]; score: number };
}

const CONVERGENT = new Set(['decision', 'checklist', 'constraint_set', 'recommendation']);

/**
 * Assigns a mental model to every topology node and writes the bundle: one chart per node with guidance, checkpoints
 * and failure signals, the reason for the choice, and `topology_feedback` where band and output disagree (a wide
 * node that must output a decision, a merge left wide, a narrow root exploring).
 */
export function buildBundle(topology: WorkflowTopologySpec, at: string): MentalModelBundle {
  const ids = topology.nodes.map((n) => n.id);
  const { parents, children } = adjacency(
    ids,
    topology.edges.map((e) => ({ from: e.from, to: e.to, back: e.max_iterations !== undefined })),
  );
  const charts: LocalChart[] = [];
  const map: Record<string, string[]> = {};
  const feedback: MentalModelBundle['topology_feedback'] = [];
  for (const n of topology.nodes) {
    const output = n.explicit_output?.type ?? 'memo';
    const persona = n.persona ?? 'arch';
    const position = positionOf(n.id, parents, children, ids.length);
    const { model, reasons } = chooseModel({ band: n.theta_gt_band, output, position, persona });
    const id = `chart_${n.id}_1`;
    const range = n.theta_gt_range ?? THETA_RANGES[n.theta_gt_band];
    charts.push({
      id,
      name: model.name,
      type: model.id,
      model_id: model.id,
      owner: 'mental-model-design',
      theta_gt_band: n.theta_gt_band,
      theta_gt_range: { min: range.min, max: range.max },
      semantic_entropy_expected: n.semantic_entropy_expected ?? Math.round(((range.min + range.max) / 2) * 100) / 100,
      gt_angle_policy: 'inherit',
      guidance: model.guidance,
      checkpoints: [
        { stage: 'preflight', criteria: [...model.checkpoints.preflight] },
        { stage: 'pre_h1', criteria: [...model.checkpoints.pre_h1] },
        { stage: 'pre_h2', criteria: [...model.checkpoints.pre_h2] },
      ],
      failure_signals: [...model.failureSignals],
      rationale: `${model.name} for ${n.id}: ${reasons.join(', ') || 'closest available model'}`,
    });
    map[n.id] = [id];
    if (n.theta_gt_band === 'wide' && CONVERGENT.has(output)) {
      feedback.push({
        node_id: n.id,
        issue: `band wide but output ${output} needs convergent reasoning`,
        suggestion: 'set theta_gt_band narrow',
        band: 'narrow',
      });
    } else if (position === 'merge' && n.theta_gt_band === 'wide') {
      feedback.push({
        node_id: n.id,
        issue: 'a merge node left wide invites new exploration instead of convergence',
        suggestion: 'set theta_gt_band narrow',
        band: 'narrow',
      });
    } else if (position === 'root' && n.theta_gt_band === 'narrow' && ids.length > 1 && !CONVERGENT.has(output)) {
      feedback.push({
        node_id: n.id,
        issue: `a narrow root with output ${output} closes the question before it is explored`,
        suggestion: 'set theta_gt_band wide',
        band: 'wide',
      });
    }
  }
  return {
    run_id: topology.run_id,
    domain: 'General',
    bundle_ref: `bundle-${topology.run_id}`,
    core_axioms: ['traceable output first', 'small state transitions', 'done is shown by evidence, not claimed'],
    local_charts: charts,
    node_chart_map: map,
    output_contract: { format: 'execution_plan_ready', min_fields: ['bundle_ref', 'node_chart_map', 'local_charts'] },
    execution_checkpoints: {
      stage: topology.strategy_gate ? 'pre_h2' : 'preflight',
      criteria: [
        'node coverage: every node has a chart',
        'chart coverage: every chart is used',
        'checkpoint readiness',
      ],
    },
    module_index: MENTAL_MODELS.map((m) => m.id),
    loading_policy: 'on_demand',
    gt_angle_config: { default_policy: 'inherit' },
    topology_feedback: feedback,
    metadata: {
      schema_version: SCHEMA_VERSION,
      created_at: at,
      generated_by: 'mso design mental-model',
      source_topology: topology.topology_type,
    },
  };
}

/** Applies the bundle's topology feedback (band changes) to the topology; returns the new topology and what changed. */
export function applyFeedback(
  topology: WorkflowTopologySpec,
  bundle: MentalModelBundle,
): { topology: WorkflowTopologySpec; applied: string[] } {
  const applied: string[] = [];
  const nodes = topology.nodes.map((n) => {
    const f = bundle.topology_feedback.find((x) => x.node_id === n.id);
    const band = (f as { band?: ThetaBand } | undefined)?.band;
    if (!band || band === n.theta_gt_band) return n;
    applied.push(`${n.id}: ${n.theta_gt_band} -> ${band} (${f?.issue})`);
    const range = THETA_RANGES[band];
    return {
      ...n,
      theta_gt_band: band,
      theta_gt_range: { ...range },
      semantic_entropy_expected: Math.round(((range.min + range.max) / 2) * 100) / 100,
    };
  });
  return { topology: { ...topology, nodes }, applied };
}
