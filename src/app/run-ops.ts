import { dirname, join, resolve } from 'node:path';
import { runChain } from '../agents/index.js';
import { openAuditLog } from '../audit/index.js';
import {
  InvalidArgumentError,
  NotFoundError,
  RunBusyError,
  UsageError,
  type HitlItem,
  type RunStatus,
} from '../contracts/index.js';
import { toText, type Risk } from '../design/index.js';
import {
  compareRuns,
  createGit,
  executePlan,
  loadRecordedCalls,
  loadRecordedRun,
  recordHumanDecision,
  recordedDecisions,
  replayAgents,
  type RecordedDecision,
  type Divergence,
  type NodeRecord,
  type RunnerDeps,
  type RunnerResult,
} from '../engine/index.js';
import {
  createHitlStore,
  parseRunId,
  readTextIfExists,
  writeFileAtomic,
  type RunRef,
  type Workspace,
} from '../workspace/index.js';
import { openAgentRuntime, retryPolicy } from './agents-ops.js';
import type { AppDeps } from './create-app.js';
import type { DesignOps, ValidationReport } from './design-ops.js';
import type { ObserveOps } from './observe-ops.js';
import { currentHashes, readProvenance, recordProvenance } from './provenance.js';
import { ARTIFACT_PATHS, readRunArtifact, runTicketStore, ticketsByNode } from './run-artifacts.js';

/** The run's readme in its observation folder. */
const README = 'readme.md';

export interface RunRequest {
  readonly goal?: string | undefined;
  readonly goalFile?: string | undefined;
  readonly workflow?: string | undefined;
  readonly runId?: string | undefined;
  readonly risk?: Risk | undefined;
  readonly planner?: 'heuristic' | 'llm' | undefined;
  readonly pattern?: 'parallel' | 'hierarchical' | undefined;
  readonly maxDepth?: number | undefined;
  readonly autoAssign?: boolean | undefined;
  readonly agent?: string | undefined;
  readonly maxConcurrency?: number | undefined;
  readonly budgetUsd?: number | undefined;
  readonly repo?: string | undefined;
  readonly dryRun?: boolean | undefined;
  /** Apply accepted proposals for this goal or workflow before the gate (default true). */
  readonly applyProposals?: boolean | undefined;
  /** Aborted on Ctrl-C. */
  readonly signal?: AbortSignal | undefined;
}

/** The summary `mso run`, `resume` and `status` print. */
export interface RunSummary {
  readonly run_id: string;
  readonly status: RunStatus;
  readonly reason: string | null;
  readonly nodes: Record<string, number>;
  readonly tickets: Record<string, number>;
  readonly cost_usd: number;
  readonly duration_ms: number;
  readonly observation_readme: string;
  readonly pending_human: readonly string[];
  readonly plan?: string;
  readonly governance?: ValidationReport;
  readonly proposals_applied?: readonly string[];
  readonly findings?: number;
  readonly node_details?: RunnerResult['nodes'];
}

export interface RunOps {
  run(input: RunRequest): Promise<RunSummary>;
  resume(
    runId: string,
    options?: {
      budgetUsd?: number | undefined;
      maxConcurrency?: number | undefined;
      agent?: string | undefined;
      signal?: AbortSignal | undefined;
    },
  ): Promise<RunSummary>;
  cancel(runId: string): Promise<{ run_id: string; requested: boolean; coordinator: number | null }>;
  /**
   * Replays a recorded run as a new run linked to it: `offline` answers every agent call from the record and checks
   * each node's outcome, ticket and tree hash against it; `from` reuses what NODE does not depend on and runs NODE
   * and its descendants again (live, or from the record when also offline).
   */
  replay(runId: string, options: ReplayOptions): Promise<ReplayReport>;
  status(runId?: string): Promise<RunSummary | { runs: Array<{ run_id: string; status: string }> }>;
  /** The run's observation readme (Markdown), or null before the run was first mirrored. */
  readme(runId: string): Promise<string | null>;
  decide(
    runId: string,
    item: string,
    decision: 'approved' | 'rejected',
    note?: string,
  ): Promise<{ run_id: string; item: HitlItem; changed: boolean }>;
}

