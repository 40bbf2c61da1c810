import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { AuditLog } from '../audit/index.js';
import type { ExecutionPlan, HitlItem, MentalModelBundle, Policy, WorkflowTopologySpec } from '../contracts/index.js';
import type { TicketStore } from '../tickets/index.js';
import type { HitlStore } from '../workspace/index.js';
import type { HumanGates } from './human-gates.js';
import { loopEdges } from './node-rules.js';
import { runNode } from './node-step.js';
import { createRecordingLog, type Recording, type RecordedWrite } from './recording-log.js';
import { createRunContext, type RunContext } from './run-context.js';
import type { RecordedNode } from './run-state.js';
import type { RunnerDeps } from './runner.js';
import type { NodeOutcome } from './scheduler.js';

/** A person's answer the coordinator knows for one of the node's human items, by kind. */
export interface KnownDecision {
  readonly status: HitlItem['status'];
  readonly id: string;
  readonly by: string | null;
  readonly note: string | null;
}

/**
 * Everything a worker needs to run one node of a run: the node with its parents and their recorded results, the
 * slice of the plan, topology and mental models its instructions come from, the run's policy, and the git remote and
 * commit to start from. Plain JSON (it travels through Redis).
 */
export interface NodeJob {
  readonly v: 1;
  readonly jobId: string;
  readonly runId: string;
  readonly nodeId: string;
  /** The agent the node needs; only a worker that has it takes the job. */
  readonly lane: string;
  readonly remote: string;
  /** The run's base commit, and the commit this node starts from (both reachable in `remote`). */
  readonly runBase: string;
  readonly base: string;
  readonly plan: ExecutionPlan;
  readonly topology: WorkflowTopologySpec;
  readonly bundle: MentalModelBundle;
  /** The run's personas (what a node's instructions say of its role); everything else is the worker's own policy. */
  readonly personas: Policy['personas'];
  readonly agentOverride: string | null;
  /** The goal of a run of several steps, told to the node's agent as on the coordinator (absent from older jobs). */
  readonly goal?: string | null;
  /** The recorded state of the node and of its parents. */
  readonly records: Readonly<Record<string, RecordedNode>>;
  readonly decisions: Readonly<Partial<Record<HitlItem['kind'], KnownDecision>>>;
  /** The node's attempts on record before this job (absent from older jobs: none), so the worker numbers on. */
  readonly priorAttempts?: number;
}

/** A person the node asked for on the worker: the coordinator opens the item (the worker cannot wait). */
export interface HumanAsk {
  readonly kind: HitlItem['kind'];
  readonly title: string;
  readonly brief: string;
  readonly evidence: string[];
  readonly urgency: HitlItem['urgency'];
}

/** What a worker hands back: the node's outcome, its commit (pushed to a job ref), and the audit records it made. */
export interface NodeJobResult {
  readonly jobId: string;
  readonly worker: string;
  readonly outcome: NodeOutcome;
  readonly commit: string | null;
  /** The ref in `remote` holding `commit` (the coordinator moves the node's branch there once it applied the job). */
  readonly ref: string | null;
  readonly ask: HumanAsk | null;
  readonly recording: Recording;
}

/** The id of the `n`th job of a node: the same on every coordinator, so a resumed one finds the job in flight. */
export const nodeJobId = (runId: string, nodeId: string, n: number): string => `${runId}.${nodeId}.${n}`;

/** The ref a worker pushes a finished node's commit to; only the coordinator moves the node's branch. */
export const jobRef = (runId: string, nodeId: string, jobId: string, worker: string): string =>
  `refs/mso-jobs/${runId}/${nodeId}/${createHash('sha256').update(`${jobId}\0${worker}`).digest('hex').slice(0, 16)}`;

