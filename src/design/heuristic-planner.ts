import type { Policy, TopologyType, WorkflowTopologySpec } from '../contracts/index.js';
import { adjacency, type GraphEdge } from './graph.js';
import { extractUnits, MAX_PARSE_CHARS, type Extraction } from './task-extraction.js';
import { orderUnits, sinksOf, type OrderedTask } from './task-ordering.js';
import { keywordScore } from './text.js';
import { assignPersona } from './personas.js';
import { buildTopology, inferOutputType, type Risk, type TaskSpec } from './topology-builder.js';

/** Words by which a one-question goal asks for alternatives (English and Korean). */
const FAN_OUT_SIGNALS = [
  'compare',
  'alternatives',
  'options',
  'in parallel',
  'brainstorm',
  'explore',
  'variants',
  'candidates',
  '비교',
  '병렬',
  '대안',
  '여러',
];

const ANGLES = ['Feasibility and constraints', 'Cost and risk', 'Impact on users and maintainers'];
const KO_ANGLES = ['실현 가능성과 제약', '비용과 위험', '사용자와 유지보수 영향'];

/** The topology type of a graph: loop (a back-edge), linear (a chain), fan_out, fan_in, or dag. */
export function classifyTopology(ids: readonly string[], edges: readonly GraphEdge[]): TopologyType {
  if (edges.some((e) => e.back)) return 'loop';
  const { parents, children } = adjacency(ids, edges);
  const p = (id: string): string[] => parents.get(id) ?? [];
  const c = (id: string): string[] => children.get(id) ?? [];
  if (ids.every((id) => p(id).length <= 1 && c(id).length <= 1)) return 'linear';
  const sources = ids.filter((id) => p(id).length === 0);
  const sinks = ids.filter((id) => c(id).length === 0);
  if (sources.length === 1 && sinks.length === 1) {
    const [s, t] = [sources[0] as string, sinks[0] as string];
    const middle = ids.filter((id) => id !== s && id !== t);
    if (middle.length >= 2 && middle.every((id) => p(id).join() === s && c(id).join() === t)) return 'fan_out';
  }
  if (sources.length >= 2 && sinks.length === 1 && sources.length === ids.length - 1) return 'fan_in';
  return 'dag';
}

/** A one-question goal that asks for alternatives: frame → three angles → decision (the template). */
function template(
  goal: string,
  ex: Extraction,
): { tasks: OrderedTask[]; edges: Array<{ from: number; to: number }> } | null {
  const main = ex.units.filter((u) => u.kind !== 'decide');
  const decide = ex.units.find((u) => u.kind === 'decide');
  if (main.length !== 1 || (main[0]?.tasks.length ?? 0) !== 1 || ex.units.length > 2) return null;
  if (keywordScore(goal.slice(0, MAX_PARSE_CHARS), FAN_OUT_SIGNALS).score === 0) return null;
  const subject = main[0]?.text ?? goal.trim();
  const ko = ex.korean;
  const tasks: OrderedTask[] = [
    { text: ko ? `문제 정의: ${subject}` : `Frame the question: ${subject}`, role: 'root' },
    ...(ko ? KO_ANGLES : ANGLES).map((a) => ({ text: `${a}: ${subject}`, role: 'item' as const })),
    decide
      ? { text: decide.tasks[0] as string, role: 'synthesis' }
      : { text: ko ? `종합 및 결정: ${subject}` : `Synthesize and decide: ${subject}`, role: 'synthesis' },
  ];
  return {
    tasks,
    edges: [1, 2, 3].flatMap((i) => [
      { from: 0, to: i },
      { from: i, to: 4 },
    ]),
  };
}

/** Whether the goal ends in a comparison with nothing to decide it ("Compare A and B"): its merge is a decision. */
function comparison(ex: Extraction): boolean {
  const last = ex.units.at(-1);
  return last?.kind === 'compare' && last.frame !== undefined;
}

/**
 * The offline planner: reads the goal's own steps (lists, sentences, clauses; English and Korean), their order
 * (sequence markers, clause order) and parallelism (markers, enumerations, one verb over several targets, joins),
 * and builds the topology from them; its type follows the graph. A one-question goal that asks for alternatives
 * gets the frame → angles → decision template; a loop goal a bounded back-edge from its check. Deterministic.
 */
