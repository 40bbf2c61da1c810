import type { Policy, TopologyType, WorkflowTopologySpec } from '../contracts/index.js';
import type { GraphEdge } from './graph.js';
import { keywordScore, splitGoal, toLabel } from './text.js';
import { buildTopology, type Risk, type TaskSpec } from './topology-builder.js';

/** Signals for each topology type, in English and Korean (matched as whole words / word prefixes). */
const SIGNALS: ReadonlyArray<readonly [TopologyType, readonly string[]]> = [
  [
    'loop',
    [
      'iterate',
      'iterative',
      'iteratively',
      'refine',
      'repeat',
      'repeatedly',
      'until',
      'loop',
      'improve iteratively',
      'polish',
      '반복',
      '루프',
      '개선',
      '개량',
      '다듬',
    ],
  ],
  [
    'fan_in',
    [
      'combine',
      'merge',
      'synthesize',
      'synthesise',
      'consolidate',
      'integrate',
      'aggregate',
      'summarize',
      'summarise',
      'unify',
      '합치',
      '통합',
      '요약',
      '종합',
      '취합',
    ],
  ],
  [
    'fan_out',
    [
      'compare',
      'alternatives',
      'options',
      'parallel',
      'in parallel',
      'each',
      'multiple',
      'brainstorm',
      'explore',
      'variants',
      'candidates',
      '비교',
      '병렬',
      '동시',
      '각각',
      '대안',
      '분기',
      '여러',
    ],
  ],
  [
    'dag',
    [
      'depends on',
      'dependency',
      'dependencies',
      'prerequisite',
      'requires',
      'pipeline',
      'stages',
      'both',
      '의존',
      '선행',
      '단계별',
    ],
  ],
];

/** The topology type a goal signals, with the rationale; ties go to the earlier type above, none to linear. */
export function inferTopologyType(goal: string, itemCount: number): { type: TopologyType; rationale: string } {
  let best: { type: TopologyType; score: number; matched: string[] } | null = null;
  for (const [type, words] of SIGNALS) {
    const { score, matched } = keywordScore(goal, words);
    if (score > 0 && (best === null || score > best.score)) best = { type, score, matched };
  }
  if (best) return { type: best.type, rationale: `${best.type}: goal signals ${best.matched.join(', ')}` };
  if (itemCount >= 5)
    return {
      type: 'dag',
      rationale: `dag: ${itemCount} decision questions and no ordering signal — split into parallel lanes`,
    };
  return { type: 'linear', rationale: `linear: ${itemCount} decision question(s) and no branching signal` };
}

const ANGLES = ['Feasibility and constraints', 'Cost and risk', 'Impact on users and maintainers'];
const KO_ANGLES = ['실현 가능성과 제약', '비용과 위험', '사용자와 유지보수 영향'];

function items(goal: string, type: TopologyType): string[] {
  const { items: found } = splitGoal(goal);
  const base = found.length > 0 ? found : [goal.trim()];
  const korean = /[\uac00-\ud7a3]/.test(goal);
  if (base.length === 1 && (type === 'fan_out' || type === 'fan_in')) {
    const subject = base[0] as string;
    // The angle comes first so labels, cut at 60 characters, stay distinct.
    return (korean ? KO_ANGLES : ANGLES).map((a) => `${a}: ${subject}`);
  }
  return base.slice(0, 8);
}

/**
 * The offline planner: decision questions from the goal's list items, sentences and connectors, a topology type from
 * its signals, and edges that match the type (fan_out: frame → parallel → synthesis; fan_in: parallel → synthesis;
 * dag: two lanes with a cross dependency; loop: a chain with a bounded back-edge; linear: a chain). Deterministic.
 */
