import { join, resolve } from 'node:path';
import { endProcessGroup, runChain } from '../agents/index.js';
import { acquireRunLease, LEASE_RENEW_MS, openAuditLog, type AuditLog, type RunLease } from '../audit/index.js';
import {
  InvalidArgumentError,
  OrphanSurvivedError,
  type PhaseDir,
  type PhaseStatus,
  type RunStatus,
} from '../contracts/index.js';
import {
  executePlan,
  loadRecordedRun,
  runBranchPrefix,
  type RecordedDecision,
  type RunnerDeps,
} from '../engine/index.js';
import { createHitlStore, type RunRef, type Workspace } from '../workspace/index.js';
import { openAgentRuntime, retryPolicy } from './agents-ops.js';
import { recordProvenance } from './provenance.js';
import { CANCEL_REQUEST } from './run-cancel.js';
import { ownRepoDir, readRunArtifact, runTicketStore } from './run-artifacts.js';
import { progressHook, runStartedEvent, type ProgressListener } from './run-progress.js';
import { ensureTickets, resumeScope, summarize, type RunOpsContext } from './run-support.js';
import type { ExecutionChoice, RunSummary } from './run-types.js';
import type { OpenedNodeQueue } from './distributed/node-queue.js';
import { chooseBackend } from './distributed/backend-choice.js';
import { applyDecisionRequest } from './run-decide.js';
import { cancelReasonOf, signalPollMs, watchRunSignals, type RunSignals } from './run-signals.js';
import { auditOptions } from './settings.js';
import { TOP_AND_HEAD, topAndHead } from './run-preflight.js';
import { lastCoordinatorRecord } from './coordinator-record.js';

/** How long an earlier coordinator's agent group gets between SIGTERM and SIGKILL. */
const ORPHAN_GRACE_MS = 3_000;

