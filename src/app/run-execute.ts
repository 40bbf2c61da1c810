import { join, resolve } from 'node:path';
import { runChain } from '../agents/index.js';
import { openAuditLog } from '../audit/index.js';
import { InvalidArgumentError, RunBusyError, type RunStatus } from '../contracts/index.js';
import { executePlan, loadRecordedRun, type RecordedDecision, type RunnerDeps } from '../engine/index.js';
import { createHitlStore, readTextIfExists, writeFileAtomic, type RunRef, type Workspace } from '../workspace/index.js';
import { openAgentRuntime, retryPolicy } from './agents-ops.js';
import { recordProvenance } from './provenance.js';
import { readRunArtifact, runTicketStore } from './run-artifacts.js';
import { ensureTickets, summarize, type RunOpsContext } from './run-support.js';
import type { RunSummary } from './run-types.js';

/**
 * Coordinates one run: takes the coordinator lock, provisions the repository, records provenance, ends a dead
 * coordinator's agents, and executes the plan until it completes, fails, waits for a person or is cancelled.
 */
export async function execute(
  c: RunOpsContext,
  ws: Workspace,
  ref: RunRef,
  options: {
    budgetUsd?: number | undefined;
    maxConcurrency?: number | undefined;
    agent?: string | undefined;
    repo?: string | undefined;
    signal?: AbortSignal | undefined;
    /** Answers agent calls instead of the configured agents (replay). */
    agents?: RunnerDeps['agents'] | undefined;
    /** Answers human gates with an earlier run's decisions (offline replay). */
    decisions?: ReadonlyMap<string, RecordedDecision> | undefined;
  },
): Promise<RunSummary> {
  const { deps, git } = c;
  const lockFile = join(ref.dir, 'coordinator.pid');
  const holder = Number((await readTextIfExists(deps.fs, lockFile))?.trim() ?? NaN);
  if (Number.isInteger(holder) && holder !== deps.processInfo.pid && deps.processInfo.isAlive(holder))
    throw new RunBusyError(ref.runId, holder);
  await writeFileAtomic(deps, lockFile, `${deps.processInfo.pid}\n`);
  const cancelFile = join(ref.dir, 'cancel.request');
  await deps.fs.rm(cancelFile, { force: true });
  // The abort reason is what the cancelled run records: `host disconnected (…)`, `interrupted (SIGINT)`, a request.
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(cancelReasonOf(options.signal));
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  const poll = setInterval(() => {
    void deps.fs.stat(cancelFile).then(
      () => controller.abort(CANCEL_REQUESTED),
      () => undefined,
    );
  }, 300);
  const rt = openAgentRuntime(deps, ws);
  try {
    const { repo, baseSha } = await provision(c, ws, ref, options.repo);
    await recordProvenance(deps, ws, ref, rt.log, { repo, baseSha });
    const recorded = loadRecordedRun(rt.log, ref.runId);
    // A dead coordinator's agents must not keep working on our worktrees.
    for (const pid of recorded.livePids) {
      if (deps.processInfo.isAlive(pid)) {
        deps.proc.killGroup(pid, 'SIGTERM');
        rt.log.appendEvent({ runId: ref.runId, type: 'agent.orphan_killed', payload: { pid } });
      }
      rt.log.appendEvent({ runId: ref.runId, type: 'agent.exited', payload: { pid, status: 'orphaned' } });
    }
    // A resume keeps what the run was started with (budget, --agent, --max-concurrency) unless it is given again;
    // the coordinator event records what this coordinator runs with, for the next one.
    const before = recorded.coordinatorPid !== null ? recordedRunOptions(rt.log, ref.runId) : null;
    const budget = options.budgetUsd ?? before?.budgetUsd ?? null;
    const agentOverride = options.agent ?? before?.agent;
    const maxConcurrency = options.maxConcurrency ?? before?.maxConcurrency;
    rt.log.appendEvent({
      runId: ref.runId,
      type: 'run.coordinator',
      payload: {
        pid: deps.processInfo.pid,
        budget_usd: budget,
        agent: agentOverride ?? null,
        max_concurrency: maxConcurrency ?? null,
      },
    });
    const ticketOf = await ensureTickets(c, ws, ref);
    await ws.runs.setStatus(ref.runId, 'active');
    await ws.runs.setPhase(ref.runId, '40_collaboration', 'active');
    const plan = await readRunArtifact(deps, ref.dir, 'plan', 'execution plan');
    const topology = await readRunArtifact(deps, ref.dir, 'topology');
    const bundle = await readRunArtifact(deps, ref.dir, 'bundle');
    const resilience = {
      clock: deps.clock,
      random: deps.random,
      breaker: rt.breaker,
      retry: retryPolicy(ws.policy),
      audit: rt.log,
    };
    const result = await executePlan(
      {
        ...deps,
        git,
        log: rt.log,
        agents: options.agents ?? {
          chain: rt.chain,
          adapter: rt.adapter,
          run: (chain, req, onEvent) => runChain(resilience, chain, req, onEvent),
        },
      },
      {
        runId: ref.runId,
        runDir: ref.dir,
        plan,
        topology,
        bundle,
        policy: ws.policy,
        tickets: runTicketStore(deps, ref.dir, (t) => {
          rt.log.appendEvent({
            runId: ref.runId,
            type: 'ticket.transition',
            ticketId: t.ticket,
            payload: { from: t.from, to: t.to, reason: t.reason },
          });
        }),
        hitl: createHitlStore(deps, ref.dir, (n) => ws.layout.lockFile(n)),
        ticketOf,
        repo,
        baseSha,
        maxConcurrency: maxConcurrency ?? ws.policy.run_policy.max_concurrency,
        budgetUsd: budget,
        agentOverride,
        signal: controller.signal,
        recordedDecisions: options.decisions,
      },
    );
    const status: RunStatus = result.status;
    await ws.runs.setPhase(
      ref.runId,
      '40_collaboration',
      status === 'completed' ? 'completed' : status === 'failed' ? 'failed' : 'active',
    );
    if (status === 'completed') {
      await ws.runs.setPhase(ref.runId, '50_audit', 'completed');
      if (plan.lifecycle_policy?.archive_on_merge !== false)
        await cleanup(c, repo, ref, Object.keys(plan.execution_graph), rt.log);
    }
    const reason = status === 'cancelled' ? cancelReasonOf(controller.signal) : result.reason;
    await ws.runs.setStatus(
      ref.runId,
      status,
      status === 'failed'
        ? {
            error: {
              message: result.reason ?? 'failed',
              phase: 'execution',
              ...(result.reason?.startsWith('budget_exceeded') ? { reason: 'budget_exceeded' } : {}),
            },
          }
        : status === 'cancelled'
          ? { error: { message: reason ?? 'cancelled', phase: 'execution', reason: 'cancelled' } }
          : {},
    );
    if (status === 'cancelled')
      rt.log.appendEvent({ runId: ref.runId, type: 'run.cancelled', payload: { reason, resumable: true } });
    await ws.sync(ref.runId);
    return summarize(c, ws, ref.runId, { reason, node_details: result.nodes });
  } finally {
    clearInterval(poll);
    options.signal?.removeEventListener('abort', onAbort);
    rt.close();
    await deps.fs.rm(lockFile, { force: true });
  }
}

