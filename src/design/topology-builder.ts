import {
  SCHEMA_VERSION,
  THETA_RANGES,
  type OutputType,
  type Policy,
  type ThetaBand,
  type TopologyType,
  type WorkflowTopologySpec,
} from '../contracts/index.js';
import { assignPersona } from './personas.js';
import { adjacency, type GraphEdge } from './graph.js';
import { toLabel } from './text.js';

export type TaskRole = 'root' | 'item' | 'synthesis' | 'evaluate';

/** One unit of work before it becomes a topology node. */
export interface TaskSpec {
  readonly id: string;
  readonly text: string;
  /** A short label when the text is long or generic; by default the label is the text cut at 60 characters. */
  readonly label?: string | undefined;
  readonly role: TaskRole;
  readonly dq?: string | undefined;
  readonly persona?: string | undefined;
  readonly outputType?: OutputType | undefined;
  readonly band?: ThetaBand | undefined;
  readonly complexity?: 'low' | 'medium' | 'high' | undefined;
  readonly hints?: Record<string, unknown> | undefined;
  /** What the goal asks of every step ("Each step must include tests"): acceptance criteria of this task too. */
  readonly criteria?: readonly string[] | undefined;
}

export type Risk = 'low' | 'medium' | 'high';

const SECTIONS: Readonly<Record<OutputType, readonly string[]>> = {
  memo: ['Context', 'Findings', 'Open questions'],
  decision: ['Options', 'Decision', 'Rationale'],
  table: ['Criteria', 'Comparison'],
  list: ['Items'],
  report: ['Summary', 'Details', 'Next steps'],
  diagram: ['Diagram', 'Legend'],
  checklist: ['Checks', 'Result'],
  constraint_set: ['Constraints', 'Sources'],
  recommendation: ['Recommendation', 'Alternatives', 'Risks'],
  code: ['Changes', 'Tests'],
};

const BUILD_WORDS =
  /\b(implement|build|code|fix|refactor|migrate|add|create|write (?:[\w-]+ ){0,3}?(?:code|tests?)(?= |$|\b)|develop|ship)\b|구현|개발|수정|고쳐|고치|리팩터링|리팩토링|마이그레이션|추가하|추가해|추가$|만들어라|만들기|만들고|만든다|제작하/i;
/**
 * Writing for people to read as the work itself: "Add a README", "Update the docs", "README를 번역하라", "문서 작성"
 * (not "Implement the docs generator", whose object is code).
 */
const DOCS_WORDS =
  /^(?:add|update|write|publish|improve|extend|revise|translate|draft)\s+(?:the\s+|a\s+|an\s+|new\s+|our\s+)?(?:readme|docs|documentation|changelog|release notes|user guide|tutorial)\b|^(?:\S+\s+)?(?:문서|README|가이드|릴리스\s*노트)\S*\s+\S+$/i;
/** Finding something out: a report, even when what is studied is a build ("Investigate why the build is slow"). */
const RESEARCH_WORDS = /\b(investigate|diagnose|research|explore|find out)\b|조사|원인\s*파악/i;
const REVIEW_WORDS = /\b(review|verify|validate|test|check|audit|evaluate|assess)\b|검토|검증|평가|테스트/i;
const ANALYSIS_WORDS = /\b(analy[sz]e|compare|measure|benchmark|assess)\b|분석|비교|측정/i;

/** The output a task should produce, from its role, wording and persona. */
export function inferOutputType(task: Pick<TaskSpec, 'role' | 'text' | 'persona' | 'outputType'>): OutputType {
  if (task.outputType) return task.outputType;
  if (task.role === 'root') return 'memo';
  if (task.role === 'synthesis') return 'decision';
  if (task.role === 'evaluate') return 'checklist';
  // Writing for people ("Add a README", "Update the docs", "문서 작성") is a report, whatever its verb.
  if (DOCS_WORDS.test(task.text)) return 'report';
  // The verb that comes first names the work: "implement X and test it" is code, "review the implementation" a checklist.
  const at = (re: RegExp): number => task.text.search(re);
  const candidates = (
    [
      ['checklist', at(REVIEW_WORDS)],
      ['code', at(BUILD_WORDS)],
      ['table', at(ANALYSIS_WORDS)],
      ['report', at(RESEARCH_WORDS)],
    ] as const
  ).filter(([, i]) => i >= 0);
  const first = [...candidates].sort((a, b) => a[1] - b[1])[0];
  if (first) return first[0];
  if (task.persona === 'critic') return 'checklist';
  if (task.persona === 'lens') return 'table';
  if (task.persona === 'quill') return 'report';
  return 'memo';
}

