import { resolve } from 'node:path';
import { resolveAgentSpecs } from '../agents/index.js';
import { InvalidArgumentError, type Policy } from '../contracts/index.js';
import { importWorkflow, WorkflowFileSchema, type WorkflowFile } from '../design/index.js';
import { assertAgentsFor, choosePlanner, type PlannerChoice } from './agent-readiness.js';
import type { RunOpsContext } from './run-support.js';
import { readWorkflowInput } from './workflow-input.js';
import type { RunRequest } from './run-types.js';

/** What the checks before a run found: the planner that will run. */
export interface Preflight {
  readonly planner: PlannerChoice;
  /** For a workflow: the case slug and goal its run is named by (as the design names it). */
  readonly named?: { readonly caseSlug: string; readonly goal: string };
}

/**
 * A workflow's personas and agents must be ones the policy knows (built-in or in `policy.yaml`): an unknown one would
 * silently fall back to the default persona's chain. Refused with the node's field path, before anything is written.
 */
function assertKnownNames(policy: Policy, workflow: WorkflowFile, label: string): void {
  const agents = [...resolveAgentSpecs(policy).keys()];
  const personas = Object.keys(policy.personas);
  workflow.nodes.forEach((n, i) => {
    if (n.persona !== undefined && !personas.includes(n.persona))
      throw new InvalidArgumentError(
        `${label} nodes[${i}].persona`,
        `unknown persona ${n.persona} (known: ${personas.join(', ')}; add it under personas: in policy.yaml)`,
      );
    if (n.agent !== undefined && !agents.includes(n.agent))
      throw new InvalidArgumentError(
        `${label} nodes[${i}].agent`,
        `unknown agent ${n.agent} (known: ${agents.join(', ')}; add it under agents: in policy.yaml)`,
      );
  });
}

/** Asks git for a folder's repository and its commit at once: its top folder, then HEAD's commit (see topAndHead). */
export const TOP_AND_HEAD = ['rev-parse', '--show-toplevel', '--verify', 'HEAD'] as const;

/**
 * What {@link TOP_AND_HEAD} printed: the repository's top folder (null outside a repository) and HEAD's commit (null
 * when it has none yet). git prints the top folder even when HEAD does not resolve, then fails.
 */
export function topAndHead(r: { readonly code: number; readonly stdout: string }): {
  readonly top: string | null;
  readonly head: string | null;
} {
  const [top = '', head = ''] = r.stdout.split('\n');
  return { top: top === '' ? null : top, head: r.code === 0 && /^[0-9a-f]{40,64}$/.test(head) ? head : null };
}

/**
 * Where a run's work branches from, checked before anything is written: `--repo DIR` must be (inside) a repository
 * with a commit; without it the current directory must be, unless `--init` asks for a new, empty repository (kept in
 * the run folder). A directory that is not a repository is never turned into one silently. Throws exit 2.
 */
export async function assertRepoSource(
  c: RunOpsContext,
  input: { readonly repo?: string | undefined; readonly init?: boolean | undefined },
): Promise<void> {
  if (input.init && input.repo !== undefined)
    throw new InvalidArgumentError('--init', 'give --init (a new, empty repository) or --repo PATH, not both');
  if (input.init) return;
  const flag = input.repo !== undefined ? '--repo' : 'repository';
  const dir = resolve(c.cwd, input.repo ?? '.');
  const { top, head } = topAndHead(
    (await c.deps.fs.stat(dir).catch(() => undefined))
      ? await c.git.run(TOP_AND_HEAD, dir).catch(() => ({ code: 1, stdout: '' }))
      : { code: 1, stdout: '' },
  );
  if (top === null)
    throw new InvalidArgumentError(
      flag,
      input.repo !== undefined
        ? `${dir} is not inside a git repository`
        : `${dir} is not inside a git repository: pass --init (MCP and dashboard: init) to start from a new, empty repository (kept in the run folder), or --repo PATH (MCP: repo) to branch from an existing one`,
    );
  if (head === null)
    throw new InvalidArgumentError(flag, `${top} has no commit to start from (commit something first)`);
}