export interface ReplayOptions {
  readonly offline?: boolean | undefined;
  readonly from?: string | undefined;
  readonly as?: string | undefined;
  readonly allowChanged?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface ReplayReport {
  readonly run_id: string;
  readonly replay_of: string;
  readonly mode: 'offline' | 'live';
  readonly from: string | null;
  /** Nodes taken from the record without running (with --from). */
  readonly reused: readonly string[];
  /** Agent and gate calls answered from the record (offline). */
  readonly answered: number;
  /** Offline only: true when every node's outcome, ticket and tree hash equal the record. */
  readonly identical: boolean | null;
  readonly divergence: Divergence | null;
  readonly divergences: readonly Divergence[];
  readonly changed_inputs: readonly string[];
  readonly summary: RunSummary;
}

const count = (values: readonly string[]): Record<string, number> =>
  values.reduce<Record<string, number>>((m, v) => ((m[v] = (m[v] ?? 0) + 1), m), {});

/** The engine's use cases: run a goal or workflow, resume, cancel, watch, decide human items. */
export function createRunOps(
  deps: AppDeps,
  cwd: string,
  open: (create?: boolean) => Promise<Workspace>,
  design: DesignOps,
  observe: ObserveOps,
): RunOps {
  const now = (): Date => deps.clock.now();
  const git = createGit({ proc: deps.proc, env: deps.env });

  async function provision(
    ws: Workspace,
    ref: RunRef,
    repoArg: string | undefined,
  ): Promise<{ repo: string; baseSha: string }> {
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

  async function ensureTickets(ws: Workspace, ref: RunRef): Promise<Map<string, string>> {
    const plan = await readRunArtifact(deps, ref.dir, 'plan', 'execution plan');
    const store = runTicketStore(deps, ref.dir);
    const existing = new Map(
      (await store.list())
        .filter((t) => t.doc.frontmatter.node_id)
        .map((t) => [t.doc.frontmatter.node_id as string, t.doc.frontmatter.id]),
    );
    for (const [id, n] of Object.entries(plan.execution_graph)) {
      if (existing.has(id)) continue;
      const t = await store.create({
        title: n.label ?? id,
        nodeId: id,
        runId: ref.runId,
        persona: n.persona,
        tags: [n.type],
        dependencies: n.parent_refs.map((p) => existing.get(p)).filter((x): x is string => Boolean(x)),
        body: n.command ? `Command: \`${n.command}\`` : undefined,
      });
      existing.set(id, t.doc.frontmatter.id);
    }
    return existing;
  }

  async function ticketStatusByNode(runDir: string): Promise<Map<string, string>> {
    return new Map([...(await ticketsByNode(deps, runDir))].map(([node, t]) => [node, t.status]));
  }

  async function summarize(ws: Workspace, runId: string, extra: Partial<RunSummary> = {}): Promise<RunSummary> {
    const ref = await ws.runs.get(runId);
    const log = openAuditLog(deps, { file: ws.layout.auditDb, blobsDir: ws.layout.blobsDir, env: deps.env });
    let recorded;
    try {
      recorded = loadRecordedRun(log, runId);
    } finally {
      log.close();
    }
    const tickets = await runTicketStore(deps, ref.dir)
      .list()
      .catch(() => []);
    const hitl = await createHitlStore(deps, ref.dir, (n) => ws.layout.lockFile(n)).list();
    const plan = await readRunArtifact(deps, ref.dir, 'plan').catch(() => null);
    const nodeStates = plan
      ? Object.keys(plan.execution_graph).map((id) => recorded.nodes.get(id)?.state ?? 'pending')
      : [];
    const m = ref.manifest;
    return {
      run_id: runId,
      status: m.status,
      reason: m.error?.message ?? null,
      nodes: count(nodeStates),
      tickets: count(tickets.map((t) => t.doc.frontmatter.status)),
      cost_usd: Math.round(recorded.cost * 1e6) / 1e6,
      duration_ms: Math.max(0, Date.parse(m.completed_at ?? m.updated_at) - Date.parse(m.created_at)),
      observation_readme: join(ws.layout.observationRunDir(runId), README),
      pending_human: hitl.filter((h) => h.status === 'pending').map((h) => `${h.id}: ${h.title}`),
      ...extra,
    };
  }

  async function execute(
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
    const lockFile = join(ref.dir, 'coordinator.pid');
    const holder = Number((await readTextIfExists(deps.fs, lockFile))?.trim() ?? NaN);
    if (Number.isInteger(holder) && holder !== deps.processInfo.pid && deps.processInfo.isAlive(holder))
      throw new RunBusyError(ref.runId, holder);
    await writeFileAtomic(deps, lockFile, `${deps.processInfo.pid}\n`);
    const cancelFile = join(ref.dir, 'cancel.request');
    await deps.fs.rm(cancelFile, { force: true });
    const controller = new AbortController();
    const onAbort = (): void => controller.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const poll = setInterval(() => {
      void deps.fs.stat(cancelFile).then(
        () => controller.abort(),
        () => undefined,
      );
    }, 300);
    const rt = openAgentRuntime(deps, ws);
    try {
      const { repo, baseSha } = await provision(ws, ref, options.repo);
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
      const ticketOf = await ensureTickets(ws, ref);
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
          await cleanup(repo, ref, Object.keys(plan.execution_graph), rt.log);
      }
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
          : {},
      );
      await ws.sync(ref.runId);
      return summarize(ws, ref.runId, { reason: result.reason, node_details: result.nodes });
    } finally {
      clearInterval(poll);
      options.signal?.removeEventListener('abort', onAbort);
      rt.close();
      await deps.fs.rm(lockFile, { force: true });
    }
  }