/** Why a run was cancelled through `mso cancel` or `run_cancel` (the request file the coordinator polls). */
export const CANCEL_REQUESTED = 'cancelled by request (mso cancel or run_cancel)';

/** The reason a cancelled run records: the abort reason when it is a sentence, else a plain `interrupted`. */
export function cancelReasonOf(signal: AbortSignal | undefined): string {
  const r: unknown = signal?.reason;
  return typeof r === 'string' && r.trim() !== '' ? r : 'interrupted';
}

/** The options the run's last coordinator ran with: a resume, or a replay of the run, starts from them. */
export function recordedRunOptions(
  log: ReturnType<typeof openAuditLog>,
  runId: string,
): { budgetUsd: number | null; agent: string | undefined; maxConcurrency: number | undefined } {
  const row = log.db
    .prepare("SELECT payload FROM events WHERE run_id = ? AND type = 'run.coordinator' ORDER BY seq DESC LIMIT 1")
    .get(runId) as { payload: string } | undefined;
  const p = row ? (JSON.parse(row.payload) as Record<string, unknown>) : {};
  return {
    budgetUsd: typeof p['budget_usd'] === 'number' ? p['budget_usd'] : null,
    agent: typeof p['agent'] === 'string' ? p['agent'] : undefined,
    maxConcurrency: typeof p['max_concurrency'] === 'number' ? p['max_concurrency'] : undefined,
  };
}