/**
 * Every check a run passes before anything is written (no run folder, no audit row): its input, the planner it asks
 * for (`llm` with no usable model is refused; `auto` picks), and the first-run gate (nodes no agent can do are
 * refused unless they ask for a person or `allowManual` is given). Throws an exit-2 error naming what to change: the
 * first found, in this order: the flags, the workflow file (read, then checked as the design imports it), its personas
 * and agents, the repository, `--agent`, `--run-id`, the planner, the agents gate.
 */
export async function preflightRun(c: RunOpsContext, input: RunRequest): Promise<Preflight> {
  const { deps, cwd, open } = c;
  const sources = [input.goal, input.goalFile, input.workflow, input.workflowText].filter((x) => x !== undefined);
  if (sources.length !== 1)
    throw new InvalidArgumentError(
      'goal',
      'give exactly one of --goal, --goal-file or --workflow (over MCP: goal, workflow or workflow_inline)',
    );
  if (input.maxConcurrency !== undefined && !(Number.isInteger(input.maxConcurrency) && input.maxConcurrency >= 1))
    throw new InvalidArgumentError('--max-concurrency', 'must be an integer >= 1');
  if (input.budgetUsd !== undefined && !(input.budgetUsd >= 0))
    throw new InvalidArgumentError('--budget-usd', 'must be a number >= 0');
  let workflow: WorkflowFile | undefined;
  // The repository is asked (git, read only) while the workspace and the workflow are read; its answer is awaited in
  // the order of the checks, so an input refused before it is still the one reported.
  const repoChecked = input.dryRun ? undefined : assertRepoSource(c, input);
  // Taken below: an input refused first must not leave its rejection unhandled meanwhile.
  repoChecked?.catch(() => undefined);
  const ws = await open(false);
  // Read within the policy's size, node and alias limits: an oversized or unparsable workflow is refused here.
  const label = input.workflow !== undefined ? resolve(cwd, input.workflow) : '(inline workflow)';
  const read =
    input.workflow !== undefined
      ? await readWorkflowInput(deps.fs, { path: label }, ws.policy.design)
      : input.workflowText !== undefined
        ? await readWorkflowInput(deps.fs, { text: input.workflowText, label }, ws.policy.design)
        : undefined;
  let named: Preflight['named'];
  if (read) {
    // Checked as the design's import checks it (schema, ids, edges, cycles), naming the fields: a run made before its
    // design starts (over MCP) must not be made for a file that the design would refuse.
    const probe = importWorkflow({
      raw: read.raw,
      file: label,
      runId: '20000101-msowd-probe',
      policy: ws.policy,
      at: deps.clock.now().toISOString(),
      risk: input.risk,
    });
    workflow = WorkflowFileSchema.parse(read.raw);
    named = { caseSlug: read.caseSlug, goal: String(probe.metadata?.['goal_preview'] ?? read.name) };
  }
  if (workflow) assertKnownNames(ws.policy, workflow, label);
  await repoChecked;
  const imported = input.workflow !== undefined || input.workflowText !== undefined;
  if (input.agent !== undefined) {
    const known = [...resolveAgentSpecs(ws.policy).keys()];
    if (!known.includes(input.agent))
      throw new InvalidArgumentError('--agent', `unknown agent ${input.agent} (known: ${known.join(', ')})`);
  }
  if (input.runId !== undefined) {
    // Reusing the id of a run that went past design would rewrite its artifacts (and break its replay).
    const existing = await ws.runs.get(input.runId).catch(() => undefined);
    if (existing && existing.manifest.status !== 'created')
      throw new InvalidArgumentError(
        '--run-id',
        `run ${input.runId} already exists (${existing.manifest.status}); choose another id, or mso resume / mso replay it`,
      );
  }
  const planner: PlannerChoice = imported
    ? { requested: input.planner ?? ws.policy.design.planner, used: 'heuristic', reason: 'a workflow is imported' }
    : await choosePlanner(deps, ws.policy, input.planner);
  if (!input.dryRun)
    await assertAgentsFor(deps, ws.policy, {
      agent: input.agent,
      workflow,
      allowManual: input.allowManual,
      policyFile: ws.layout.policyFile,
    });
  return { planner, ...(named ? { named } : {}) };
}