  /** The options the run's last coordinator ran with: a resume, or a replay of the run, starts from them. */
  function recordedRunOptions(
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

  /** Removes the run's worktrees (lifecycle archive_on_merge); branches mso/<run>/* keep the commits. */
  async function cleanup(
    repo: string,
    ref: RunRef,
    nodes: readonly string[],
    log: ReturnType<typeof openAuditLog>,
  ): Promise<void> {
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

  /** The run's own observability pass (mode event); it never fails the run. */
  async function observeAfter(runId: string): Promise<{ findings?: number }> {
    try {
      const [r] = await observe.observe({ runId, mode: 'event' });
      return { findings: r?.findings.length ?? 0 };
    } catch (e) {
      deps.logger.warn(`observability after ${runId} failed: ${(e as Error).message}`);
      return {};
    }
  }

  return {
    async run(input) {
      const sources = [input.goal, input.goalFile, input.workflow].filter((x) => x !== undefined).length;
      if (sources !== 1)
        throw new InvalidArgumentError('goal', 'give exactly one of --goal, --goal-file or --workflow');
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
      const gate = await design.validate(designed.run_id, 'all');
      const ref = await ws.runs.get(designed.run_id);
      const topology = await readRunArtifact(deps, ref.dir, 'topology');
      const plan = await readRunArtifact(deps, ref.dir, 'plan');
      const planText = toText(topology, plan);
      if (gate.status === 'fail') {
        await ws.runs.setStatus(ref.runId, 'failed', {
          error: {
            message: `governance gate failed: ${gate.errors} errors (see ${gate.report})`,
            phase: '70_governance',
          },
        });
        await ws.sync(ref.runId);
        return summarize(ws, ref.runId, { governance: gate, plan: planText });
      }
      if (input.dryRun) {
        await ws.runs.setStatus(ref.runId, 'completed', { tags: ['dry-run'] });
        await ws.sync(ref.runId);
        return summarize(ws, ref.runId, {
          governance: gate,
          plan: planText,
          reason: 'dry run: stopped after the governance gate',
        });
      }
      const summary = await execute(ws, ref, {
        budgetUsd: input.budgetUsd,
        maxConcurrency: input.maxConcurrency,
        agent: input.agent,
        repo: input.repo,
        signal: input.signal,
      });
      return { ...summary, ...(await observeAfter(ref.runId)), proposals_applied: shaped.applied };
    },
    async resume(runId, options = {}) {
      const ws = await open(true);
      const ref = await ws.runs.get(runId);
      if (ref.manifest.status === 'completed' || ref.manifest.status === 'archived')
        return summarize(ws, runId, { reason: `run is ${ref.manifest.status}: nothing to resume` });
      const summary = await execute(ws, ref, options);
      return { ...summary, ...(await observeAfter(runId)) };
    },
    async cancel(runId) {
      const ws = await open(true);
      const ref = await ws.runs.get(runId);
      const holder = Number((await readTextIfExists(deps.fs, join(ref.dir, 'coordinator.pid')))?.trim() ?? NaN);
      const live = Number.isInteger(holder) && deps.processInfo.isAlive(holder);
      await writeFileAtomic(deps, join(ref.dir, 'cancel.request'), `${now().toISOString()}\n`);
      const log = openAuditLog(deps, { file: ws.layout.auditDb, blobsDir: ws.layout.blobsDir, env: deps.env });
      try {
        log.appendEvent({ runId, type: 'run.cancel_requested', payload: { coordinator: live ? holder : null } });
      } finally {
        log.close();
      }
      if (!live && ['created', 'active', 'awaiting_human'].includes(ref.manifest.status))
        await ws.runs.setStatus(runId, 'cancelled');
      return { run_id: runId, requested: true, coordinator: live ? holder : null };
    },
    async replay(runId, o) {
      if (!o.offline && o.from === undefined) throw new UsageError('give --offline, --from NODE, or both');
      const ws = await open(true);
      const orig = await ws.runs.get(runId);
      const log = openAuditLog(deps, { file: ws.layout.auditDb, blobsDir: ws.layout.blobsDir, env: deps.env });
      let newRef: RunRef;
      let calls: Awaited<ReturnType<typeof loadRecordedCalls>> | undefined;
      let changed: string[];
      const reused: string[] = [];
      let expected: Map<string, NodeRecord>;
      let order: string[];
      let runOptions: ReturnType<typeof recordedRunOptions>;
      try {
        const prov = readProvenance(log, runId);
        if (!prov)
          throw new InvalidArgumentError(
            'run',
            `${runId} has no recorded provenance (it never executed): nothing to replay`,
          );
        runOptions = recordedRunOptions(log, runId);
        const now = await currentHashes(deps, ws, orig.dir);
        changed = (['topology', 'bundle', 'plan', 'policy'] as const).filter((k) => now[k] !== prov.hashes[k]);
        if (changed.length && !o.allowChanged)
          throw new InvalidArgumentError(
            'run',
            `${changed.join(', ')} of ${runId} changed since it ran (hash differs from its provenance); pass --allow-changed to replay anyway`,
          );
        const plan = await readRunArtifact(deps, orig.dir, 'plan');
        const graph = plan.execution_graph;
        if (o.from !== undefined && !graph[o.from])
          throw new InvalidArgumentError(
            '--from',
            `${o.from} is not a node of ${runId} (nodes: ${Object.keys(graph).join(', ')})`,
          );
        const recorded = loadRecordedRun(log, runId);
        const rows = log.db
          .prepare('SELECT type, node_id, payload FROM events WHERE run_id = ? ORDER BY seq')
          .all(runId) as Array<{ type: string; node_id: string | null; payload: string }>;
        if (o.offline) calls = await loadRecordedCalls(rows, (hash) => log.inspectBlob(hash));
        // Execution order of the record: first start of each node, then any the record never started.
        order = [
          ...new Set([
            ...rows.filter((r) => r.type === 'node.attempt' && r.node_id).map((r) => r.node_id as string),
            ...Object.keys(graph),
          ]),
        ];
        const origTickets = await ticketStatusByNode(orig.dir);
        expected = new Map(
          Object.keys(graph).map((id) => [
            id,
            {
              state: recorded.nodes.get(id)?.state ?? 'pending',
              treeHash: recorded.nodes.get(id)?.treeHash ?? null,
              ticket: origTickets.get(id) ?? null,
            },
          ]),
        );
        const { skillKey, caseSlug } = parseRunId(runId);
        newRef = await ws.runs.create({
          id: o.as !== undefined ? { runId: o.as } : { skillKey, caseSlug: `${caseSlug.slice(0, 40)}-replay` },
          ...(orig.manifest.goal ? { goal: orig.manifest.goal } : {}),
          tags: ['replay'],
          parentRunId: runId,
        });
        for (const f of [ARTIFACT_PATHS.topology, ARTIFACT_PATHS.bundle, ARTIFACT_PATHS.plan]) {
          const bytes = await deps.fs.readFile(join(orig.dir, f));
          await deps.fs.mkdir(dirname(join(newRef.dir, f)), { recursive: true });
          await writeFileAtomic(deps, join(newRef.dir, f), bytes);
        }
        const newId = newRef.runId;
        log.appendEvent({
          runId: newId,
          type: 'run.replay_of',
          payload: { of: runId, offline: Boolean(o.offline), from: o.from ?? null, changed_inputs: changed },
        });
        log.appendEvent({
          runId: newId,
          type: 'run.provisioned',
          payload: { repo: prov.repo, base_sha: prov.base_sha },
        });
        if (o.from !== undefined) {
          // Reuse every node that is not `from` or one of its descendants, exactly as recorded.
          const rerun = new Set([o.from]);
          for (let grew = true; grew;) {
            grew = false;
            for (const [id, n] of Object.entries(graph))
              if (!rerun.has(id) && n.parent_refs.some((p) => rerun.has(p))) grew = rerun.add(id).size > 0;
          }
          const committed = new Map(
            rows.filter((r) => r.type === 'node.committed' && r.node_id).map((r) => [r.node_id as string, r.payload]),
          );
          for (const id of Object.keys(graph)) {
            if (rerun.has(id) || recorded.nodes.get(id)?.state !== 'done' || !committed.has(id)) continue;
            const payload = JSON.parse(committed.get(id) as string) as Record<string, unknown>;
            log.appendEvent({
              runId: newId,
              type: 'node.committed',
              nodeId: id,
              payload: { ...payload, reused_from: runId },
            });
            log.appendEvent({
              runId: newId,
              type: 'node.state',
              nodeId: id,
              payload: { state: 'done', detail: `reused from ${runId}` },
            });
            reused.push(id);
          }
        }
      } finally {
        log.close();
      }
      const ticketOf = await ensureTickets(ws, newRef);
      const store = runTicketStore(deps, newRef.dir);
      for (const id of reused) {
        const t = ticketOf.get(id);
        if (!t) continue;
        await store.move(t, 'in_progress', `reused from ${runId}`);
        await store.move(t, 'done', `reused from ${runId}`);
      }
      const replayed = calls ? replayAgents(calls, git, deps.clock) : undefined;
      // Offline, the people's decisions are replayed too: each gate gets the answer it got in the record.
      const decisions = o.offline
        ? recordedDecisions(await createHitlStore(deps, orig.dir, (n) => ws.layout.lockFile(n)).list())
        : undefined;
      // The replay runs with the options the record ran with (budget, --agent, --max-concurrency).
      const summary = await execute(ws, newRef, {
        signal: o.signal,
        budgetUsd: runOptions.budgetUsd ?? undefined,
        agent: runOptions.agent,
        maxConcurrency: runOptions.maxConcurrency,
        ...(replayed ? { agents: replayed.agents, decisions } : {}),
      });
      let divergences: Divergence[] = [];
      if (replayed) {
        const after = openAuditLog(deps, { file: ws.layout.auditDb, blobsDir: ws.layout.blobsDir, env: deps.env });
        try {
          const rec = loadRecordedRun(after, newRef.runId);
          const tickets = await ticketStatusByNode(newRef.dir);
          const actual = new Map(
            [...expected.keys()].map((id) => [
              id,
              {
                state: rec.nodes.get(id)?.state ?? 'pending',
                treeHash: rec.nodes.get(id)?.treeHash ?? null,
                ticket: tickets.get(id) ?? null,
              },
            ]),
          );
          divergences = compareRuns(order, expected, actual, replayed.notes.notes);
          after.appendEvent({
            runId: newRef.runId,
            type: 'replay.verdict',
            payload: { of: runId, identical: divergences.length === 0, first: divergences[0] ?? null },
          });
        } finally {
          after.close();
        }
      }
      return {
        run_id: newRef.runId,
        replay_of: runId,
        mode: o.offline ? 'offline' : 'live',
        from: o.from ?? null,
        reused,
        answered: replayed?.notes.answered ?? 0,
        identical: replayed ? divergences.length === 0 : null,
        divergence: divergences[0] ?? null,
        divergences,
        changed_inputs: changed,
        summary,
      };
    },
    async readme(runId) {
      const ws = await open(false);
      await ws.runs.get(runId);
      return (await readTextIfExists(deps.fs, join(ws.layout.observationRunDir(runId), README))) ?? null;
    },
    async status(runId) {
      const ws = await open(false);
      if (runId === undefined)
        return {
          runs: (await ws.runs.list())
            .filter((r) => ['created', 'active', 'awaiting_human', 'cancelled'].includes(r.status))
            .map((r) => ({ run_id: r.run_id, status: r.status })),
        };
      return summarize(ws, runId);
    },
    async decide(runId, itemId, decision, note) {
      const ws = await open(true);
      const ref = await ws.runs.get(runId);
      const store = createHitlStore(deps, ref.dir, (n) => ws.layout.lockFile(n));
      const by = ws.layout.observerId;
      const r = await store.decide(itemId, decision, by, note ?? null);
      if (r.changed) {
        const log = openAuditLog(deps, { file: ws.layout.auditDb, blobsDir: ws.layout.blobsDir, env: deps.env });
        try {
          recordHumanDecision(log, runId, r.item, store.file(itemId));
        } finally {
          log.close();
        }
        await ws.sync(runId);
      }
      return { run_id: runId, item: r.item, changed: r.changed };
    },
  };
}