export function planHeuristic(input: {
  readonly runId: string;
  readonly goal: string;
  readonly risk: Risk;
  readonly policy: Pick<Policy, 'personas' | 'design'>;
  readonly at: string;
  readonly planner?: Record<string, unknown>;
}): WorkflowTopologySpec {
  const pre = splitGoal(input.goal).items.length;
  const { type, rationale } = inferTopologyType(input.goal, pre);
  const found = items(input.goal, type);
  const korean = /[\uac00-\ud7a3]/.test(input.goal);
  const short = toLabel(input.goal.split(/\r?\n/)[0] ?? input.goal);
  const tasks: TaskSpec[] = [];
  const edges: Array<GraphEdge & { maxIterations?: number }> = [];
  const item = (text: string, i: number): TaskSpec => ({ id: '', text, role: 'item', dq: `DQ${i + 1}` });
  const chain = (ids: string[]): void => {
    for (let i = 1; i < ids.length; i++) edges.push({ from: ids[i - 1] as string, to: ids[i] as string });
  };
  let ordered: TaskSpec[];
  if (type === 'fan_out') {
    const root: TaskSpec = {
      id: '',
      text: korean ? `문제 정의: ${short}` : `Frame the question: ${short}`,
      role: 'root',
    };
    const synth: TaskSpec = {
      id: '',
      text: korean ? `종합 및 결정: ${short}` : `Synthesize and decide: ${short}`,
      role: 'synthesis',
    };
    ordered = [root, ...found.map(item), synth];
  } else if (type === 'fan_in') {
    const synth: TaskSpec = { id: '', text: korean ? `통합: ${short}` : `Consolidate: ${short}`, role: 'synthesis' };
    ordered = [...found.map(item), synth];
  } else if (type === 'loop') {
    const list = found.map(item);
    const evaluate: TaskSpec = {
      id: '',
      text: korean ? `평가 후 반복 여부 결정: ${short}` : `Evaluate the result and decide whether to iterate: ${short}`,
      role: 'evaluate',
    };
    ordered = [...list, evaluate];
  } else {
    ordered = found.map(item);
  }
  ordered.forEach((t, i) => tasks.push({ ...t, id: `T${i + 1}` }));
  const ids = tasks.map((t) => t.id);
  if (type === 'fan_out') {
    const [root, ...rest] = ids;
    const synth = rest.pop() as string;
    for (const mid of rest) edges.push({ from: root as string, to: mid }, { from: mid, to: synth });
  } else if (type === 'fan_in') {
    const synth = ids.at(-1) as string;
    for (const src of ids.slice(0, -1)) edges.push({ from: src, to: synth });
  } else if (type === 'dag' && ids.length >= 4) {
    // First item feeds two lanes that the last item merges; lane B's second step also needs lane A's first.
    const [first, ...rest] = ids;
    const last = rest.pop() as string;
    const laneA = rest.filter((_, i) => i % 2 === 0);
    const laneB = rest.filter((_, i) => i % 2 === 1);
    for (const lane of [laneA, laneB]) {
      if (lane.length === 0) continue;
      edges.push({ from: first as string, to: lane[0] as string });
      chain(lane);
      edges.push({ from: lane.at(-1) as string, to: last });
    }
    if (laneA[0] && laneB[1]) edges.push({ from: laneA[0], to: laneB[1] });
  } else if (type === 'loop') {
    chain(ids);
    if (ids.length >= 2)
      edges.push({
        from: ids.at(-1) as string,
        to: ids[0] as string,
        back: true,
        maxIterations: input.policy.design.max_iterations,
      });
  } else {
    chain(ids);
  }
  const effective: TopologyType = type === 'dag' && ids.length < 4 ? 'linear' : type;
  return buildTopology({
    runId: input.runId,
    goal: input.goal,
    risk: input.risk,
    type: effective,
    tasks,
    edges,
    policy: input.policy,
    at: input.at,
    rationale: effective === type ? rationale : `${rationale}; too few questions for lanes, so linear`,
    source: 'heuristic-planner',
    planner: { used: 'heuristic', ...(input.planner ?? {}) },
  });
}
