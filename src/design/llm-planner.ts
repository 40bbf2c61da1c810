import { z } from 'zod';
import type { Policy, TopologyType, WorkflowTopologySpec } from '../contracts/index.js';
import { toFieldIssues } from '../contracts/index.js';
import { adjacency, describeCycle, topoSort, type GraphEdge } from './graph.js';
import { planHeuristic } from './heuristic-planner.js';
import { extractUnits } from './task-extraction.js';
import { orderUnits } from './task-ordering.js';
import { assignPersona } from './personas.js';
import { buildTopology, type Risk, type TaskSpec } from './topology-builder.js';

/** One subtask as the model must return it (the CC Orchestrator plan's shape). */
export const SubtaskSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$/, 'ids are letters, digits, _ . - (max 41)'),
  description: z.string().min(3),
  dependencies: z.array(z.string()).default([]),
  suggestedRole: z.string().optional(),
  priority: z.union([z.number(), z.enum(['low', 'medium', 'high', 'critical'])]).optional(),
  complexity: z.enum(['low', 'medium', 'high']).default('medium'),
  reasoning: z.string().optional(),
});
export type Subtask = z.infer<typeof SubtaskSchema>;
const DecompositionSchema = z.object({
  subtasks: z.array(SubtaskSchema).min(1).max(20),
  reasoning: z.string().optional(),
});

/** Asks a model; `ok: false` carries why no answer came (unavailable, timeout, HTTP error...). */
export type AskModel = (prompt: string) => Promise<{ ok: true; text: string } | { ok: false; reason: string }>;

/** Extracts the first JSON object from a reply (bare, fenced, or surrounded by prose). */
export function extractJson(text: string): unknown {
  const attempts = [text.trim(), /```(?:json)?\s*([\s\S]*?)```/i.exec(text)?.[1]?.trim() ?? ''];
  const start = text.indexOf('{');
  if (start >= 0) {
    let depth = 0;
    let inString = false;
    for (let i = start; i < text.length; i++) {
      const c = text[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
      } else if (c === '"') inString = true;
      else if (c === '{') depth++;
      else if (c === '}' && --depth === 0) {
        attempts.push(text.slice(start, i + 1));
        break;
      }
    }
  }
  for (const a of attempts) {
    if (!a) continue;
    try {
      return JSON.parse(a) as unknown;
    } catch {
      // next
    }
  }
  throw new Error('the reply contains no JSON object');
}

/** Validates a decomposition: schema, unique ids, known dependencies, no cycle. Returns the subtasks or an error. */
export function validateDecomposition(raw: unknown): { ok: true; subtasks: Subtask[] } | { ok: false; error: string } {
  const parsed = DecompositionSchema.safeParse(raw);
  if (!parsed.success)
    return {
      ok: false,
      error: toFieldIssues(parsed.error, raw)
        .map((i) => `${i.path}: ${i.message}`)
        .join('; '),
    };
  const subtasks = parsed.data.subtasks;
  const ids = subtasks.map((s) => s.id);
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  if (dup) return { ok: false, error: `duplicate subtask id ${dup}` };
  const unknown = subtasks.flatMap((s) =>
    s.dependencies.filter((d) => !ids.includes(d)).map((d) => `${s.id} depends on unknown id ${d}`),
  );
  if (unknown.length) return { ok: false, error: unknown.join('; ') };
  const cycle = describeCycle(
    ids,
    subtasks.flatMap((s) => s.dependencies.map((d) => ({ from: d, to: s.id }))),
  );
  if (cycle) return { ok: false, error: `circular dependency: ${cycle}` };
  return { ok: true, subtasks };
}

/**
 * The offline planner's reading of a goal, as a hint for the model: its steps in order, with what each waits for.
 * Empty when the goal reads as one step (nothing to add).
 */
export function heuristicHint(goal: string): string {
  const { tasks, edges } = orderUnits(extractUnits(goal).units);
  if (tasks.length < 2) return '';
  const lines = tasks.map((t, i) => {
    const after = edges.filter((e) => e.to === i).map((e) => `h${e.from + 1}`);
    return `h${i + 1}: ${t.text}${after.length ? ` (after ${after.join(', ')})` : ''}`;
  });
  return `A first reading of the goal's own steps (a hint; fix it where it is wrong):\n${lines.join('\n')}`;
}