function bandOf(task: TaskSpec, isSource: boolean, isSink: boolean, count: number): ThetaBand {
  if (task.band) return task.band;
  if (count === 1) return 'wide';
  if (task.role === 'synthesis' || task.role === 'evaluate') return 'narrow';
  if (task.role === 'root' || isSource) return 'wide';
  if (isSink) return 'narrow';
  return 'moderate';
}

/**
 * `n` equal weights summing to 1, each a whole number of units of 1/10,000 (finer when n > 10,000, so none is 0):
 * the units left over by the division go one each to the last weights, so no weight is ever negative.
 */
export function splitWeights(n: number): number[] {
  if (n <= 0) return [];
  const scale = 10 ** Math.max(4, Math.ceil(Math.log10(n)));
  const base = Math.floor(scale / n);
  const extra = scale - base * n;
  return Array.from({ length: n }, (_, i) => (base + (i >= n - extra ? 1 : 0)) / scale);
}

/** Everything a topology needs besides its graph. */
export interface BuildInput {
  readonly runId: string;
  readonly goal: string;
  readonly risk: Risk;
  readonly type: TopologyType;
  readonly tasks: readonly TaskSpec[];
  /** `hitl`: a person approves before the edge's target runs (a human gate on it, whatever the risk). */
  readonly edges: ReadonlyArray<GraphEdge & { readonly maxIterations?: number; readonly hitl?: boolean }>;
  readonly policy: Pick<Policy, 'personas' | 'design'>;
  readonly at: string;
  readonly rationale: string;
  readonly source: string;
  readonly planner: Record<string, unknown>;
}

/** How many acceptance criteria a task node has of its own (what it answers, how it is checked), before the goal's rules. */
export const OWN_CRITERIA = 2;

/**
 * Builds a complete topology spec from tasks and edges: DQs and weights (`rsv_total` = Σ DQ weight, each item
 * node's `rsv_target` its DQ's weight), θ bands by position, explicit outputs with required sections, acceptance
 * criteria and an output file, loop risks, hand-off strategy, execution policy and human gates by risk.
 */