/**
 * Coordinates one run: takes the run's lease, provisions the repository, records provenance, ends a dead
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
    /** Start from a new, empty repository in the run folder (`--init`). */
    init?: boolean | undefined;
    signal?: AbortSignal | undefined;
    backend?: ExecutionChoice['backend'];
    redis?: string | undefined;
    remote?: string | undefined;
    queuePrefix?: string | undefined;
    /** Answers agent calls instead of the configured agents (replay). */
    agents?: RunnerDeps['agents'] | undefined;
    /** Answers human gates with an earlier run's decisions (offline replay). */
    decisions?: ReadonlyMap<string, RecordedDecision> | undefined;
    /** Receives the run's progress as it happens. */
    onProgress?: ProgressListener | undefined;
    /** The caller's open audit log (it closes it); else one is opened and closed here. */
    log?: AuditLog | undefined;
  },
): Promise<RunSummary> {
  const { deps, git } = c;
  const rt = openAgentRuntime(deps, ws, options.log);
  const cancelFile = join(ref.dir, CANCEL_REQUEST);
  const controller = new AbortController();
  // Why the run stops if it is cancelled: the request's reason, or the caller's (Ctrl-C, an MCP host gone).
  let cancelReason = 'cancelled';
  const stop = (why: string): void => {
    if (controller.signal.aborted) return;
    cancelReason = why;
    controller.abort();
  };
  const onAbort = (): void =>
    stop(typeof options.signal?.reason === 'string' ? options.signal.reason : 'interrupted (Ctrl-C)');
  const timers: NodeJS.Timeout[] = [];
  let lease: RunLease | undefined;
  let queue: OpenedNodeQueue | undefined;
  let signals: RunSignals | undefined;
  try {
    signalPollMs(deps.env); // a bad MSO_SIGNAL_POLL_MS is refused before anything is written
    // The distributed backend's Redis is reached before the lease and the first write: unreachable, nothing changes.
    const chosen = await chooseBackend(c, ws, rt.log, ref.runId, options);
    queue = chosen.queue;
    // One coordinator per run: a live holder refuses us here, before anything is written.
    lease = acquireRunLease(rt.log, { processInfo: deps.processInfo, now: () => deps.clock.now() }, ref.runId);
    // The run goes live before its first write: refused a max_active_runs slot, it stays as it was.
    await ws.runs.setStatus(ref.runId, 'active');
    if (lease.stolenFrom)
      rt.log.appendEvent({
        runId: ref.runId,
        type: 'run.lease_taken_over',
        payload: {
          from_pid: lease.stolenFrom.pid,
          from_host: lease.stolenFrom.host,
          since: lease.stolenFrom.acquiredAt,
        },
      });
    const held = lease;
    await deps.fs.rm(cancelFile, { force: true });
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    timers.push(
      setInterval(() => {
        void deps.fs.readFile(cancelFile, 'utf8').then(
          (text) => stop(cancelReasonOf(text)),
          () => undefined,
        );
      }, 300),
      setInterval(() => {
        // Another process took the lease (we were presumed dead): stop before both act on the same worktrees.
        if (!held.renew()) stop('another coordinator took over the run');
      }, LEASE_RENEW_MS),
    );
    // Decisions and cancel requests recorded by other processes (any machine that reaches the store) reach this run.
    const q = queue;
    const hitl = createHitlStore(deps, ref.dir, (n) => ws.layout.lockFile(n));
    signals = await watchRunSignals({
      deps,
      log: rt.log,
      runId: ref.runId,
      auditUrl: auditOptions(ws, deps).url,
      redis: q ? (channel, on) => q.subscribe(channel, on) : undefined,
      redisPrefix: q?.prefix,
      onCancel: stop,
      onDecisionRequest: async (payload) => {
        if (await applyDecisionRequest(hitl, rt.log, ref.runId, payload)) await ws.sync(ref.runId);
      },
    });
    const { repo, baseSha } = await provision(c, rt.log, ref, options.repo, options.init === true);
    await recordProvenance(deps, ws, ref, rt.log, { repo, baseSha });
    deps.faults?.point('run.provisioned');
    const recorded = loadRecordedRun(rt.log, ref.runId);
    await endOrphans(c, rt.log, ref.runId, recorded.livePids);
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
        ...chosen.record,
        budget_usd: budget,
        agent: agentOverride ?? null,
        max_concurrency: maxConcurrency ?? null,
      },
    });
    const ticketOf = await ensureTickets(c, ws, ref);
    await ws.runs.setPhase(ref.runId, '40_collaboration', 'active');
    const plan = await readRunArtifact(deps, ref.dir, 'plan', 'execution plan');
    const topology = await readRunArtifact(deps, ref.dir, 'topology');
    const bundle = await readRunArtifact(deps, ref.dir, 'bundle');
    const now = (): Date => deps.clock.now();
    const onProgress = progressHook(ref.runId, now, options.onProgress, (v) => rt.log.redactor.value(v));
    if (onProgress) {
      const started = runStartedEvent(ref.runId, now, plan, loadRecordedRun(rt.log, ref.runId), agentOverride);
      onProgress({ type: started.type, nodeId: null, payload: started.payload });
    }
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
        backend: queue ? { queue, remote: chosen.remote ?? repo } : undefined,
        agents: options.agents ?? {
          chain: rt.chain,
          adapter: rt.adapter,
          run: (chain, req, onEvent) => runChain(resilience, chain, req, onEvent),
        },
      },
      {
        runId: ref.runId,
        runDir: ref.dir,
        goal: Object.keys(plan.execution_graph).length > 1 ? ref.manifest.goal : undefined,
        plan,
        topology,
        bundle,
        policy: ws.policy,
        // The engine records each move of its tickets (`ticket.transition`) with its node's events.
        tickets: runTicketStore(deps, ref.dir),
        hitl,
        ticketOf,
        repo,
        // mso's own folders, and a file its output goes to (`mso run > run.log` in the repository) is its own writing.
        ownRoots: [ws.layout.root, ws.layout.observationRoot, ...(c.deps.processInfo.outputFiles?.() ?? [])],
        baseSha,
        maxConcurrency: maxConcurrency ?? ws.policy.run_policy.max_concurrency,
        budgetUsd: budget,
        agentOverride,
        signal: controller.signal,
        decided: signals,
        recordedDecisions: options.decisions,
        onProgress,
      },
    );
    const status: RunStatus = result.status;
    if (status === 'completed' && plan.lifecycle_policy?.archive_on_merge !== false)
      await cleanup(c, repo, ref, Object.keys(plan.execution_graph), rt.log);
    const reason = status === 'cancelled' && controller.signal.aborted ? `cancelled: ${cancelReason}` : result.reason;
    // The phases and the status in one write of the manifest.
    const phases: Array<readonly [PhaseDir, PhaseStatus]> = [
      ['40_collaboration', status === 'completed' ? 'completed' : status === 'failed' ? 'failed' : 'active'],
      ...(status === 'completed' ? [['50_audit', 'completed'] as const] : []),
    ];
    await ws.runs.setStatus(ref.runId, status, {
      phases,
      // What a completed run went on without (failed branches its merges went past) stays beside its status.
      ...(status === 'completed' && result.reason ? { note: result.reason } : {}),
      ...(status === 'failed'
        ? {
            error: {
              message: result.reason ?? 'failed',
              phase: 'execution',
              ...(result.reason?.startsWith('budget_exceeded') ? { reason: 'budget_exceeded' } : {}),
            },
          }
        : status === 'cancelled'
          ? { error: { message: reason ?? 'cancelled', phase: 'execution', reason: 'cancelled' } }
          : {}),
    });
    if (status === 'cancelled') {
      // Not resumable when every unfinished node's ticket was cancelled: a resume would skip them all.
      const tickets = await runTicketStore(deps, ref.dir)
        .list()
        .catch(() => []);
      const { resumable } = resumeScope(plan.execution_graph, (id) => result.nodes[id]?.state ?? 'pending', tickets);
      rt.log.appendEvent({ runId: ref.runId, type: 'run.cancelled', payload: { reason, resumable } });
    }
    await ws.sync(ref.runId);
    return summarize(c, ws, ref.runId, { reason, node_details: result.nodes });
  } finally {
    for (const t of timers) clearInterval(t);
    options.signal?.removeEventListener('abort', onAbort);
    await signals?.close();
    lease?.release();
    await queue?.close();
    rt.close();
  }
}