/** The job of a node, built by the coordinator from its run context. */
export function buildNodeJob(
  ctx: RunContext,
  id: string,
  jobId: string,
  lane: string,
  remote: string,
  base: string,
  decisions: NodeJob['decisions'],
): NodeJob {
  const { input } = ctx;
  const n = ctx.node(id);
  const loops = loopEdges(input.plan);
  // The whole graph only when this node can start a loop iteration (which resets nodes downstream of others).
  const keep = loops.some((l) => l.from === id) ? new Set(ctx.ids) : new Set([id, ...n.parent_refs]);
  const graph = Object.fromEntries(Object.entries(input.plan.execution_graph).filter(([k]) => keep.has(k)));
  const records = Object.fromEntries([...keep].map((k) => [k, { ...ctx.rec(k) }]));
  const personas = new Set([n.persona, input.topology.nodes.find((t) => t.id === id)?.persona].filter(Boolean));
  return {
    v: 1,
    jobId,
    runId: ctx.runId,
    nodeId: id,
    lane,
    remote,
    runBase: input.baseSha,
    base,
    plan: { ...input.plan, execution_graph: graph },
    topology: { ...input.topology, nodes: input.topology.nodes.filter((t) => keep.has(t.id)) },
    bundle: { ...input.bundle, local_charts: input.bundle.local_charts.filter((c) => n.chart_ids.includes(c.id)) },
    // Only the node's persona: the rest of the policy (agents, redaction secrets, prices) is each machine's own.
    personas: Object.fromEntries(Object.entries(input.policy.personas).filter(([k]) => personas.has(k))),
    agentOverride: input.agentOverride ?? null,
    goal: input.goal ?? null,
    records,
    decisions,
    priorAttempts: ctx.attemptsBefore(id),
  };
}

/** Where a worker keeps its clones and worktrees, and how it reaches git and its agents. */
export interface NodeJobEnv {
  readonly worker: string;
  /** The worker's folder: `repos/<remote hash>` clones, `runs/<run>/worktree/<node>` worktrees. */
  readonly home: string;
  /** Folders of the worker's own workspace (a node never writes there). */
  readonly ownRoots: readonly string[];
  /** Runner dependencies whose audit writes go to `log` (the job's recording). */
  deps(log: AuditLog): RunnerDeps;
  readonly redactor: AuditLog['redactor'];
  /** The worker's own policy (its workspace's). */
  readonly policy: Policy;
}

const refused = (what: string) => (): never => {
  throw new Error(`${what} is the coordinator's: a worker never touches it`);
};

/** Work that must not overlap: in one clone (fetches, worktree changes), or on one node of a run. */
const cloneLocks = new Map<string, Promise<unknown>>();
function inClone<T>(repo: string, fn: () => Promise<T>): Promise<T> {
  const prev = cloneLocks.get(repo) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  cloneLocks.set(
    repo,
    next.catch(() => undefined),
  );
  return next;
}

/**
 * Runs one node job on a worker with the same node step the local engine runs (worktree, agent, gates, commit, tree
 * hash, evidence), against a recording instead of the audit log. The worker keeps one clone per remote, fetches the
 * commit the node starts from, and after the node committed pushes its commit to a job ref of the remote. A human
 * gate the node reaches is handed back as an `ask` for the coordinator to open.
 */
export function runNodeJob(env: NodeJobEnv, job: NodeJob, signal: AbortSignal): Promise<NodeJobResult> {
  // A job this worker lost to the stalled-job check (a busy event loop missed a lock renewal) can come back to it
  // while the first copy still runs: the copies of one node take turns in the node's worktree.
  return inClone(`${env.home}\0${job.runId}\0${job.nodeId}`, () => runJob(env, job, signal));
}

