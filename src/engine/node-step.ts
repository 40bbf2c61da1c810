import { join } from 'node:path';
import type { AgentAdapter, AgentResult } from '../agents/index.js';
import { failureText, isMsoError } from '../contracts/index.js';
import { attemptResultFields } from './attempt-row.js';
import { commitAll, type NodeCommit } from './git.js';
import type { HumanGates } from './human-gates.js';
import { laneOf, nodePreamble } from './node-preamble.js';
import { nodeInstructions } from './instructions.js';
import {
  CHECKOUT_STATUS,
  failOutsideWrites,
  outsideChanges,
  ownStrayWrites,
  type AgentWindow,
  type CheckoutListing,
} from './outside-writes.js';
import { prepareMerge } from './merge-step.js';
import { fullId, gatesPass, loopBody, loopEdges, ruleFor } from './node-rules.js';
import type { RunContext } from './run-context.js';
import type { NodeOutcome } from './scheduler.js';

/** The recorded part of an agent result (the transcript and process evidence are stored elsewhere). */
function responseOf(r: AgentResult): Omit<AgentResult, 'transcript' | 'evidence'> {
  const { transcript: _t, evidence: _e, ...rest } = r;
  return rest;
}

/**
 * A shell step's result with the evidence its adapter left to the engine (`committedByCaller`), taken from the commit
 * made right after it: the paths it changed (a moved file by both its paths, as git status lists an unstaged move)
 * and the commit HEAD was at, the commit's parent.
 */
function withCommitEvidence(r: AgentResult, made: NodeCommit, files: readonly string[]): AgentResult {
  const moved = (made.changes ?? []).flatMap((c) => (c.from === null ? [] : [c.from]));
  const changedFiles = [...new Set([...files, ...moved])].sort();
  return { ...r, changedFiles, evidence: { ...r.evidence, headAfter: made.parent } };
}

const commitMessage = (id: string, label: string | undefined): string => `mso: ${id} ${label ?? ''}`.trim();

/** The largest worktree patch kept in a node's recorded response (for offline replay). */
const MAX_PATCH_CHARS = 32 * 1024 * 1024;

