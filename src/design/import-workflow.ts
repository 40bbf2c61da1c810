import { z } from 'zod';
import {
  ExplicitOutputSchema,
  InvalidArtifactError,
  MergePolicySchema,
  NodeHintsShape,
  OutputTypeSchema,
  SafeIdSchema,
  ThetaBandSchema,
  TopologyTypeSchema,
  toFieldIssues,
  type FieldIssue,
  type Policy,
  type WorkflowTopologySpec,
} from '../contracts/index.js';
import { adjacency, describeCycle, type GraphEdge } from './graph.js';
import { buildTopology, type Risk, type TaskSpec } from './topology-builder.js';

/** A path that would leave a worktree it is relative to: absolute (either slash, or a drive), or with a `..` part. */
export const leavesWorktree = (path: string): boolean =>
  path.startsWith('/') || path.startsWith('\\') || /^[A-Za-z]:/.test(path) || path.split(/[\\/]/).includes('..');

/** A file a node must leave behind (`required_files`): inside its worktree, so relative and without a `..` part. */
const WorktreePathSchema = z
  .string()
  .min(1)
  .refine((f) => !leavesWorktree(f), "must be a path inside the node's worktree (relative, without ..)");

/**
 * A hand-written workflow: only node ids/labels and edges are required; unknown keys are refused, in a node and in
 * its `explicit_output` and `merge_policy` (a misspelt `stratgy` must not fall back to the default quietly).
 */
export const WorkflowFileSchema = z.strictObject({
  name: z.string().optional(),
  goal: z.string().optional(),
  risk: z.enum(['low', 'medium', 'high']).optional(),
  topology_type: TopologyTypeSchema.optional(),
  nodes: z
    .array(
      z.strictObject({
        id: SafeIdSchema,
        label: z.string().min(1),
        description: z.string().optional(),
        theta_gt_band: ThetaBandSchema.optional(),
        output: OutputTypeSchema.optional(),
        explicit_output: ExplicitOutputSchema.extend({ required_files: z.array(WorktreePathSchema).default([]) })
          .strict()
          .optional(),
        ...NodeHintsShape,
        merge_policy: MergePolicySchema.strict().optional(),
      }),
    )
    .min(1),
  edges: z
    .array(
      z.strictObject({
        from: SafeIdSchema,
        to: SafeIdSchema,
        type: z.enum(['data', 'control', 'hitl']).optional(),
        /** Makes this a loop back-edge, taken at most this many times. */
        max_iterations: z.int().min(1).max(1000, 'at most 1000').optional(),
      }),
    )
    .default([]),
});
export type WorkflowFile = z.infer<typeof WorkflowFileSchema>;

/**
 * Turns a workflow file into a topology spec, inferring what it leaves out (type, bands, DQs and rsv, outputs).
 * Every problem names its field path (`nodes[2].gates[0]`, `edges[3].to`).
 */
export function importWorkflow(input: {
  readonly raw: unknown;
  readonly file: string;
  readonly runId: string;
  readonly policy: Pick<Policy, 'personas' | 'design'>;
  readonly at: string;
  readonly risk?: Risk | undefined;
}): WorkflowTopologySpec {
  const parsed = WorkflowFileSchema.safeParse(input.raw);
  if (!parsed.success) throw new InvalidArtifactError(input.file, toFieldIssues(parsed.error, input.raw));
  const wf = parsed.data;
  const issues: FieldIssue[] = [];
  const ids = wf.nodes.map((n) => n.id);
  wf.nodes.forEach((n, i) => {
    if (ids.indexOf(n.id) !== i) issues.push({ path: `nodes[${i}].id`, message: `duplicate node id ${n.id}` });
  });
  wf.edges.forEach((e, i) => {
    // A loop's back-edge is taken again and again; a person's approval belongs on an edge into the loop.
    if (e.type === 'hitl' && e.max_iterations !== undefined)
      issues.push({ path: `edges[${i}].type`, message: 'a hitl edge cannot be a loop back-edge (max_iterations)' });
    if (!ids.includes(e.from)) issues.push({ path: `edges[${i}].from`, message: `unknown node ${e.from}` });
    if (!ids.includes(e.to)) issues.push({ path: `edges[${i}].to`, message: `unknown node ${e.to}` });
    if (e.from === e.to && e.max_iterations === undefined)
      issues.push({ path: `edges[${i}]`, message: 'a self-loop needs max_iterations' });
  });
  if (issues.length) throw new InvalidArtifactError(input.file, issues);
  const edges: Array<GraphEdge & { maxIterations?: number; hitl?: boolean }> = wf.edges.map((e) => ({
    from: e.from,
    to: e.to,
    ...(e.max_iterations ? { back: true, maxIterations: e.max_iterations } : {}),
    ...(e.type === 'hitl' ? { hitl: true } : {}),
  }));
  const cycle = describeCycle(ids, edges);
  if (cycle) {
    // Blame the last edge of the file that lies on the cycle: usually the one that closed it.
    const onCycle = wf.edges
      .map((e, idx) => (!e.max_iterations && cycle.includes(`${e.from} -> ${e.to}`) ? idx : -1))
      .filter((idx) => idx >= 0);
    const i = onCycle.at(-1) ?? -1;
    throw new InvalidArtifactError(input.file, [
      {
        path: i >= 0 ? `edges[${i}]` : 'edges',
        message: `cycle ${cycle}; mark the back-edge with max_iterations to make it a bounded loop`,
      },
    ]);
  }
  const tasks: TaskSpec[] = wf.nodes.map((n, i) => {
    const hints: Record<string, unknown> = {};
    for (const k of [
      'command',
      'agent',
      'mode',
      'instructions',
      'gates',
      'timeout_s',
      'max_retry',
      'budget_usd',
      'merge_policy',
    ] as const) {
      if (n[k] !== undefined) hints[k] = n[k];
    }
    if (n.explicit_output) hints['explicit_output'] = n.explicit_output;
    return {
      id: n.id,
      text: n.description ?? n.label,
      role: 'item',
      dq: `DQ${i + 1}`,
      persona: n.persona,
      band: n.theta_gt_band,
      outputType: n.output ?? n.explicit_output?.type ?? (n.command ? 'code' : undefined),
      hints: { ...hints, label: n.label },
    };
  });
  const { parents, children } = adjacency(ids, edges);
  const branching = ids.some((id) => (children.get(id) ?? []).length >= 2);
  const merging = ids.some((id) => (parents.get(id) ?? []).length >= 2);
  const inferred = edges.some((e) => e.back)
    ? 'loop'
    : branching && merging
      ? ids.filter((id) => (parents.get(id) ?? []).length === 0).length === 1
        ? 'fan_out'
        : 'dag'
      : merging
        ? 'fan_in'
        : branching
          ? 'dag'
          : 'linear';
  return buildTopology({
    runId: input.runId,
    goal: wf.goal ?? wf.name ?? `workflow ${input.file}`,
    risk: input.risk ?? wf.risk ?? 'medium',
    type: wf.topology_type ?? inferred,
    tasks,
    edges,
    policy: input.policy,
    at: input.at,
    rationale: wf.topology_type ? `declared ${wf.topology_type}` : `inferred ${inferred} from the edges`,
    source: 'workflow-import',
    planner: { used: 'import', file: input.file },
  });
}
