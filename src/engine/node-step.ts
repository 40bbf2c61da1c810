import { join } from 'node:path';
import type { AgentAdapter, AgentResult } from '../agents/index.js';
import { isMsoError, type FallbackRule } from '../contracts/index.js';
import { attemptResultFields } from './attempt-row.js';
import { commitAll } from './git.js';
import type { HumanGates } from './human-gates.js';
import { laneOf, nodePreamble } from './node-preamble.js';
import { nodeInstructions } from './instructions.js';
import { failOutsideWrites, outsideChanges, ownStrayWrites, type AgentWindow } from './outside-writes.js';
import { prepareMerge } from './merge-step.js';
import type { RunContext } from './run-context.js';
import type { NodeOutcome } from './scheduler.js';

/** The recorded part of an agent result (the transcript and process evidence are stored elsewhere). */
function responseOf(r: AgentResult): Omit<AgentResult, 'transcript' | 'evidence'> {
  const { transcript: _t, evidence: _e, ...rest } = r;
  return rest;
}

/** The largest worktree patch kept in a node's recorded response (for offline replay). */
const MAX_PATCH_CHARS = 32 * 1024 * 1024;

const FAILURE_RULE: Readonly<Record<string, string>> = {
  timeout: 'timeout',
  stalled_stream: 'timeout',
  manual_required: 'hitl_block',
  unavailable: 'hitl_block',
  budget: 'hitl_block',
  // A bad key, missing rights or an exhausted quota repeat on every try: a person fixes the configuration.
  auth: 'hitl_block',
  permission: 'hitl_block',
  quota: 'hitl_block',
  outputs_missing: 'schema_validation_error',
  gate_failed: 'schema_validation_error',
};

export interface LoopEdge {
  readonly from: string;
  readonly to: string;
  readonly max_iterations: number;
}

export const loopEdges = (plan: RunContext['input']['plan']): readonly LoopEdge[] =>
  (plan as { loop_edges?: LoopEdge[] }).loop_edges ?? [];

function ruleFor(plan: RunContext['input']['plan'], errorClass: string): FallbackRule {
  // A failure the classes above do not name (an exit code, a crash, an API error) is an agent error: what the
  // agent meant to do is not known, so it is never called a hallucination.
  const name = FAILURE_RULE[errorClass] ?? 'agent_error';
  return (
    plan.fallback_rules.find((r) => r.error_type === name) ?? {
      error_type: name,
      severity: 'medium',
      action: 'retry',
      target_commit: null,
      max_retry: 1,
      requires_human: false,
    }
  );
}

/** A commit id the engine knows HEAD to be at, when it is a full id (a configured target may be a short one). */
const fullId = (commit: string | null | undefined): string | undefined =>
  commit && /^[0-9a-f]{40,64}$/.test(commit) ? commit : undefined;