async function provision(
  c: RunOpsContext,
  ws: Workspace,
  ref: RunRef,
  repoArg: string | undefined,
): Promise<{ repo: string; baseSha: string }> {
  const { deps, git, cwd } = c;
  const log = openAuditLog(deps, { file: ws.layout.auditDb, blobsDir: ws.layout.blobsDir, env: deps.env });
  try {
    const recorded = loadRecordedRun(log, ref.runId);
    if (recorded.repo && recorded.baseSha) return { repo: recorded.repo, baseSha: recorded.baseSha };
    let repo: string;
    if (repoArg !== undefined) {
      const top = await git.run(['rev-parse', '--show-toplevel'], resolve(cwd, repoArg));
      if (top.code !== 0)
        throw new InvalidArgumentError('--repo', `${resolve(cwd, repoArg)} is not inside a git repository`);
      repo = top.stdout.trim();
    } else {
      const top = await git.run(['rev-parse', '--show-toplevel'], cwd);
      if (top.code === 0) repo = top.stdout.trim();
      else {
        // No repository around: a fresh one inside the run folder, with an empty first commit as the base.
        repo = join(ref.dir, 'repo');
        await deps.fs.mkdir(repo, { recursive: true });
        await git.ok(['init', '-q', '-b', 'main'], repo);
        await git.ok(['commit', '--allow-empty', '-q', '-m', `mso: base of ${ref.runId}`], repo);
      }
    }
    const head = await git.run(['rev-parse', '--verify', 'HEAD'], repo);
    if (head.code !== 0) throw new InvalidArgumentError('--repo', `${repo} has no commit to start from`);
    const baseSha = head.stdout.trim();
    log.appendEvent({ runId: ref.runId, type: 'run.provisioned', payload: { repo, base_sha: baseSha } });
    log.recordSnapshot({
      runId: ref.runId,
      nodeId: 'provisioning',
      nodeType: 'commit',
      status: 'committed',
      agentRole: 'provisioning',
      phase: 1,
      treeHashRef: null,
      metadata: { repo, base_sha: baseSha },
    });
    return { repo, baseSha };
  } finally {
    log.close();
  }
}

/** Removes the run's worktrees (lifecycle archive_on_merge); branches mso/<run>/* keep the commits. */
async function cleanup(
  c: RunOpsContext,
  repo: string,
  ref: RunRef,
  nodes: readonly string[],
  log: ReturnType<typeof openAuditLog>,
): Promise<void> {
  const { deps, git } = c;
  const removed: string[] = [];
  for (const id of nodes) {
    const wt = join(ref.dir, 'worktree', id);
    if (!(await deps.fs.stat(wt).catch(() => undefined))) continue;
    const r = await git.run(['worktree', 'remove', '--force', wt], repo);
    if (r.code === 0) removed.push(id);
  }
  await git.run(['worktree', 'prune'], repo);
  log.appendEvent({
    runId: ref.runId,
    type: 'run.cleanup',
    payload: { removed_worktrees: removed, kept_branches: `mso/${ref.runId}/*` },
  });
}