function promptFor(goal: string, personas: readonly string[], parent?: string): string {
  return [
    'You decompose a goal into subtasks for a team of AI agents and people.',
    parent ? `This is a part of a larger goal: ${parent}` : '',
    `Goal: ${goal}`,
    parent ? '' : heuristicHint(goal),
    'Rules: 2 to 8 atomic, verifiable subtasks; `dependencies` lists ids of subtasks that must finish first (true dependencies only, no cycles);',
    `suggestedRole is one of: ${personas.join(', ')}; complexity is low, medium or high (high = worth decomposing further).`,
    'Answer ONLY with JSON: {"subtasks":[{"id":"t1","description":"...","dependencies":[],"suggestedRole":"arch","priority":1,"complexity":"medium","reasoning":"..."}],"reasoning":"..."}',
  ]
    .filter(Boolean)
    .join('\n');
}

async function decomposeOnce(
  ask: AskModel,
  goal: string,
  personas: readonly string[],
  parent?: string,
): Promise<{ ok: true; subtasks: Subtask[]; attempts: number } | { ok: false; reason: string; attempts: number }> {
  const first = await ask(promptFor(goal, personas, parent));
  if (!first.ok) return { ok: false, reason: first.reason, attempts: 1 };
  let error: string;
  try {
    const v = validateDecomposition(extractJson(first.text));
    if (v.ok) return { ok: true, subtasks: v.subtasks, attempts: 1 };
    error = v.error;
  } catch (e) {
    error = (e as Error).message;
  }
  const second = await ask(
    `${promptFor(goal, personas, parent)}\nYour previous answer was invalid: ${error}. Answer again with only the corrected JSON.`,
  );
  if (!second.ok) return { ok: false, reason: `${error}; retry failed: ${second.reason}`, attempts: 2 };
  try {
    const v = validateDecomposition(extractJson(second.text));
    if (v.ok) return { ok: true, subtasks: v.subtasks, attempts: 2 };
    return { ok: false, reason: `invalid twice: ${error}; then ${v.error}`, attempts: 2 };
  } catch (e) {
    return { ok: false, reason: `invalid twice: ${error}; then ${(e as Error).message}`, attempts: 2 };
  }
}

interface Flat {
  id: string;
  description: string;
  deps: string[];
  role?: string | undefined;
  complexity: Subtask['complexity'];
  depth: number;
}

/** Replaces `parent` by its children: internal deps kept, roots inherit the parent's deps, dependents of the parent wait for the children's sinks. */
function expand(list: Flat[], parent: Flat, children: Subtask[], depth: number): Flat[] {
  const prefix = `${parent.id}.`;
  const kids: Flat[] = children.map((c) => ({
    id: `${prefix}${c.id}`,
    description: c.description,
    deps: c.dependencies.length ? c.dependencies.map((d) => `${prefix}${d}`) : [...parent.deps],
    role: c.suggestedRole,
    complexity: c.complexity,
    depth,
  }));
  const childIds = new Set(kids.map((k) => k.id));
  const sinks = kids.filter((k) => !kids.some((o) => o.deps.includes(k.id))).map((k) => k.id);
  return list.flatMap((t) => {
    if (t.id === parent.id) return kids;
    return [
      {
        ...t,
        deps: t.deps
          .flatMap((d) => (d === parent.id ? sinks : [d]))
          .filter((d, i, a) => a.indexOf(d) === i || childIds.has(d)),
      },
    ];
  });
}

function shapeOf(ids: readonly string[], edges: readonly GraphEdge[]): TopologyType {
  const { parents, children } = adjacency(ids, edges);
  const sources = ids.filter((id) => (parents.get(id) ?? []).length === 0);
  const sinks = ids.filter((id) => (children.get(id) ?? []).length === 0);
  const chain = ids.every((id) => (parents.get(id) ?? []).length <= 1 && (children.get(id) ?? []).length <= 1);
  if (chain && sources.length <= 1) return 'linear';
  const middle = ids.filter((id) => !sources.includes(id) && !sinks.includes(id));
  if (
    sources.length === 1 &&
    sinks.length === 1 &&
    middle.every(
      (m) =>
        (parents.get(m) ?? []).length === 1 &&
        (children.get(m) ?? []).length === 1 &&
        (children.get(m) ?? [])[0] === sinks[0],
    )
  )
    return 'fan_out';
  if (sinks.length === 1 && middle.length === 0 && sources.length >= 2) return 'fan_in';
  return 'dag';
}