async function runJob(env: NodeJobEnv, job: NodeJob, signal: AbortSignal): Promise<NodeJobResult> {
  const now = (): Date => new Date();
  const { log, take } = createRecordingLog(env.redactor, now);
  const deps = env.deps(log);
  const { git, fs } = deps;
  const repo = join(env.home, 'repos', createHash('sha256').update(job.remote).digest('hex').slice(0, 16));
  await inClone(repo, async () => {
    if (!(await fs.stat(join(repo, '.git')).catch(() => undefined))) {
      await fs.mkdir(repo, { recursive: true });
      await git.ok(['init', '-q'], repo);
    }
    for (const sha of new Set([job.runBase, job.base])) {
      if ((await git.run(['cat-file', '-e', `${sha}^{commit}`], repo)).code === 0) continue;
      await git.ok(['fetch', '-q', '--no-tags', job.remote, sha], repo);
    }
  });
  let ask: HumanAsk | null = null;
  const human: HumanGates = {
    latest: () => Promise.resolve(undefined),
    gate(nodeId, kind, title, brief, evidence, urgency = 'normal') {
      const known = job.decisions[kind];
      if (known?.status === 'approved') return Promise.resolve('approved');
      if (known?.status === 'rejected')
        return Promise.resolve({
          kind: 'failed',
          reason: `${known.id} rejected by ${known.by ?? 'a person'}${known.note ? `: ${known.note}` : ''}`,
        });
      ask = { kind, title, brief, evidence, urgency };
      return Promise.resolve({ kind: 'waiting', reason: `${nodeId}: ${title}` });
    },
  };
  const known = new Map(Object.entries(job.records).map(([k, v]) => [k, { ...v }]));
  const ctx = createRunContext(
    deps,
    {
      runId: job.runId,
      runDir: join(env.home, 'runs', job.runId),
      plan: job.plan,
      topology: job.topology,
      bundle: job.bundle,
      policy: { ...env.policy, personas: { ...env.policy.personas, ...job.personas } },
      tickets: { get: refused('the ticket store'), move: refused('the ticket store') } as unknown as TicketStore,
      hitl: { list: () => Promise.resolve([]) } as unknown as HitlStore,
      ticketOf: new Map(),
      repo,
      ownRoots: env.ownRoots,
      baseSha: job.runBase,
      maxConcurrency: 1,
      budgetUsd: null,
      agentOverride: job.agentOverride ?? undefined,
      goal: job.goal ?? undefined,
      signal,
    },
    known,
  );
  // Worktree changes of one clone go one at a time across the worker's jobs, not only within this job.
  const shared: RunContext = {
    ...ctx,
    prepareWorktree: (id, base) => inClone(repo, () => ctx.prepareWorktree(id, base)),
    // The coordinator dispatches the children, maybe to another worker: none is made ahead here.
    prepareChildrenAhead: () => undefined,
    // A worker reads no audit log: what a person decided comes in the job (`decisions`).
    lastAttemptAt: () => null,
    attemptsBefore: () => job.priorAttempts ?? 0,
  };
  const outcome = await runNode(shared, human, job.nodeId);
  const rec = ctx.rec(job.nodeId);
  let ref: string | null = null;
  if (outcome.kind === 'done' && rec.commit) {
    ref = jobRef(job.runId, job.nodeId, job.jobId, env.worker);
    await git.ok(['push', '-q', '-f', job.remote, `${rec.commit}:${ref}`], repo);
  }
  const recording = take();
  return {
    jobId: job.jobId,
    worker: env.worker,
    outcome,
    commit: outcome.kind === 'done' ? rec.commit : null,
    ref,
    ask,
    recording: { ...recording, writes: recording.writes.map((w) => remoteProcess(w, env.worker)) },
  };
}

/**
 * Agent processes a worker spawned live on the worker's machine: their events are renamed so a resumed coordinator
 * never takes their pids for its own (it ends the process groups of a dead coordinator's agents).
 */
function remoteProcess(w: RecordedWrite, worker: string): RecordedWrite {
  if (w.kind !== 'event' || (w.input.type !== 'agent.spawned' && w.input.type !== 'agent.exited')) return w;
  return {
    kind: 'event',
    input: { ...w.input, type: `${w.input.type}_remote`, payload: { ...w.input.payload, worker } },
  };
}
