import { resolve } from 'node:path';
import type { HitlItem } from '../contracts/index.js';
import type { HumanGates } from './human-gates.js';
import { buildNodeJob, nodeJobId, type KnownDecision, type NodeJob, type NodeJobResult } from './node-job.js';
import { laneOf, nodePreamble } from './node-preamble.js';
import { runNode } from './node-step.js';
import { applyRecording } from './recording-log.js';
import type { RunContext } from './run-context.js';
import { foldNodeEvent } from './run-state.js';
import type { NodeOutcome } from './scheduler.js';

/** How a coordinator hands node jobs to workers (BullMQ in the app; anything that runs `runNodeJob` somewhere). */
export interface NodeQueue {
  /**
   * Enqueues the job unless a job with its id exists already (then it adopts it), and resolves with the worker's
   * result; `failed` when the job failed for good, vanished, or no live worker has its agent.
   */
  run(job: NodeJob, signal: AbortSignal): Promise<NodeJobResult | { readonly failed: string }>;
}

/** The distributed execution backend of a run: where jobs go, and the git remote workers meet at. */
export interface DistributedBackend {
  readonly queue: NodeQueue;
  /** A URL or path every worker can fetch from and push to; the run's repository itself by default. */
  readonly remote: string;
}

const ASKED_KINDS: readonly HitlItem['kind'][] = ['escalation', 'manual_work'];

/**
 * The distributed node step, on the coordinator. Nodes of an agent lane go to a worker as a job: the job's start is
 * on record (`node.enqueued`, with the job's deterministic id) before it is enqueued, and the worker's records are
 * applied in one transaction, once, when its result comes back. Merges (they need the judges, the quorum and the
 * parents' commits together) and manual nodes (they need a person at this machine) run here with the local step.
 */
