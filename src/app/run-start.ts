import { resolve } from 'node:path';
import { InvalidArgumentError, NotFoundError } from '../contracts/index.js';
import { toText } from '../design/index.js';
import type { RunRef, Workspace } from '../workspace/index.js';
import type { ValidationReport } from './design-ops.js';
import { execute } from './run-execute.js';
import { readRunArtifact } from './run-artifacts.js';
import { observeAfter, summarize, type RunOpsContext } from './run-support.js';
import type { RunRequest, RunSummary } from './run-types.js';

/** `mso run`: design the goal or workflow, pass the governance gate, then execute (unless a dry run). */
export async function startRun(c: RunOpsContext, input: RunRequest): Promise<RunSummary> {
  const { deps, cwd, open, design, observe } = c;
  const sources = [input.goal, input.goalFile, input.workflow].filter((x) => x !== undefined).length;
  if (sources !== 1) throw new InvalidArgumentError('goal', 'give exactly one of --goal, --goal-file or --workflow');
  if (input.maxConcurrency !== undefined && !(Number.isInteger(input.maxConcurrency) && input.maxConcurrency >= 1))
    throw new InvalidArgumentError('--max-concurrency', 'must be an integer >= 1');
  if (input.budgetUsd !== undefined && !(input.budgetUsd >= 0))
    throw new InvalidArgumentError('--budget-usd', 'must be a number >= 0');
  if (input.workflow !== undefined && !(await deps.fs.stat(resolve(cwd, input.workflow)).catch(() => undefined)))
    throw new NotFoundError('workflow file', resolve(cwd, input.workflow));
  const designed = await design.all({
    goal: input.goal,
    goalFile: input.goalFile,
    workflow: input.workflow,
    runId: input.runId,
    risk: input.risk,
    planner: input.planner,
    pattern: input.pattern,
    maxDepth: input.maxDepth,
    autoAssign: input.autoAssign,
  });
  const ws = await open(true);
  // Accepted proposals for this goal or workflow shape the new run before the gate checks it.
  const shaped =
    input.applyProposals === false
      ? { applied: [] as string[], skipped: [] }
      : await observe.applyAccepted(designed.run_id);
  const ref = await ws.runs.get(designed.run_id);
  const { gate, planText, refused } = await governanceGate(c, ws, ref);
  if (refused) return refused;
  if (input.dryRun) {
    await ws.runs.setStatus(ref.runId, 'completed', { tags: ['dry-run'] });
    await ws.sync(ref.runId);
    return summarize(c, ws, ref.runId, {
      governance: gate,
      plan: planText,
      reason: 'dry run: stopped after the governance gate',
    });
  }
  deps.faults?.point('run.gate');
  const summary = await execute(c, ws, ref, {
    budgetUsd: input.budgetUsd,
    maxConcurrency: input.maxConcurrency,
    agent: input.agent,
    repo: input.repo,
    signal: input.signal,
  });
  return { ...summary, ...(await observeAfter(c, ref.runId)), proposals_applied: shaped.applied };
}

/**
 * The governance gate before execution: validates every artifact and contract; a failing gate marks the run failed
 * (with the report's path) and returns its summary as `refused`.
 */
export async function governanceGate(
  c: RunOpsContext,
  ws: Workspace,
  ref: RunRef,
): Promise<{ gate: ValidationReport; planText: string; refused: RunSummary | null }> {
  const gate = await c.design.validate(ref.runId, 'all');
  const topology = await readRunArtifact(c.deps, ref.dir, 'topology');
  const plan = await readRunArtifact(c.deps, ref.dir, 'plan');
  const planText = toText(topology, plan);
  if (gate.status !== 'fail') return { gate, planText, refused: null };
  await ws.runs.setStatus(ref.runId, 'failed', {
    error: {
      message: `governance gate failed: ${gate.errors} errors (see ${gate.report})`,
      phase: '70_governance',
    },
  });
  await ws.sync(ref.runId);
  return { gate, planText, refused: await summarize(c, ws, ref.runId, { governance: gate, plan: planText }) };
}