/** Where the planner's decision is recorded (`metadata.planner` of the topology). */
export interface PlannerRecord {
  readonly requested: 'llm';
  readonly used: 'llm' | 'heuristic' | 'single-node';
  readonly pattern: 'parallel' | 'hierarchical';
  readonly max_depth: number;
  readonly calls: number;
  readonly fallback_reason?: string;
  readonly decomposed?: readonly string[];
}

/**
 * The hierarchical decomposition of the CC Orchestrator plan: the model returns subtasks; invalid JSON, unknown
 * dependencies or a cycle are sent back once with the error; `hierarchical` decomposes high-complexity subtasks again
 * up to `maxDepth`; personas come from a valid suggestion or keyword scoring (when `autoAssign`). If the model cannot
 * produce a valid plan, the heuristic planner takes over (or, failing that, one `arch` node), and the reason is kept.
 */
export async function planWithLlm(input: {
  readonly runId: string;
  readonly goal: string;
  readonly risk: Risk;
  readonly policy: Pick<Policy, 'personas' | 'design'>;
  readonly at: string;
  readonly ask: AskModel;
  readonly pattern: 'parallel' | 'hierarchical';
  readonly maxDepth: number;
  readonly autoAssign?: boolean;
}): Promise<WorkflowTopologySpec> {
  const personas = Object.keys(input.policy.personas);
  const top = await decomposeOnce(input.ask, input.goal, personas);
  let calls = top.attempts;
  const base = { requested: 'llm' as const, pattern: input.pattern, max_depth: input.maxDepth };
  if (!top.ok) {
    const record: PlannerRecord = { ...base, used: 'heuristic', calls, fallback_reason: top.reason };
    try {
      return planHeuristic({
        runId: input.runId,
        goal: input.goal,
        risk: input.risk,
        policy: input.policy,
        at: input.at,
        planner: { ...record },
      });
    } catch (e) {
      return buildTopology({
        runId: input.runId,
        goal: input.goal,
        risk: input.risk,
        type: 'linear',
        policy: input.policy,
        at: input.at,
        edges: [],
        tasks: [{ id: 'T1', text: input.goal, role: 'item', dq: 'DQ1', persona: 'arch' }],
        rationale: 'single node: no planner could decompose the goal',
        source: 'fallback',
        planner: {
          ...base,
          used: 'single-node',
          calls,
          fallback_reason: `${top.reason}; heuristic failed: ${(e as Error).message}`,
        },
      });
    }
  }
  let flat: Flat[] = top.subtasks.map((s) => ({
    id: s.id,
    description: s.description,
    deps: s.dependencies,
    role: s.suggestedRole,
    complexity: s.complexity,
    depth: 1,
  }));
  const decomposed: string[] = [];
  if (input.pattern === 'hierarchical') {
    for (let depth = 2; depth <= input.maxDepth; depth++) {
      const targets = flat.filter((t) => t.complexity === 'high' && t.depth === depth - 1);
      if (targets.length === 0) break;
      for (const t of targets) {
        const sub = await decomposeOnce(input.ask, t.description, personas, input.goal);
        calls += sub.attempts;
        if (sub.ok && sub.subtasks.length >= 2) {
          flat = expand(flat, t, sub.subtasks, depth);
          decomposed.push(t.id);
        }
      }
    }
  }
  const ids = flat.map((t) => t.id);
  const edges: GraphEdge[] = flat.flatMap((t) => t.deps.map((d) => ({ from: d, to: t.id })));
  const order = topoSort(ids, edges).order;
  const byId = new Map(flat.map((t) => [t.id, t]));
  const tasks: TaskSpec[] = order.map((id, i) => {
    const t = byId.get(id) as Flat;
    const valid = t.role !== undefined && personas.includes(t.role);
    const persona =
      input.autoAssign === false
        ? input.policy.design.default_persona
        : valid
          ? t.role
          : assignPersona(t.description, input.policy).persona;
    return { id, text: t.description, role: 'item', dq: `DQ${i + 1}`, persona, complexity: t.complexity };
  });
  return buildTopology({
    runId: input.runId,
    goal: input.goal,
    risk: input.risk,
    type: shapeOf(order, edges),
    tasks,
    edges,
    policy: input.policy,
    at: input.at,
    rationale: `decomposed by the LLM planner into ${tasks.length} subtasks (${input.pattern}, max depth ${input.maxDepth})`,
    source: 'llm-planner',
    planner: { ...base, used: 'llm', calls, decomposed },
  });
}