export async function runDistributedNode(
  ctx: RunContext,
  human: HumanGates,
  id: string,
  backend: DistributedBackend,
): Promise<NodeOutcome> {
  const { input, runId, deps } = ctx;
  const { git } = deps;
  const n = ctx.node(id);
  const sameRepo = resolve(input.repo) === resolve(backend.remote);
  const lane = laneOf(n, input.agentOverride, input.policy.agents) ?? deps.agents.chain(n.persona)[0]?.name;
  if (n.type === 'merge' || !lane || lane === 'manual') {
    if (!sameRepo)
      for (const p of n.parent_refs) {
        const c = ctx.rec(p).commit;
        if (c && (await git.run(['cat-file', '-e', `${c}^{commit}`], input.repo)).code !== 0)
          await git.ok(['fetch', '-q', '--no-tags', backend.remote, c], input.repo);
      }
    const out = await runNode(ctx, human, id);
    const commit = ctx.rec(id).commit;
    if (out.kind === 'done' && commit && !sameRepo)
      await git.ok(['push', '-q', '-f', backend.remote, `${commit}:refs/heads/${ctx.branchOf(id)}`], input.repo);
    return out;
  }
  const stop = await nodePreamble(ctx, human, id);
  if (stop) return stop;
  const r = ctx.rec(id);
  const parent = n.parent_refs[0];
  const base = r.baseOverride ?? (parent ? ctx.rec(parent).commit : input.baseSha) ?? input.baseSha;
  if (!sameRepo) {
    // The run's base and a merge's commit live only here until pushed; a pushed ref makes them fetchable.
    for (const sha of new Set([input.baseSha, base]))
      await git.ok(['push', '-q', '-f', backend.remote, `${sha}:refs/mso-jobs/${runId}/commits/${sha}`], input.repo);
  }
  const decisions: Partial<Record<HitlItem['kind'], KnownDecision>> = {};
  for (const kind of ASKED_KINDS) {
    const item = await human.latest(id, kind);
    if (item)
      decisions[kind] = { status: item.status, id: item.id, by: item.decided_by ?? null, note: item.note ?? null };
  }
  const adopted = r.jobId;
  const jobId = adopted ?? nodeJobId(runId, id, r.dispatches + 1);
  const job = buildNodeJob(ctx, id, jobId, lane, backend.remote, base, decisions);
  if (adopted) ctx.event('node.adopted', id, { job_id: jobId, lane });
  else {
    // Write-ahead: the job is on record before it exists, so a coordinator that dies now finds it on resume.
    ctx.event('node.enqueued', id, { job_id: jobId, lane, base });
    foldNodeEvent(ctx.recorded, 'node.enqueued', id, { job_id: jobId });
  }
  await ctx.moveTicket(id, 'in_progress', `enqueued as ${jobId}`);
  const res = await backend.queue.run(job, input.signal);
  if ('failed' in res) {
    ctx.event('node.job_failed', id, { job_id: jobId, reason: res.failed });
    foldNodeEvent(ctx.recorded, 'node.job_failed', id, { job_id: jobId });
    if (input.signal.aborted) return { kind: 'cancelled' };
    await ctx.moveTicket(id, 'blocked', res.failed.slice(0, 300));
    return { kind: 'failed', reason: res.failed };
  }
  if (res.outcome.kind === 'done' && res.commit) await adoptCommit(ctx, id, backend.remote, sameRepo, res);
  await applyRecording(deps.log, runId, id, jobId, res.recording, {
    job_id: jobId,
    worker: res.worker,
    commit: res.commit,
    outcome: res.outcome.kind,
  });
  for (const w of res.recording.writes)
    if (w.kind === 'event') {
      foldNodeEvent(ctx.recorded, w.input.type, w.input.nodeId ?? null, w.input.payload ?? {});
      ctx.notify(w.input.type, w.input.nodeId ?? null, w.input.payload ?? {});
    }
  foldNodeEvent(ctx.recorded, 'node.job_applied', id, { job_id: jobId });
  const out = res.outcome;
  if (out.kind === 'done')
    await ctx.moveTicket(id, 'done', `committed ${(res.commit ?? '').slice(0, 12)} on ${res.worker}`);
  else if (out.kind === 'failed') await ctx.moveTicket(id, 'blocked', (out.reason ?? 'failed').slice(0, 300));
  else if (out.kind === 'waiting' && res.ask) {
    const g = await human.gate(id, res.ask.kind, res.ask.title, res.ask.brief, res.ask.evidence, res.ask.urgency);
    // Decided while the job ran: a new job goes out with the decision.
    return g === 'approved' ? runDistributedNode(ctx, human, id, backend) : g;
  }
  return out;
}

/**
 * Moves the node's branch to the commit the job's result names, and only that one: a worker pushes to a job ref, so
 * a worker that died half-way, or lost its job to another, never leaves a branch that looks done.
 */
async function adoptCommit(
  ctx: RunContext,
  id: string,
  remote: string,
  sameRepo: boolean,
  res: NodeJobResult,
): Promise<void> {
  const { git } = ctx.deps;
  const repo = ctx.input.repo;
  const branch = `refs/heads/${ctx.branchOf(id)}`;
  const commit = res.commit as string;
  const have = await git.run(['rev-parse', '--verify', '-q', `${branch}^{commit}`], repo);
  if (have.code === 0 && have.stdout.trim() === commit) return;
  if (!res.ref) throw new Error(`job ${res.jobId} names commit ${commit} but no ref holding it`);
  if (!sameRepo) await git.ok(['fetch', '-q', '--no-tags', remote, `+${res.ref}:${res.ref}`], repo);
  const got = (await git.ok(['rev-parse', '--verify', `${res.ref}^{commit}`], repo)).trim();
  if (got !== commit) throw new Error(`job ${res.jobId}: ${res.ref} holds ${got}, not the reported ${commit}`);
  await git.ok(['update-ref', branch, commit], repo);
  await git.run(['update-ref', '-d', res.ref], repo);
  if (!sameRepo) {
    await git.ok(['push', '-q', '-f', remote, `${commit}:${branch}`], repo);
    await git.run(['push', '-q', remote, `:${res.ref}`], repo);
  }
}