async function gatesPass(
  ctx: RunContext,
  id: string,
  wt: string,
  commit: string,
): Promise<{ passed: number; total: number; failures: string[] }> {
  const { deps, runId } = ctx;
  const gates = ctx.graph[id]?.gates ?? [];
  const failures: string[] = [];
  let head = fullId(commit);
  // A gate is a program too: the checkout listed after the node no longer stands for the next node's start.
  if (gates.length > 0) ctx.outside.unsettle();
  for (const g of gates) {
    const r = await deps.agents.run([deps.agents.adapter('shell')], {
      runId,
      nodeId: id,
      instructions: `gate: ${g}`,
      command: g,
      purpose: 'gate',
      cwd: wt,
      headBefore: head,
      deadlines: { totalMs: 10 * 60_000 },
    });
    head = fullId(r.result.evidence.headAfter);
    ctx.event('gate.result', id, {
      command: g,
      status: r.result.status,
      exit_code: r.result.exitCode,
      message: r.result.errorMessage,
    });
    if (r.result.status !== 'success') failures.push(`${g}: ${r.result.errorMessage ?? r.result.status}`);
  }
  return { passed: gates.length - failures.length, total: gates.length, failures };
}

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
  for (;;) {
    if (input.signal.aborted) return { kind: 'cancelled' };
    let result: AgentResult | null = null;
    let errorClass: string | null = null;
    let message = '';
    const attemptId = deps.random.id('att');
    if (!manualDone) {
      const instructions = nodeInstructions({
        nodeId: id,
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
      const agentName = laneOf(n, input.agentOverride);
      let chain: AgentAdapter[];
      try {
        chain = agentName ? [deps.agents.adapter(agentName)] : deps.agents.chain(n.persona);
      } catch (e) {
        return { kind: 'failed', reason: (e as Error).message };
      }
      log.recordAttempt({
        attemptId,
        runId,
        nodeId: id,
        ticketId: input.ticketOf.get(id) ?? null,
        attemptNo: [...tries.values()].reduce((s, v) => s + v, 0) + 1,
        isRetry: tries.size > 0,
        stage: 'engine',
        persona: n.persona ?? null,
        status: 'running',
        startedAt: deps.clock.now().toISOString(),
      });
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
        event('agent.chain', id, {
          attempt_id: attemptId,
          trail: out.trail,
          retries: out.retries,
          chosen: result.agent,
        });
        if (result.evidence.pid) event('agent.exited', id, { pid: result.evidence.pid, status: result.status });
      } catch (e) {
        if (!(isMsoError(e) && e.code === 'MSO_ALL_PROVIDERS_UNAVAILABLE')) throw e;
        errorClass = 'unavailable';
        message = e.message;
      }
      window.to = deps.clock.now().getTime();
      // A node writes only in its worktree: a change in the repository, its config or the workspace while it ran fails
      // it — or the node whose agents were running when it happened (see ownStrayWrites).
      const stray = outsideChanges(outsideBefore, await ctx.outside.after());
      const own = stray.length > 0 ? await ownStrayWrites(ctx, id, stray) : { paths: [], note: '' };
      if (own.paths.length > 0) return failOutsideWrites(ctx, id, attemptId, result, own.paths, own.note);
      if (result) {
        log.recordAttempt({ attemptId, runId, ...attemptResultFields(result) });
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
    deps.faults?.point('node.agent_done');
    // Commit whatever the node produced, then judge it by evidence.
    const made = await commitAll(git, wt, `mso: ${id} ${n.label ?? ''}`.trim(), MAX_PATCH_CHARS);
    const { commit, patch } = made;
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
      event('node.committed', id, {
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
      ctx.snapshot(id, n.type === 'merge' ? 'merged' : 'committed', { treeHash: th, metadata: { commit } });
      await ctx.moveTicket(id, 'done', `committed ${commit.slice(0, 12)}`);
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
        `${message}. Approve to accept the node as it is, reject to fail it.`,
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
    await ctx.moveTicket(id, 'blocked', `${errorClass}: ${message}`.slice(0, 300));
    return { kind: 'failed', reason: `${errorClass}: ${message}`.slice(0, 500) };
  }
}

function loopBody(ctx: RunContext, from: string, to: string): string[] {
  const { ids, graph } = ctx;
  // Nodes on a forward path from the loop's entry to its exit.
  const children = new Map(ids.map((i) => [i, ids.filter((c) => graph[c]?.parent_refs.includes(i))]));
  const reach = (start: string, next: (x: string) => string[]): Set<string> => {
    const seen = new Set([start]);
    const q = [start];
    while (q.length) {
      for (const c of next(q.shift() as string)) {
        if (seen.has(c)) continue;
        seen.add(c);
        q.push(c);
      }
    }
    return seen;
  };
  const down = reach(from, (x) => children.get(x) ?? []);
  const up = reach(to, (x) => graph[x]?.parent_refs ?? []);
  return ids.filter((i) => down.has(i) && up.has(i));
}
