import { InvalidArgumentError, isMsoError } from '../contracts/index.js';
import { join } from 'node:path';
import { readTextIfExists, type RunRef, type Workspace } from '../workspace/index.js';
import { assertAgentsFor } from './agent-readiness.js';
import { assertAuditWritable } from './audit-ops.js';
import { ARTIFACT_PATHS, readRunArtifact } from './run-artifacts.js';
import { execute, provisionedRepo } from './run-execute.js';
import { assertRepoSource } from './run-preflight.js';
import { governanceGate, recordFailure } from './run-start.js';
import { observeAfter, summarize, type RunOpsContext } from './run-support.js';
import type { ResumeOptions, RunSummary } from './run-types.js';

/**
 * `mso resume`: a new coordinator goes on from the audit log; finished nodes are never run again. A run stopped
 * while it was being designed is designed to the end first (from its recorded goal) and passes the gate.
 */
export async function resumeRun(c: RunOpsContext, runId: string, options: ResumeOptions = {}): Promise<RunSummary> {
  const ws = await c.open(true);
  const ref = await ws.runs.get(runId);
  if (ref.manifest.status === 'completed' || ref.manifest.status === 'archived')
    return summarize(c, ws, runId, { reason: `run is ${ref.manifest.status}: nothing to resume` });
  // Refused before anything is written when the audit log cannot take it (read-only, lost WAL).
  assertAuditWritable(c.deps, ws);
  // A run that never executed (designed only) branches from here: the same rule as mso run, before any write.
  const firstRun = provisionedRepo(c, ws, runId) === null;
  if (firstRun) await assertRepoSource(c, options);
  else if (options.repo !== undefined || options.init)
    throw new InvalidArgumentError(
      options.init ? '--init' : '--repo',
      `${runId} already branched from its repository; it resumes there (leave the flag out)`,
    );
  // Its first execution passes mso run's first-run check too, before anything is written: nodes no usable agent can
  // do are refused (exit 2) unless --allow-manual hands them to a person.
  if (firstRun) await assertPlanAgents(c, ws, ref, options);
  const designed = await finishDesign(c, ref);
  if (designed || !(await gatePassed(c, ref))) {
    const { refused } = await governanceGate(c, ws, ref, options.agent);
    if (refused) return refused;
  }
  let summary: RunSummary;
  try {
    summary = await execute(c, ws, ref, options);
  } catch (e) {
    await recordFailure(c, runId, e, 'resume');
    throw e;
  }
  return { ...summary, ...(await observeAfter(c, runId)) };
}

/**
 * `mso run`'s first-run check (assertAgentsFor) over a designed run's nodes, each with its command, agent and persona:
 * the plan's, or the topology's when it stopped before its plan (they carry the same hints). A run stopped before
 * either was written is checked as `mso run` checks a goal (the default chain).
 */
async function assertPlanAgents(c: RunOpsContext, ws: Workspace, ref: RunRef, options: ResumeOptions): Promise<void> {
  const nodes = !(await missing(c, ref, 'plan'))
    ? Object.entries((await readRunArtifact(c.deps, ref.dir, 'plan')).execution_graph).map(([id, n]) => ({ id, ...n }))
    : !(await missing(c, ref, 'topology'))
      ? (await readRunArtifact(c.deps, ref.dir, 'topology')).nodes
      : undefined;
  await assertAgentsFor(c.deps, ws.policy, {
    agent: options.agent,
    workflow: nodes ? { nodes } : undefined,
    allowManual: options.allowManual,
    policyFile: ws.layout.policyFile,
  });
}

const missing = async (c: RunOpsContext, ref: RunRef, kind: 'topology' | 'bundle' | 'plan'): Promise<boolean> =>
  readRunArtifact(c.deps, ref.dir, kind).then(
    () => false,
    (e: unknown) => {
      if (isMsoError(e) && e.code === 'MSO_NOT_FOUND') return true;
      throw e;
    },
  );

/** True when the run's design passed the governance gate (a run killed before the gate has no report). */
async function gatePassed(c: RunOpsContext, ref: RunRef): Promise<boolean> {
  const text = await readTextIfExists(c.deps.fs, join(ref.dir, ARTIFACT_PATHS.governance, 'governance_report.json'));
  if (text === undefined) return false;
  try {
    return (JSON.parse(text) as { status?: unknown }).status !== 'fail';
  } catch {
    return false;
  }
}

/** Completes the design steps a killed `mso run`/`design` left undone; true when it had to do any. */
async function finishDesign(c: RunOpsContext, ref: RunRef): Promise<boolean> {
  const [noTopology, noBundle, noPlan] = await Promise.all([
    missing(c, ref, 'topology'),
    missing(c, ref, 'bundle'),
    missing(c, ref, 'plan'),
  ]);
  if (!noTopology && !noBundle && !noPlan) return false;
  if (noTopology) {
    const goal = ref.manifest.goal;
    if (!goal)
      throw new InvalidArgumentError(
        'run',
        `${ref.runId} stopped before its topology was written and records no goal to design it from; start it again with mso run`,
      );
    await c.design.topology({ runId: ref.runId, goal });
  }
  if (noTopology || noBundle) {
    const mm = await c.design.mentalModel(ref.runId);
    if (mm.feedback.length > 0) await c.design.refine(ref.runId);
  }
  await c.design.plan(ref.runId);
  return true;
}
