import { isMsoError } from '../contracts/index.js';
import { toText } from '../design/index.js';
import type { RunRef, Workspace } from '../workspace/index.js';
import type { AuditLog } from '../audit/index.js';
import type { CommandShare, ValidationReport } from './design-ops.js';
import { assertModesHonoured } from './mode-gate.js';
import { execute } from './run-execute.js';
import { preflightRun } from './run-preflight.js';
import { readRunArtifact } from './run-artifacts.js';
import { signalPollMs } from './run-signals.js';
import { observeAfter, summarize, type RunOpsContext } from './run-support.js';
import type { RunRequest, RunSummary } from './run-types.js';

/** `mso run`: design the goal or workflow, pass the governance gate, then execute (unless a dry run). */
export async function startRun(c: RunOpsContext, input: RunRequest): Promise<RunSummary> {
  const { deps, open, design, observe } = c;
  const checked = await preflightRun(c, input);
  signalPollMs(deps.env); // a bad MSO_SIGNAL_POLL_MS is refused before the run exists
  if (input.backend === 'distributed' || input.redis !== undefined) {
    // A Redis URL that cannot be one is refused before the run exists (reaching it is checked when it executes);
    // the workspace is only read here, so a refused workflow still leaves nothing behind.
    const ws = await open(false);
    (await import('./distributed/settings.js')).resolveQueueSettings(ws.policy, deps.env, {
      redis: input.redis,
      prefix: input.queuePrefix,
    });
  }
  // Once the run exists (designed, or created by the caller), a throw is recorded as its failure, never left `created`.
  let runId = input.runId;
  // One audit log from the design's first event to the observation after the run: each opening (and the closing
  // that writes the log's WAL back) cost a few milliseconds of every run. The design leaves its run there too.
  const share: CommandShare = {};
  try {
    const designed = await design.all({
      goal: input.goal,
      goalFile: input.goalFile,
      workflow: input.workflow,
      workflowText: input.workflowText,
      runId: input.runId,
      risk: input.risk,
      planner: checked.planner,
      pattern: input.pattern,
      maxDepth: input.maxDepth,
      autoAssign: input.autoAssign,
      signal: input.signal,
      // The governance gate just below mirrors the run, design included.
      mirror: false,
      // A run that could not start is never made (a dry run takes no slot).
      live: input.dryRun !== true,
      share,
    });
    runId = designed.run_id;
    const ws = await open(true);
    // Accepted proposals for this goal or workflow shape the new run before the gate checks it.
    const shaped =
      input.applyProposals === false
        ? { applied: [] as string[], skipped: [] }
        : await observe.applyAccepted(designed.run_id);
    const ref = await ws.runs.get(designed.run_id);
    const { gate, planText, refused } = await governanceGate(c, ws, ref, input.agent, share.log);
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
      backend: input.backend,
      redis: input.redis,
      remote: input.remote,
      queuePrefix: input.queuePrefix,
      init: input.init,
      signal: input.signal,
      onProgress: input.onProgress,
      log: share.log,
    });
    return { ...summary, ...(await observeAfter(c, ref.runId, share.log)), proposals_applied: shaped.applied };
  } catch (e) {
    // A design that failed after making its run names it in the share.
    runId ??= share.runId;
    if (runId !== undefined) await recordFailure(c, runId, e, 'run');
    throw e;
  } finally {
    share.log?.close();
  }
}

/** Marks a run that broke before or while executing as failed, with the error as its reason (best effort). */
export async function recordFailure(c: RunOpsContext, runId: string, e: unknown, phase: string): Promise<void> {
  // Another coordinator owns the run: its state is not ours to change. A run refused a max_active_runs slot did not
  // start: it stays as designed, for a later mso resume.
  if (isMsoError(e) && (e.code === 'MSO_RUN_BUSY' || e.code === 'MSO_MAX_ACTIVE_RUNS')) return;
  try {
    const ws = await c.open(true);
    const ref = await ws.runs.get(runId);
    if (!['created', 'active'].includes(ref.manifest.status)) return;
    const message = (e as Error)?.message ?? String(e);
    await ws.runs.setStatus(runId, 'failed', { error: { message, phase } });
    await ws.sync(runId);
  } catch {
    // The original error is what the caller reports.
  }
}

/**
 * The governance gate before execution: validates every artifact and contract; a failing gate marks the run failed
 * (with the report's path) and returns its summary as `refused`. A node whose permission mode an agent that may run
 * it cannot honour (`agent`: the `--agent` override) marks the run failed and throws (exit 2), naming node and agent.
 */
export async function governanceGate(
  c: RunOpsContext,
  ws: Workspace,
  ref: RunRef,
  agent?: string,
  log?: AuditLog,
): Promise<{ gate: ValidationReport; planText: string; refused: RunSummary | null }> {
  const gate = await c.design.validate(ref.runId, 'all', log);
  const topology = await readRunArtifact(c.deps, ref.dir, 'topology');
  const plan = await readRunArtifact(c.deps, ref.dir, 'plan');
  const planText = toText(topology, plan);
  if (gate.status !== 'fail') {
    try {
      // A mode an agent cannot honour stops the run here; it is never widened at dispatch.
      assertModesHonoured(ws.policy, plan, agent);
    } catch (e) {
      await ws.runs.setStatus(ref.runId, 'failed', {
        error: { message: (e as Error).message, phase: '70_governance' },
      });
      await ws.sync(ref.runId);
      throw e;
    }
    return { gate, planText, refused: null };
  }
  await ws.runs.setStatus(ref.runId, 'failed', {
    error: {
      message: `governance gate failed: ${gate.errors} errors (see ${gate.report})`,
      phase: '70_governance',
    },
  });
  await ws.sync(ref.runId);
  return { gate, planText, refused: await summarize(c, ws, ref.runId, { governance: gate, plan: planText }) };
}