export async function runNode(ctx: RunContext, human: HumanGates, id: string): Promise<NodeOutcome> {
  const { deps, input, runId, rec, event } = ctx;
  const { git, log } = deps;
  const loops = loopEdges(input.plan);
  const stop = await nodePreamble(ctx, human, id);
  if (stop) return stop;
  const n = ctx.node(id);
  const r = rec(id);
  const manualDone = (await human.latest(id, 'manual_work'))?.status === 'approved';
  let wt: string;
  // The commit the node starts from. A worktree just prepared has its base checked out (a full id: the run's base or
  // a parent's commit); a merge or a kept manual worktree is asked.
  let startCommit: string | undefined;
  const parentBase =
    r.baseOverride ?? (n.parent_refs.length ? rec(n.parent_refs[0] as string).commit : input.baseSha) ?? input.baseSha;
  if (manualDone && (await deps.fs.stat(join(ctx.worktreeOf(id), '.git')).catch(() => undefined)))
    wt = ctx.worktreeOf(id);
  else if (n.type === 'merge') {
    const m = await prepareMerge(ctx, human, id);
    if (!('wt' in m)) return m;
    wt = m.wt;
  } else {
    wt = await ctx.prepareWorktree(id, parentBase);
    startCommit = fullId(parentBase);
  }
  startCommit ??= await git.ok(['rev-parse', 'HEAD'], wt);
  // Where HEAD is, as far as the engine knows: handed to the agent so it need not ask git again.
  let head = fullId(startCommit);
  await ctx.moveTicket(id, 'in_progress', 'engine started the node');
  deps.faults?.point('node.started');
  ctx.snapshot(id, 'active');
  const tries = new Map<string, number>();
  // Attempts numbered on from those the node had before (a resumed run, a loop's next iteration), as `mso logs` shows.
  const earlier = ctx.attemptsBefore(id);
  for (;;) {
    if (input.signal.aborted) return { kind: 'cancelled' };
    let result: AgentResult | null = null;
    let errorClass: string | null = null;
    let message = '';
    const attemptId = deps.random.id('att');
    // The node's commit, made early when the checkout's status can run in its process (see below).
    let made: NodeCommit | undefined;
    if (!manualDone) {
      const instructions = nodeInstructions({
        nodeId: id,
        goal: input.goal,
        node: n,
        topology: input.topology,
        bundle: input.bundle,
        policy: input.policy,
        iteration: r.iteration,
        parents: n.parent_refs.map((p) => ({
          id: p,
          commit: rec(p).commit ?? '',
          summary: rec(p).summary,
          files: rec(p).files,
        })),
      });
      const agentName = laneOf(n, input.agentOverride, input.policy.agents);
      let chain: AgentAdapter[];
      try {
        chain = agentName ? [deps.agents.adapter(agentName)] : deps.agents.chain(n.persona);
      } catch (e) {
        return { kind: 'failed', reason: (e as Error).message };
      }
      // Written with the node.attempt event just below, in its transaction.
      const started = {
        attemptId,
        runId,
        nodeId: id,
        ticketId: input.ticketOf.get(id) ?? null,
        attemptNo: earlier + [...tries.values()].reduce((s, v) => s + v, 0) + 1,
        isRetry: tries.size > 0,
        stage: 'engine',
        persona: n.persona ?? null,
        status: 'running',
        startedAt: deps.clock.now().toISOString(),
      } as const;
      ctx.deferRow(() => log.recordAttempt(started));
      event('node.attempt', id, { attempt_id: attemptId, agents: chain.map((a) => a.name), iteration: r.iteration });
      const outsideBefore = await ctx.outside.before();
      const window: AgentWindow = { node: id, from: deps.clock.now().getTime(), to: null };
      ctx.agentWindows.push(window);
      try {
        const out = await deps.agents.run(
          chain,
          {
            runId,
            nodeId: id,
            ticketId: input.ticketOf.get(id),
            attemptId,
            persona: n.persona,
            instructions,
            command: n.command,
            cwd: wt,
            // A shell step is one process; an agent chain may commit between its tries, so it asks git itself.
            headBefore: n.command ? head : undefined,
            // The commit below says what a shell step changed: its adapter runs no git status of its own.
            committedByCaller: n.command !== undefined,
            signal: input.signal,
            ...(n.timeout_s ? { deadlines: { totalMs: n.timeout_s * 1000 } } : {}),
            ...(n.budget_usd !== undefined ? { budgetUsd: n.budget_usd } : {}),
            ...(n.mode ? { permissionMode: n.mode } : {}),
          },
          (e) => {
            if (e.type === 'started' && e.pid !== null)
              event('agent.spawned', id, {
                pid: e.pid,
                attempt_id: attemptId,
                // Tells this process group apart from a later process that reuses the pid (resume ends only ours).
                start: deps.processInfo.startId(e.pid),
              });
            else if (e.type === 'message' || e.type === 'tool_use' || e.type === 'error' || e.type === 'output')
              ctx.liveOutput(id, attemptId, e);
          },
        );
        result = out.result;
        // Both record what has happened and nothing acts on the first before the second: one commit.
        ctx.bufferState({
          runId,
          type: 'agent.chain',
          nodeId: id,
          payload: { attempt_id: attemptId, trail: out.trail, retries: out.retries, chosen: result.agent },
        });
        if (result.evidence.pid) event('agent.exited', id, { pid: result.evidence.pid, status: result.status });
        else ctx.flushStates();
      } catch (e) {
        if (!(isMsoError(e) && e.code === 'MSO_ALL_PROVIDERS_UNAVAILABLE')) throw e;
        errorClass = 'unavailable';
        message = e.message;
      }
      window.to = deps.clock.now().getTime();
      // A step that ended (not cancelled, not handed to a person) is committed now whatever its status, as below, and
      // the checkout's status for the look after it runs in the commit's process, beside the commit: one spawn instead
      // of two. Git runs there with hooks, fsmonitor and drivers off, so a planted hook or config is caught below, never
      // run.
      let listed: CheckoutListing | undefined;
      if (result && result.status !== 'cancelled' && !result.requiresManualConfirmation) {
        deps.faults?.point('node.agent_done');
        const stamp = ctx.outside.stamp();
        const first = { args: CHECKOUT_STATUS, cwd: ctx.outside.checkout };
        const early = await commitAll(git, wt, commitMessage(id, n.label), MAX_PATCH_CHARS, first);
        made = early;
        if (early.first) listed = { ...early.first, stamp };
      }
      // A node writes only in its worktree: a change in the repository, its config or the workspace while it ran fails
      // it — or the node whose agents were running when it happened (see ownStrayWrites).
      const stray = outsideChanges(outsideBefore, await ctx.outside.after(listed));
      const own = stray.length > 0 ? await ownStrayWrites(ctx, id, stray) : { paths: [], note: '' };
      if (own.paths.length > 0) return failOutsideWrites(ctx, id, attemptId, result, own.paths, own.note);
      // A step that succeeded where no gate or required file can fail it still: the children's checkouts start now,
      // beside this node's record (see prepareChildrenAhead). After the look above, which counts the node as running
      // until then: a checkout begun earlier would list the repository's checkout once more.
      if (
        made &&
        result?.status === 'success' &&
        !n.gates?.length &&
        !n.handoff_contract?.required_outputs?.required_files?.length
      )
        ctx.prepareChildrenAhead(id, made.commit);
      if (result) {
        // A committed shell step's row is written once, just below, with what its commit says it changed (unless the
        // step made commits of its own: that takes a git call, and the row is written first).
        const once = made !== undefined && n.command !== undefined && (made.parent === head || head === undefined);
        if (!once) log.recordAttempt({ attemptId, runId, ...attemptResultFields(result) });
        ctx.notify('attempt.cost', id, { attempt_id: attemptId, agent: result.agent, cost_usd: result.cost.usd });
        if (result.status === 'cancelled') return { kind: 'cancelled' };
        if (result.requiresManualConfirmation) {
          const g = await human.gate(
            id,
            'manual_work',
            `do ${id} by hand: ${n.label ?? id}`,
            `No agent does this node (manual). Do the work in ${wt}, then approve with --done (you did it).`,
            [wt],
            'normal',
          );
          if (g !== 'approved') return g;
        } else if (result.status !== 'success') {
          errorClass = result.errorClass ?? 'process';
          message = result.errorMessage ?? result.status;
        }
      }
    }
    if (made === undefined) {
      deps.faults?.point('node.agent_done');
      // Commit whatever the node produced, then judge it by evidence.
      made = await commitAll(git, wt, commitMessage(id, n.label), MAX_PATCH_CHARS);
    }
    const { commit, patch } = made;
    if (result && n.command !== undefined) {
      // The step's own changes: this commit's, or (when the step committed too) everything since the attempt began.
      const since = head;
      const files =
        made.parent === since || since === undefined
          ? made.files
          : (await git.ok(['diff', '--name-only', since, commit], wt)).split('\n').filter(Boolean);
      result = withCommitEvidence(result, made, files);
      log.recordAttempt({ attemptId, runId, ...attemptResultFields(result) });
    }
    head = commit;
    if (!manualDone) {
      // The call's full response — what the agent said and what it changed — so `mso replay --offline` can feed it back.
      // A patch too large to keep (a huge binary file) is left out and said so; replay then reports the divergence.
      const omitted = made.patchOmitted;
      const blob = await log.putBlob(
        JSON.stringify({
          result: result ? responseOf(result) : null,
          unavailable: result ? null : message,
          patch,
          ...(omitted === null ? {} : { patch_omitted: omitted }),
        }),
        'application/vnd.mso.agent-response+json',
      );
      event('agent.response', id, { attempt_id: attemptId, blob, agent: result?.agent ?? null });
    }
    const required = n.handoff_contract?.required_outputs?.required_files ?? [];
    const present: string[] = [];
    for (const f of required) if (await deps.fs.stat(join(wt, f)).catch(() => undefined)) present.push(f);
    let gates = { passed: 0, total: 0, failures: [] as string[] };
    if (!errorClass) {
      if (present.length < required.length) {
        errorClass = 'outputs_missing';
        message = `required outputs missing: ${required.filter((f) => !present.includes(f)).join(', ')}`;
      } else {
        gates = await gatesPass(ctx, id, wt, commit);
        if (gates.failures.length) {
          errorClass = 'gate_failed';
          message = gates.failures.join('; ');
        }
      }
    }
    if (!errorClass) {
      const th = await ctx.trees.hash(wt, commit, made);
      // What changed since the node started: this commit's own paths, unless retries or the agent committed too.
      const files =
        made.parent === startCommit
          ? [...made.files]
          : (await git.ok(['diff', '--name-only', startCommit, commit], wt)).split('\n').filter(Boolean);
      // Committed with the snapshot below, before the ticket says done (moveTicket flushes first), else just after.
      ctx.bufferState({
        runId,
        type: 'node.committed',
        nodeId: id,
        payload: {
          commit,
          tree_hash: th,
          summary: result?.summary ?? (manualDone ? 'done by hand' : ''),
          files,
          agent: result?.agent ?? 'human',
          required_present: present.length,
          required_total: required.length,
          gates_passed: gates.passed,
          gates_total: gates.total,
          attempt_id: attemptId,
        },
      });
      Object.assign(r, {
        commit,
        treeHash: th,
        summary: result?.summary ?? 'done by hand',
        files,
        requiredPresent: present.length,
        requiredTotal: required.length,
        gatesPassed: gates.passed,
        gatesTotal: gates.total,
      });
      ctx.prepareChildrenAhead(id, commit);
      ctx.snapshot(id, n.type === 'merge' ? 'merged' : 'committed', { treeHash: th, metadata: { commit } });
      await ctx.moveTicket(id, 'done', `committed ${commit.slice(0, 12)}`);
      ctx.flushStates();
      deps.faults?.point('node.committed');
      return { kind: 'done' };
    }
    const rule = ruleFor(input.plan, errorClass);
    const used = tries.get(rule.error_type) ?? 0;
    const max = n.max_retry ?? rule.max_retry;
    event('node.failure', id, {
      error_class: errorClass,
      message,
      rule: rule.error_type,
      action: rule.action,
      attempt: used + 1,
      max_retry: max,
      commit,
    });
    if (rule.action !== 'escalate' && used < max) {
      tries.set(rule.error_type, used + 1);
      if (rule.action === 'checkout') {
        // Checkout is to an absolute SHA: the commit this node started from, never HEAD~1.
        const target = rule.target_commit ?? startCommit;
        await git.ok(['reset', '--hard', target], wt);
        await git.ok(['clean', '-fdx'], wt);
        head = fullId(target);
        event('node.checkout', id, { target_commit: target, rule: rule.error_type });
        ctx.snapshot(id, 'rolled_back', { fallbackTarget: target, role: 'sentinel', phase: 4 });
      }
      event('node.retry', id, { rule: rule.error_type, action: rule.action, retry: used + 1, of: max });
      continue;
    }
    const loop = loops.find((l) => l.from === id);
    if (loop && r.iteration < loop.max_iterations) {
      const body = loopBody(ctx, loop.to, id);
      const next = r.iteration + 1;
      event('loop.iterate', id, {
        iteration: next,
        of: loop.max_iterations,
        nodes: body,
        to: loop.to,
        base: commit,
        reason: message,
      });
      for (const b of body) {
        rec(b).iteration = next;
        if (b === loop.to) rec(b).baseOverride = commit;
      }
      return { kind: 'reset', nodes: body, reason: `loop iteration ${next} of ${loop.max_iterations}: ${message}` };
    }
    if (rule.action === 'escalate' || rule.requires_human) {
      const g = await human.gate(
        id,
        'escalation',
        `${id} failed: ${errorClass}`,
        `${message}. Approve to go on: when the run goes on the node is tried once more, and taken as it is if it ` +
          'fails again. Reject to fail it (it is not tried again).',
        [commit],
        'high',
      );
      if (g === 'approved') {
        event('node.committed', id, {
          commit,
          tree_hash: await ctx.trees.hash(wt, commit, made),
          summary: 'accepted by a person',
          files: [],
          agent: 'human',
          required_present: present.length,
          required_total: required.length,
          gates_passed: gates.passed,
          gates_total: gates.total,
        });
        Object.assign(r, { commit, summary: 'accepted by a person' });
        await ctx.moveTicket(id, 'done', 'accepted by a person');
        return { kind: 'done' };
      }
      return g;
    }
    ctx.snapshot(id, 'failed', { role: 'sentinel', phase: 4, metadata: { error_class: errorClass, message } });
    const why = failureText(errorClass, message);
    await ctx.moveTicket(id, 'blocked', why.slice(0, 300));
    return { kind: 'failed', reason: why.slice(0, 500) };
  }
}