export function planHeuristic(input: {
  readonly runId: string;
  readonly goal: string;
  readonly risk: Risk;
  readonly policy: Pick<Policy, 'personas' | 'design'>;
  readonly at: string;
  readonly planner?: Record<string, unknown>;
}): WorkflowTopologySpec {
  const ex = extractUnits(input.goal);
  const ko = ex.korean;
  const fixed = ex.loop ? null : template(input.goal, ex);
  const ordering = fixed ?? orderUnits(ex.units);
  const tasks: OrderedTask[] = [...ordering.tasks];
  const edges: Array<{ from: number; to: number; back?: boolean }> = [...ordering.edges];
  const whole = input.goal.trim().slice(0, 2000) || input.goal;
  if (tasks.length === 0) tasks.push({ text: whole, role: 'item' });
  // One task read out of a longer goal: the label is the task, the description keeps the goal's context.
  // Its persona and output are the task's own words', not the context's ("... Each step must run the tests": not a
  // review).
  else if (tasks.length === 1 && tasks[0]?.text !== whole && !ex.loop) {
    const own = tasks[0] as OrderedTask;
    const persona = assignPersona(own.text, input.policy).persona;
    const outputType = inferOutputType({ role: 'item', text: own.text, persona, outputType: own.outputType });
    tasks[0] = { text: whole, label: own.text, role: 'item', persona, outputType };
  }
  const reasons =
    'reasons' in ordering ? [...ordering.reasons] : ['one question asking for alternatives: frame, angles, decision'];
  const ends = sinksOf(tasks.length, edges);
  if (ex.loop && tasks.length >= 1) {
    const until = ex.loop.until;
    const check =
      tasks.push({
        text: ko
          ? until
            ? `${until} 여부 확인 후 반복 결정`
            : '결과 평가 후 반복 여부 결정'
          : until
            ? `Check whether ${until}; iterate if not`
            : 'Evaluate the result and decide whether to iterate',
        role: 'evaluate',
      }) - 1;
    for (const e of ends) edges.push({ from: e, to: check });
    edges.push({ from: check, to: 0, back: true });
    reasons.push('a loop goal: the check sends the work back, bounded by max_iterations');
  } else if (ends.length >= 2) {
    // Parallel ends merge into one result: the run's work lands in one commit.
    const merge =
      tasks.push({
        text: comparison(ex)
          ? ko
            ? '비교 결과 종합 및 결정'
            : 'Synthesize the comparison and decide'
          : ko
            ? '병렬 작업 결과 병합 및 확인'
            : 'Merge the parallel results and check them together',
        role: 'synthesis',
      }) - 1;
    for (const e of ends) edges.push({ from: e, to: merge });
    reasons.push('parallel ends merge into one result');
  }
  const ids = tasks.map((_, i) => `T${i + 1}`);
  const graph = edges.map((e) => ({
    from: ids[e.from] as string,
    to: ids[e.to] as string,
    ...(e.back ? { back: true, maxIterations: input.policy.design.max_iterations } : {}),
  }));
  const type = classifyTopology(ids, graph);
  let dq = 0;
  const specs: TaskSpec[] = tasks.map((t, i) => ({
    id: ids[i] as string,
    text: t.text,
    ...(t.label ? { label: t.label } : {}),
    role: t.role,
    ...(t.role === 'item' ? { dq: `DQ${++dq}` } : {}),
    ...(t.role === 'item' && ex.everyStep.length ? { criteria: ex.everyStep } : {}),
    ...(t.outputType ? { outputType: t.outputType } : {}),
    ...(t.persona ? { persona: t.persona } : {}),
  }));
  return buildTopology({
    runId: input.runId,
    goal: input.goal,
    risk: input.risk,
    type,
    tasks: specs,
    edges: graph,
    policy: input.policy,
    at: input.at,
    rationale: `${type}: ${tasks.length} task(s) read from the goal's own steps; ${reasons.join('; ') || 'one step'}`,
    source: 'heuristic-planner',
    planner: { used: 'heuristic', ...(input.planner ?? {}) },
  });
}