/**
 * A dead coordinator's agents must not keep working on our worktrees: each process group it spawned and never saw
 * exit is ended (SIGTERM, a grace, SIGKILL) and verified gone, and its attempts still marked running are closed as
 * interrupted. A group that survives SIGKILL stops the resume: its node must not run twice at once.
 */
async function endOrphans(
  c: RunOpsContext,
  log: AuditLog,
  runId: string,
  pids: ReadonlyMap<number, string | null>,
): Promise<void> {
  const { deps } = c;
  const survivors: number[] = [];
  for (const [pid, start] of pids) {
    // A pid now held by a process started at another time is not the agent we spawned: leave it alone.
    // (A dead leader may leave its group behind, and Linux reuses no pid that still names a group: end that group.)
    const now = deps.processInfo.startId(pid);
    const reused = start !== null && now !== null && now !== start;
    const end = reused ? { gone: true, signal: null } : await endProcessGroup(deps, pid, { graceMs: ORPHAN_GRACE_MS });
    if (end.signal) log.appendEvent({ runId, type: 'agent.orphan_killed', payload: { pid, signal: end.signal } });
    if (!end.gone) {
      survivors.push(pid);
      continue;
    }
    log.appendEvent({ runId, type: 'agent.exited', payload: { pid, status: 'orphaned' } });
  }
  if (survivors.length) throw new OrphanSurvivedError(runId, survivors);
  const closed = log.db
    .prepare(
      `UPDATE attempts SET status = 'cancelled', error_class = 'interrupted', ended_at = ?,
         error_message = 'the coordinator stopped during this attempt (killed or crashed); closed on resume'
       WHERE run_id = ? AND status = 'running'`,
    )
    .run(deps.clock.now().toISOString(), runId);
  if (closed.changes > 0) log.appendEvent({ runId, type: 'attempts.interrupted', payload: { count: closed.changes } });
}

/** The options the run's last coordinator ran with: a resume, or a replay of the run, starts from them. */
export function recordedRunOptions(
  log: ReturnType<typeof openAuditLog>,
  runId: string,
): { budgetUsd: number | null; agent: string | undefined; maxConcurrency: number | undefined } {
  const p = lastCoordinatorRecord(log, runId);
  return {
    budgetUsd: typeof p['budget_usd'] === 'number' ? p['budget_usd'] : null,
    agent: typeof p['agent'] === 'string' ? p['agent'] : undefined,
    maxConcurrency: typeof p['max_concurrency'] === 'number' ? p['max_concurrency'] : undefined,
  };
}

