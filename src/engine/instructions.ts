import type { ExecutionNode, MentalModelBundle, Policy, WorkflowTopologySpec } from '../contracts/index.js';

/** What a node's agent is told: the work, its way of thinking, its inputs, its required outputs and gates. */
export function nodeInstructions(input: {
  readonly nodeId: string;
  /** The goal of a run of several steps: each is told what it is part of ("email verification" of signing up). */
  readonly goal?: string | undefined;
  readonly node: ExecutionNode;
  readonly topology: WorkflowTopologySpec;
  readonly bundle: MentalModelBundle;
  readonly policy: Pick<Policy, 'personas'>;
  readonly parents: ReadonlyArray<{
    readonly id: string;
    readonly commit: string;
    readonly summary: string;
    readonly files: readonly string[];
  }>;
  readonly iteration?: number;
}): string {
  const t = input.topology.nodes.find((n) => n.id === input.nodeId);
  const chart = input.bundle.local_charts.find((c) => input.node.chart_ids.includes(c.id));
  const out = input.node.handoff_contract?.required_outputs ?? t?.explicit_output;
  const persona = input.node.persona ?? t?.persona;
  const lines = [
    `# Node ${input.nodeId}: ${t?.label ?? input.node.label ?? input.nodeId}`,
    '',
    t?.description ?? '',
    ...(goalLine(input.goal, t?.description) ?? []),
    ...(input.node.instructions ? ['', input.node.instructions] : []),
    ...(input.iteration && input.iteration > 1
      ? ['', `This is iteration ${input.iteration}: improve on the previous result in this worktree.`]
      : []),
    '',
    ...(persona
      ? [
          `Role: ${persona}${input.policy.personas[persona]?.description ? ` (${input.policy.personas[persona]?.description})` : ''}.`,
        ]
      : []),
    ...(chart
      ? [
          `Way of thinking — ${chart.name}: ${chart.guidance ?? ''}`,
          ...(chart.failure_signals?.length ? [`Avoid: ${chart.failure_signals.join('; ')}.`] : []),
        ]
      : []),
    ...(input.parents.length
      ? [
          '',
          'Inputs (already in this worktree, from the parent nodes):',
          ...input.parents.map(
            (p) =>
              `- ${p.id} at commit ${p.commit.slice(0, 12)}: ${p.summary}${p.files.length ? ` (files: ${p.files.join(', ')})` : ''}`,
          ),
        ]
      : []),
    ...(out
      ? [
          '',
          `Required output (${out.type}): sections ${out.required_sections.join(', ') || '-'}.`,
          ...(out.required_files?.length ? [`Write these files: ${out.required_files.join(', ')}.`] : []),
          ...out.acceptance_criteria.map((c) => `- must satisfy: ${c}`),
        ]
      : []),
    ...(input.node.gates?.length
      ? ['', `These commands must pass in this directory: ${input.node.gates.join(' ; ')}.`]
      : []),
    '',
    'Work in the current directory (a git worktree of this run). Do not commit: mso commits and checks the result.',
  ];
  return lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** The most of a goal a step is told (a long goal's own steps are the other nodes). */
const GOAL_CHARS = 2_000;

/** "This step is part of: GOAL", unless the step's description already holds the goal. */
function goalLine(goal: string | undefined, description: string | undefined): string[] | null {
  const g = goal?.trim();
  if (!g || description?.includes(g)) return null;
  return ['', `This step is part of the run's goal: ${g.length > GOAL_CHARS ? `${g.slice(0, GOAL_CHARS)}…` : g}`];
}