export function buildTopology(input: BuildInput): WorkflowTopologySpec {
  const ids = input.tasks.map((t) => t.id);
  const { parents, children } = adjacency(ids, input.edges);
  const dqTasks = input.tasks.filter((t) => t.dq !== undefined);
  const weights = splitWeights(dqTasks.length);
  const questions = dqTasks.map((t, i) => ({ id: t.dq as string, question: t.text, weight: weights[i] ?? 0 }));
  const weightOf = new Map(questions.map((q) => [q.id, q.weight]));
  const nodes = input.tasks.map((t) => {
    const persona = t.persona ?? assignPersona(t.text, input.policy).persona;
    const isSource = (parents.get(t.id) ?? []).length === 0;
    const isSink = (children.get(t.id) ?? []).length === 0;
    const band = bandOf(t, isSource, isSink, input.tasks.length);
    const type = inferOutputType({ ...t, persona });
    const range = THETA_RANGES[band];
    const dqs = t.dq ? [t.dq] : [];
    return {
      id: t.id,
      label: toLabel(t.label ?? t.text),
      description: t.text,
      theta_gt_band: band,
      theta_gt_range: { ...range },
      semantic_entropy_expected: Math.round(((range.min + range.max) / 2) * 100) / 100,
      rsv_target: t.dq ? (weightOf.get(t.dq) ?? 0) : 0,
      assigned_dqs: dqs,
      stop_condition: dqs.length
        ? `${dqs.join(', ')} closed with evidence OR redundancy detected`
        : 'inputs from all parents consolidated',
      explicit_output: {
        type,
        required_sections: [...SECTIONS[type]],
        // OWN_CRITERIA of its own first, then the goal's rules for every step.
        acceptance_criteria: [
          ...(dqs.length
            ? [`answers ${dqs[0]}: ${toLabel(t.text)}`]
            : [`consolidates ${(parents.get(t.id) ?? []).join(', ') || 'the goal'}`]),
          ...(type === 'code'
            ? ['the change is committed and the node gates pass']
            : [`every required section (${SECTIONS[type].join(', ')}) is present`]),
          ...(t.criteria ?? []),
        ],
        required_files: type === 'code' ? [] : [`outputs/${t.id}.md`],
      },
      persona,
      ...(t.hints ?? {}),
    };
  });
  const edges = input.edges.map((e) => ({
    from: e.from,
    to: e.to,
    type: e.back ? ('control' as const) : e.hitl ? ('hitl' as const) : ('data' as const),
    ...(e.back ? { max_iterations: e.maxIterations ?? input.policy.design.max_iterations } : {}),
  }));
  const merges = ids.filter((id) => (parents.get(id) ?? []).length >= 2);
  const branches = ids.filter((id) => (children.get(id) ?? []).length >= 2);
  const decisions = nodes.filter((n) => n.theta_gt_band === 'narrow').map((n) => n.id);
  const risks: WorkflowTopologySpec['loop_risk_assessment'] = [];
  if (input.tasks.length > 1 && branches.length === 0 && merges.length === 0) {
    risks.push({
      loop_type: 'redundancy_accumulation',
      where: 'sequential nodes',
      risk: 'low',
      mitigation: ['each node states what it adds over its parent', 'stop when a DQ closes'],
    });
  }
  if (branches.length > 0) {
    risks.push({
      loop_type: 'exploration_spiral',
      where: `parallel branches from ${branches.join(', ')}`,
      risk: 'med',
      mitigation: ['at most 5 axes per branch', 'each branch answers its own DQ only'],
    });
  }
  if (merges.length > 0) {
    risks.push({
      loop_type: 'rsv_inflation',
      where: `convergence at ${merges.join(', ')}`,
      risk: 'med',
      mitigation: ['merge by the scoring weights', 'drop findings no DQ needs'],
    });
  }
  if (input.edges.some((e) => e.back)) {
    risks.push({
      loop_type: 'infinite_loop',
      where: 'loop back-edge',
      risk: 'high',
      mitigation: [
        `bounded by max_iterations (${input.policy.design.max_iterations})`,
        'stop when the evaluation passes',
      ],
    });
    risks.push({
      loop_type: 'human_deferral_loop',
      where: 'evaluation node',
      risk: 'med',
      mitigation: ['decide from evidence; escalate once, not per iteration'],
    });
  }
  // High risk gates the decision nodes; a `hitl` edge gates its target at any risk.
  const gated = new Set([
    ...(input.risk === 'high' ? decisions : []),
    ...input.edges.filter((e) => e.hitl && !e.back).map((e) => e.to),
  ]);
  const gates = ids.filter((id) => gated.has(id));
  return {
    run_id: input.runId,
    topology_type: input.type,
    nodes,
    edges,
    rsv_total: Math.round(questions.reduce((s, q) => s + q.weight, 0) * 1e4) / 1e4,
    strategy_gate: input.risk === 'high',
    selection_rationale: input.rationale,
    decision_questions: questions,
    loop_risk_assessment: risks,
    handoff_strategy: {
      handoff_points: [...new Set([...branches, ...merges])],
      minimize_context_loss_rules: [
        'hand off a decidable structure (decision memo, constraint list, DQ status), not a prose summary',
        'every hand-off names the parent outputs it consumed by path and hash',
      ],
    },
    execution_policy: {
      continue_reframe_stop_rules: [
        'CONTINUE: a new DQ closed since the last iteration',
        'REFRAME: no new DQ closed for 2 consecutive iterations',
        'STOP: all assigned DQs closed OR rsv_accumulated >= rsv_total',
        ...(input.risk === 'high'
          ? ['STOP: strategy gate reached — a person approves before the decision nodes run']
          : []),
      ],
      human_gate_nodes: gates,
    },
    metadata: {
      schema_version: SCHEMA_VERSION,
      created_at: input.at,
      source: input.source,
      goal_preview: input.goal.slice(0, 480).replace(/\s+/g, ' ').slice(0, 120),
      risk: input.risk,
      planner: input.planner,
    },
  };
}