/** The repository the run branches from and its base commit: recorded by its first coordinator, else found now. */
async function provision(
  c: RunOpsContext,
  log: AuditLog,
  ref: RunRef,
  repoArg: string | undefined,
  init: boolean,
): Promise<{ repo: string; baseSha: string }> {
  const { deps, git, cwd } = c;
  const recorded = loadRecordedRun(log, ref.runId);
  if (recorded.repo && recorded.baseSha) return { repo: recorded.repo, baseSha: recorded.baseSha };
  let dir: string;
  if (repoArg !== undefined) dir = resolve(cwd, repoArg);
  else if (init) {
    // --init: a fresh repository inside the run folder, with an empty first commit as the base.
    dir = ownRepoDir(ref.dir);
    await deps.fs.mkdir(dir, { recursive: true });
    await git.ok(['init', '-q', '-b', 'main'], dir);
    await git.ok(['commit', '--allow-empty', '-q', '-m', `mso: base of ${ref.runId}`], dir);
  } else dir = cwd;
  // The repository, its commit and whether it has uncommitted changes, in one process.
  const found = await git.sequence(
    [{ args: TOP_AND_HEAD, apart: true }, ['status', '--porcelain', '--untracked-files=no']],
    dir,
  );
  const { top, head: baseSha } = topAndHead(found.apart ?? { code: 1, stdout: '' });
  // A new repository is named by the path it was made at, as before (git names its real path).
  const repo = top !== null && init && repoArg === undefined ? dir : top;
  if (repo === null)
    // The callers checked this before writing anything (assertRepoSource); a repository gone since is refused too.
    throw repoArg !== undefined
      ? new InvalidArgumentError('--repo', `${dir} is not inside a git repository`)
      : new InvalidArgumentError(
          'repository',
          `${cwd} is not inside a git repository: pass --init to start from a new, empty repository, or --repo PATH`,
        );
  if (baseSha === null) throw new InvalidArgumentError('--repo', `${repo} has no commit to start from`);
  if (found.failed === null && found.stdout.trim() !== '')
    deps.logger.warn(
      `${repo} has uncommitted changes: nodes start from HEAD ${baseSha.slice(0, 12)} and do not see them (commit them first if they should)`,
    );
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
}

/** The repository a run branched from, once it was provisioned (null for a run that never executed). */
export function provisionedRepo(c: RunOpsContext, ws: Workspace, runId: string): string | null {
  const log = openAuditLog(c.deps, auditOptions(ws, c.deps));
  try {
    return loadRecordedRun(log, runId).repo ?? null;
  } finally {
    log.close();
  }
}

/**
 * Removes the run's worktrees (lifecycle archive_on_merge); branches mso/<run>/* keep the commits. A folder that cannot
 * be removed (files an agent left read-only, which an unprivileged user cannot delete) is kept and named in a warning
 * and in the `run.cleanup` event: the run's nodes are done and their commits are on the branches, so it stays completed.
 */
async function cleanup(
  c: RunOpsContext,
  repo: string,
  ref: RunRef,
  nodes: readonly string[],
  log: ReturnType<typeof openAuditLog>,
): Promise<void> {
  const { deps, git } = c;
  // Deleting the folders and pruning once is what `git worktree remove --force` does for each, in one git process.
  // The folders go side by side: one after the other, a fan-out's took longer than the rest of its run's end.
  const outcomes = await Promise.all(
    nodes.map(async (node): Promise<{ node: string; path: string; gone: boolean; reason?: string }> => {
      const path = join(ref.dir, 'worktree', node);
      if (!(await deps.fs.stat(path).catch(() => undefined))) return { node, path, gone: false };
      try {
        await deps.fs.rm(path, { recursive: true, force: true });
        return { node, path, gone: true };
      } catch (e) {
        return { node, path, gone: false, reason: (e as Error).message };
      }
    }),
  );
  const removed = outcomes.filter((o) => o.gone).map((o) => o.node);
  const kept = outcomes.flatMap((o) =>
    o.reason === undefined ? [] : [{ node: o.node, path: o.path, reason: o.reason }],
  );
  await git.run(['worktree', 'prune'], repo);
  for (const k of kept)
    deps.logger.warn(
      `could not remove the worktree of node ${k.node} (${k.reason}); the run's result is on its branch. ` +
        `Remove ${k.path} by hand (chmod -R u+w first if it holds read-only files), then run git worktree prune`,
    );
  log.appendEvent({
    runId: ref.runId,
    type: 'run.cleanup',
    payload: {
      removed_worktrees: removed,
      kept_branches: `${runBranchPrefix(ref.runId)}*`,
      ...(kept.length > 0 ? { kept_worktrees: kept } : {}),
    },
  });
}
