import { join } from 'node:path';
import type { AgentAdapter, AgentEvent, AgentRequest, AgentResult, ChainResult } from '../agents/index.js';
import type { AuditLog } from '../audit/index.js';
import {
  isMsoError,
  type ExecutionPlan,
  type FallbackRule,
  type HitlItem,
  type MentalModelBundle,
  type Policy,
  type WorkflowTopologySpec,
} from '../contracts/index.js';
import type { AskModel } from '../design/index.js';
import type { Clock, Fs, Proc, Random } from '../platform/index.js';
import type { TicketStore } from '../tickets/index.js';
import type { AtomicDeps, HitlStore } from '../workspace/index.js';
import { treeHash, type Git } from './git.js';
import { nodeInstructions } from './instructions.js';
import { judge, type Candidate } from './judge.js';
import { attemptResultFields } from './attempt-row.js';
import { decisionKey, recordHumanDecision, type RecordedDecision } from './decisions.js';
import { loadRecordedRun, recordedNode, type RecordedNode } from './run-state.js';
import { runDag, type DagNode, type NodeOutcome, type NodeState } from './scheduler.js';

export interface RunnerDeps extends AtomicDeps {
  readonly clock: Clock;
  readonly random: Random;
  readonly proc: Proc;
  readonly fs: Fs;
  readonly git: Git;
  readonly log: AuditLog;
  readonly agents: {
    chain(persona: string | undefined): AgentAdapter[];
    adapter(name: string): AgentAdapter;
    run(chain: readonly AgentAdapter[], req: AgentRequest, onEvent?: (e: AgentEvent) => void): Promise<ChainResult>;
  };
}

export interface RunnerInput {
  readonly runId: string;
  readonly runDir: string;
  readonly plan: ExecutionPlan;
  readonly topology: WorkflowTopologySpec;
  readonly bundle: MentalModelBundle;
  readonly policy: Policy;
  readonly tickets: TicketStore;
  readonly hitl: HitlStore;
  /** Ticket id per node. */
  readonly ticketOf: ReadonlyMap<string, string>;
  readonly repo: string;
  readonly baseSha: string;
  readonly maxConcurrency: number;
  readonly budgetUsd: number | null;
  readonly agentOverride?: string | undefined;
  /** Aborted by `mso cancel` or Ctrl-C. */
  readonly signal: AbortSignal;
  readonly critic?: AskModel | undefined;
  /**
   * Decisions a replay answers its human gates with, from the run it replays (by {@link decisionKey}): the gate's
   * item is created and decided at once, attributed to the recorded item, instead of waiting for a person.
   */
  readonly recordedDecisions?: ReadonlyMap<string, RecordedDecision> | undefined;
}

export type RunOutcome = 'completed' | 'failed' | 'awaiting_human' | 'cancelled';

export interface RunnerResult {
  readonly status: RunOutcome;
  readonly reason: string | null;
  readonly nodes: Record<
    string,
    { state: NodeState; detail: string | null; commit: string | null; tree_hash: string | null }
  >;
  readonly costUsd: number;
  readonly pendingHitl: readonly string[];
}

/** The recorded part of an agent result (the transcript and process evidence are stored elsewhere). */
function responseOf(r: AgentResult): Omit<AgentResult, 'transcript' | 'evidence'> {
  const { transcript: _t, evidence: _e, ...rest } = r;
  return rest;
}

const FAILURE_RULE: Readonly<Record<string, string>> = {
  timeout: 'timeout',
  stalled_stream: 'timeout',
  manual_required: 'hitl_block',
  unavailable: 'hitl_block',
  budget: 'hitl_block',
  outputs_missing: 'schema_validation_error',
  gate_failed: 'schema_validation_error',
};

/**
 * Executes a plan's graph in git worktrees. Every state change is written to the audit log before it takes effect,
 * so a new coordinator can resume from the log: done nodes are never run again.
 */
export async function executePlan(deps: RunnerDeps, input: RunnerInput): Promise<RunnerResult> {
  const { log, git } = deps;
  const { runId, plan } = input;
  const graph = plan.execution_graph;
  const ids = Object.keys(graph);
  const recorded = loadRecordedRun(log, runId);
  const rec = (id: string): RecordedNode => recordedNode(recorded.nodes, id);
  const loops = (plan as { loop_edges?: Array<{ from: string; to: string; max_iterations: number }> }).loop_edges ?? [];
  const humanGates = new Set((plan as { human_gate_nodes?: string[] }).human_gate_nodes ?? []);
  // Node state changes the scheduler has buffered; committed together with the next event, or on the scheduler's flush.
  const buffered: Array<Parameters<AuditLog['appendEvent']>[0]> = [];
  const flushStates = (): void => {
    if (buffered.length) log.appendEvents(buffered.splice(0));
  };
  const event = (type: string, nodeId: string | null, payload: Record<string, unknown>): void => {
    buffered.push({ runId, type, nodeId, payload });
    flushStates();
  };
  let worktreeLock: Promise<void> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = worktreeLock.then(fn, fn);
    worktreeLock = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  };
  const spent = (): number =>
    (
      log.db.prepare('SELECT COALESCE(SUM(cost_usd), 0) AS c FROM attempts WHERE run_id = ?').get(runId) as {
        c: number;
      }
    ).c;
  let budgetStop = false;
  const worktreeOf = (id: string): string => join(input.runDir, 'worktree', id);
  const branchOf = (id: string): string => `mso/${runId}/${id}`;

  async function hitlFor(nodeId: string, kind: HitlItem['kind']): Promise<HitlItem | undefined> {
    return (await input.hitl.list()).filter((h) => h.source.node_id === nodeId && h.kind === kind).at(-1);
  }

  /** Pending → wait; approved → go on; rejected → fail. Creates the item the first time. */
  async function gate(
    nodeId: string,
    kind: HitlItem['kind'],
    title: string,
    brief: string,
    evidence: string[],
    urgency: HitlItem['urgency'] = 'normal',
  ): Promise<'approved' | NodeOutcome> {
    const ask = { kind, title, brief, evidence, urgency };
    let item = await hitlFor(nodeId, kind);
    const recorded = input.recordedDecisions?.get(decisionKey(nodeId, kind));
    if (recorded && (!item || item.status === 'pending'))
      item = await decideAsRecorded(item ?? (await createGateItem(nodeId, ask)), recorded);
    if (item?.status === 'approved') return 'approved';
    if (item?.status === 'rejected')
      return {
        kind: 'failed',
        reason: `${item.id} rejected by ${item.decided_by ?? 'a person'}${item.note ? `: ${item.note}` : ''}`,
      };
    item ??= await createGateItem(nodeId, ask);
    return { kind: 'waiting', reason: `${item.id}: ${title}` };
  }

  async function createGateItem(
    nodeId: string,
    ask: Pick<HitlItem, 'kind' | 'title' | 'brief' | 'evidence' | 'urgency'>,
  ): Promise<HitlItem> {
    const item = await input.hitl.create({
      ...ask,
      run_id: runId,
      gate: ask.kind === 'human_gate' || ask.kind === 'manual_merge' ? 'H2' : 'H1',
      source: {
        node_id: nodeId,
        ...(input.ticketOf.get(nodeId) ? { ticket_id: input.ticketOf.get(nodeId) as string } : {}),
      },
    });
    event('hitl.created', nodeId, { item: item.id, kind: ask.kind, title: ask.title });
    return item;
  }

  /** A replay answers the gate with the recorded run's decision, attributed to the item it came from. */
  async function decideAsRecorded(item: HitlItem, recorded: RecordedDecision): Promise<HitlItem> {
    const by = `${recorded.by ?? 'a person'} (replayed from ${recorded.item})`;
    const { item: decided } = await input.hitl.decide(item.id, recorded.decision, by, recorded.note);
    flushStates();
    recordHumanDecision(log, runId, decided, input.hitl.file(item.id), recorded.item);
    return decided;
  }

  async function prepareWorktree(id: string, base: string): Promise<string> {
    const wt = worktreeOf(id);
    return serial(async () => {
      if (await deps.fs.stat(join(wt, '.git')).catch(() => undefined)) {
        await git.ok(['reset', '--hard', base], wt);
        await git.ok(['clean', '-fdx'], wt);
      } else {
        await deps.fs.mkdir(join(input.runDir, 'worktree'), { recursive: true });
        await git.ok(['worktree', 'add', '-f', '-B', branchOf(id), wt, base], input.repo);
      }
      return wt;
    });
  }

  async function snapshot(
    id: string,
    status: 'pending' | 'active' | 'committed' | 'merged' | 'rolled_back' | 'failed',
    extra: {
      treeHash?: string | null;
      fallbackTarget?: string | null;
      role?: 'execution' | 'critic_judge' | 'sentinel' | 'provisioning' | 'branching' | 'handoff';
      phase?: number;
      metadata?: Record<string, unknown>;
    } = {},
  ): Promise<void> {
    const n = graph[id];
    if (!n) return;
    log.recordSnapshot({
      runId,
      nodeId: id,
      nodeType: n.type,
      parentRefs: n.parent_refs,
      treeHashRef: extra.treeHash ?? null,
      status,
      agentRole: extra.role ?? (n.type === 'merge' ? 'critic_judge' : n.type === 'branch' ? 'branching' : 'execution'),
      phase: extra.phase ?? (n.type === 'commit' ? 2 : 3),
      fallbackTarget: extra.fallbackTarget ?? null,
      ...(n.merge_policy ? { mergePolicy: n.merge_policy as Record<string, unknown> } : {}),
      metadata: extra.metadata ?? {},
    });
  }

  async function moveTicket(id: string, to: 'in_progress' | 'done' | 'blocked', reason: string): Promise<void> {
    const t = input.ticketOf.get(id);
    if (!t) return;
    const cur = (await input.tickets.get(t)).doc.frontmatter.status;
    if (cur === to || cur === 'done' || cur === 'cancelled') return;
    if (to === 'done' && cur !== 'in_progress') await input.tickets.move(t, 'in_progress', 'engine');
    if (to === 'blocked' && cur === 'todo') await input.tickets.move(t, 'in_progress', 'engine');
    await input.tickets.move(t, to, reason);
  }

  /** Merges the accepted parents into the merge node's worktree (best first); conflicts and splits go to a person. */
  async function prepareMerge(id: string): Promise<{ wt: string } | NodeOutcome> {
    const n = graph[id] as NonNullable<(typeof graph)[string]>;
    const mp = n.merge_policy ?? {
      strategy: 'score_weighted' as const,
      scoring_weights: { confidence: 0.4, completeness: 0.3, format_compliance: 0.3 },
      quorum: n.parent_refs.length,
      manual_review_required: false,
    };
    const ok = n.parent_refs.filter((p) => rec(p).state === 'done' && rec(p).commit);
    const quorum = mp.quorum ?? n.parent_refs.length;
    if (ok.length < quorum) {
      const g = await gate(
        id,
        'quorum_missed',
        `merge ${id}: ${ok.length} of ${n.parent_refs.length} parents succeeded, quorum ${quorum}`,
        `Only ${ok.join(', ') || 'no parent'} succeeded. Approve to merge what succeeded, reject to fail the merge.`,
        n.parent_refs.map((p) => `${p}: ${rec(p).state} ${rec(p).detail ?? ''}`),
      );
      if (g !== 'approved') return g;
    }
    if (ok.length === 0) return { kind: 'failed', reason: 'no parent succeeded' };
    const candidates: Candidate[] = ok.map((p) => ({
      id: p,
      result: { status: 'success', output: rec(p).summary, changedFiles: rec(p).files, summary: rec(p).summary },
      requiredPresent: rec(p).requiredPresent,
      requiredTotal: rec(p).requiredTotal,
      gatesPassed: rec(p).gatesPassed,
      gatesTotal: rec(p).gatesTotal,
    }));
    const verdict = await judge(candidates, mp.scoring_weights, input.critic);
    event('merge.judged', id, {
      ranking: verdict.ranking,
      votes: verdict.votes,
      split: verdict.split,
      strategy: mp.strategy,
      quorum,
    });
    log.recordDecision({
      title: `merge ${id}: ${mp.strategy}, winner ${verdict.winner ?? 'none'}`,
      context: `parents ${n.parent_refs.join(', ')}; succeeded ${ok.join(', ')}; quorum ${quorum}`,
      content: JSON.stringify({ ranking: verdict.ranking, votes: verdict.votes, split: verdict.split }),
      requestedBy: 'engine',
      approvedBy: verdict.votes.map((v) => v.judge).join('+'),
      evidence: verdict.ranking.map((r) => ({
        type: 'score',
        refPath: `${runId}/${r.candidate}@${rec(r.candidate).commit ?? ''}`,
        description: JSON.stringify(r.scores),
      })),
      impacts: [{ domain: 'merge', description: `${id} built on ${verdict.winner ?? 'none'}`, reversibility: 'High' }],
      tags: ['merge', 'vote'],
    });
    if (mp.strategy === 'manual' || mp.manual_review_required) {
      const g = await gate(
        id,
        'manual_merge',
        `merge ${id} needs a person (strategy ${mp.strategy})`,
        `Ranking: ${verdict.ranking.map((r) => `${r.candidate}=${r.total}`).join(', ')}. Approve to merge best first.`,
        verdict.ranking.map((r) => JSON.stringify(r)),
        'normal',
      );
      if (g !== 'approved') return g;
    }
    if (verdict.split) {
      const g = await gate(
        id,
        'split_vote',
        `merge ${id}: the judges disagree`,
        `Votes: ${verdict.votes.map((v) => `${v.judge}→${v.vote}`).join(', ')}. Approve to take the best total (${verdict.winner}).`,
        verdict.votes.map((v) => JSON.stringify(v)),
      );
      if (g !== 'approved') return g;
    }
    const accepted = verdict.ranking.filter((r) => r.total > 0).map((r) => r.candidate);
    const [best, ...rest] = accepted.length ? accepted : ok;
    const wt = await prepareWorktree(id, rec(best as string).commit as string);
    const conflictApproved = (await hitlFor(id, 'merge_conflict'))?.status === 'approved';
    const skipped: string[] = [];
    for (const p of rest) {
      const r = await git.run(
        ['merge', '--no-ff', '--no-edit', '-m', `mso: merge ${p} into ${id}`, rec(p).commit as string],
        wt,
      );
      if (r.code !== 0) {
        await git.run(['merge', '--abort'], wt);
        if (conflictApproved) {
          skipped.push(p);
          continue;
        }
        event('merge.conflict', id, { parent: p, detail: (r.stdout + r.stderr).slice(0, 2000) });
        const g = await gate(
          id,
          'merge_conflict',
          `merge ${id}: ${p} conflicts with ${best}`,
          `git could not merge ${p} (${rec(p).commit}) into ${best}. Approve to keep the non-conflicting branches only, or reject.`,
          [(r.stdout + r.stderr).slice(0, 500)],
          'high',
        );
        if (g !== 'approved') return g;
        skipped.push(p);
      }
    }
    event('merge.completed', id, {
      base: best,
      merged: rest.filter((p) => !skipped.includes(p)),
      skipped,
      strategy: mp.strategy,
    });
    return { wt };
  }

  function ruleFor(errorClass: string): FallbackRule {
    const name = FAILURE_RULE[errorClass] ?? 'hallucination';
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

  async function gatesPass(id: string, wt: string): Promise<{ passed: number; total: number; failures: string[] }> {
    const gates = graph[id]?.gates ?? [];
    const failures: string[] = [];
    for (const g of gates) {
      const r = await deps.agents.run([deps.agents.adapter('shell')], {
        runId,
        nodeId: id,
        instructions: `gate: ${g}`,
        command: g,
        purpose: 'gate',
        cwd: wt,
        deadlines: { totalMs: 10 * 60_000 },
      });
      event('gate.result', id, {
        command: g,
        status: r.result.status,
        exit_code: r.result.exitCode,
        message: r.result.errorMessage,
      });
      if (r.result.status !== 'success') failures.push(`${g}: ${r.result.errorMessage ?? r.result.status}`);
    }
    return { passed: gates.length - failures.length, total: gates.length, failures };
  }

  async function runNode(id: string): Promise<NodeOutcome> {
    flushStates(); // write-ahead: this start, and the parents' completion, are on record before anything acts on them
    const n = graph[id] as NonNullable<(typeof graph)[string]>;
    const r = rec(id);
    if (input.signal.aborted) return { kind: 'cancelled' };
    if (humanGates.has(id)) {
      const g = await gate(
        id,
        'human_gate',
        `approve ${id} before it runs`,
        `The plan puts a human gate (risk high) on ${id}: ${n.label ?? id}.`,
        [`plan node ${id}`],
        'high',
      );
      if (g !== 'approved') return g;
    }
    const manualDone = (await hitlFor(id, 'manual_work'))?.status === 'approved';
    let wt: string;
    const parentBase =
      r.baseOverride ??
      (n.parent_refs.length ? rec(n.parent_refs[0] as string).commit : input.baseSha) ??
      input.baseSha;
    if (manualDone && (await deps.fs.stat(join(worktreeOf(id), '.git')).catch(() => undefined))) wt = worktreeOf(id);
    else if (n.type === 'merge') {
      const m = await prepareMerge(id);
      if (!('wt' in m)) return m;
      wt = m.wt;
    } else wt = await prepareWorktree(id, parentBase);
    const startCommit = await git.ok(['rev-parse', 'HEAD'], wt);
    await moveTicket(id, 'in_progress', 'engine started the node');
    await snapshot(id, 'active');
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
        const agentName = n.command ? 'shell' : (n.agent ?? input.agentOverride);
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
              signal: input.signal,
              ...(n.timeout_s ? { deadlines: { totalMs: n.timeout_s * 1000 } } : {}),
              ...(n.budget_usd !== undefined ? { budgetUsd: n.budget_usd } : {}),
              ...(n.mode ? { permissionMode: n.mode } : {}),
            },
            (e) => {
              if (e.type === 'started' && e.pid !== null)
                event('agent.spawned', id, { pid: e.pid, attempt_id: attemptId });
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
        if (result) {
          log.recordAttempt({ attemptId, runId, ...attemptResultFields(result) });
          if (result.status === 'cancelled') return { kind: 'cancelled' };
          if (result.requiresManualConfirmation) {
            const g = await gate(
              id,
              'manual_work',
              `do ${id} by hand: ${n.label ?? id}`,
              `No agent does this node (manual). Work in ${wt}, then approve.`,
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
      // Commit whatever the node produced, then judge it by evidence.
      const before = await git.ok(['rev-parse', 'HEAD'], wt);
      await git.ok(['add', '-A'], wt);
      await git.ok(['commit', '--allow-empty', '-q', '-m', `mso: ${id} ${n.label ?? ''}`.trim()], wt);
      const commit = await git.ok(['rev-parse', 'HEAD'], wt);
      if (!manualDone) {
        // The call's full response — what the agent said and what it changed — so `mso replay --offline` can feed it back.
        const patch = await git.ok(['diff', '--binary', before, commit], wt);
        const blob = await log.putBlob(
          JSON.stringify({ result: result ? responseOf(result) : null, unavailable: result ? null : message, patch }),
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
          gates = await gatesPass(id, wt);
          if (gates.failures.length) {
            errorClass = 'gate_failed';
            message = gates.failures.join('; ');
          }
        }
      }
      if (!errorClass) {
        const th = await treeHash(git, deps.fs, wt, commit);
        const files = (await git.ok(['diff', '--name-only', startCommit, commit], wt)).split('\n').filter(Boolean);
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
        await snapshot(id, n.type === 'merge' ? 'merged' : 'committed', { treeHash: th, metadata: { commit } });
        await moveTicket(id, 'done', `committed ${commit.slice(0, 12)}`);
        return { kind: 'done' };
      }
      const rule = ruleFor(errorClass);
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
          event('node.checkout', id, { target_commit: target, rule: rule.error_type });
          await snapshot(id, 'rolled_back', { fallbackTarget: target, role: 'sentinel', phase: 4 });
        }
        event('node.retry', id, { rule: rule.error_type, action: rule.action, retry: used + 1, of: max });
        continue;
      }
      const loop = loops.find((l) => l.from === id);
      if (loop && r.iteration < loop.max_iterations) {
        const body = loopBody(loop.to, id);
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
        const g = await gate(
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
            tree_hash: await treeHash(git, deps.fs, wt, commit),
            summary: 'accepted by a person',
            files: [],
            agent: 'human',
            required_present: present.length,
            required_total: required.length,
            gates_passed: gates.passed,
            gates_total: gates.total,
          });
          Object.assign(r, { commit, summary: 'accepted by a person' });
          await moveTicket(id, 'done', 'accepted by a person');
          return { kind: 'done' };
        }
        return g;
      }
      await snapshot(id, 'failed', { role: 'sentinel', phase: 4, metadata: { error_class: errorClass, message } });
      await moveTicket(id, 'blocked', `${errorClass}: ${message}`.slice(0, 300));
      return { kind: 'failed', reason: `${errorClass}: ${message}`.slice(0, 500) };
    }
  }

  function loopBody(from: string, to: string): string[] {
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

  const dag: DagNode[] = ids.map((id) => {
    const n = graph[id] as NonNullable<(typeof graph)[string]>;
    return {
      id,
      parents: n.parent_refs,
      lane: n.command ? 'shell' : (n.agent ?? input.agentOverride),
      settle: n.type === 'merge',
    };
  });
  const laneLimits = Object.fromEntries(Object.entries(input.policy.agents).map(([name, a]) => [name, a.concurrency]));
  const initial = new Map<string, NodeState>(
    ids.map((id) => [id, rec(id).state === 'done' && rec(id).commit ? 'done' : 'pending']),
  );
  const result = await runDag(
    dag,
    {
      execute: runNode,
      admit(id) {
        if (input.signal.aborted) return 'stop';
        if (input.budgetUsd !== null) {
          const s = spent();
          event('budget.check', id, { spent_usd: s, budget_usd: input.budgetUsd });
          if (s >= input.budgetUsd) {
            budgetStop = true;
            return 'stop';
          }
        }
        return 'start';
      },
      onState(id, state, detail) {
        const n = graph[id];
        const why =
          state === 'running'
            ? (detail ??
              (n?.parent_refs.length ? `ready: parents ${n.parent_refs.join(', ')} settled` : 'ready: root node'))
            : detail;
        buffered.push({ runId, type: 'node.state', nodeId: id, payload: { state, detail: why } });
        rec(id).state = state;
        rec(id).detail = why;
        if (state !== 'running') flushStates();
      },
      flush: flushStates,
    },
    { maxConcurrency: input.maxConcurrency, laneLimits, initial },
  );
  const nodes = Object.fromEntries(
    ids.map((id) => [
      id,
      {
        state: result.states.get(id) as NodeState,
        detail: result.details.get(id) ?? null,
        commit: rec(id).commit,
        tree_hash: rec(id).treeHash,
      },
    ]),
  );
  const states = [...result.states.values()];
  const pendingHitl = (await input.hitl.list()).filter((h) => h.status === 'pending').map((h) => h.id);
  let status: RunOutcome;
  let reason: string | null = null;
  if (input.signal.aborted || states.includes('cancelled')) [status, reason] = ['cancelled', 'cancelled'];
  else if (budgetStop)
    [status, reason] = ['failed', `budget_exceeded: spent $${spent().toFixed(4)} of $${input.budgetUsd}`];
  else if (states.includes('waiting')) [status, reason] = ['awaiting_human', `waiting for ${pendingHitl.join(', ')}`];
  else if (states.every((s) => s === 'done')) status = 'completed';
  else
    [status, reason] = [
      'failed',
      ids
        .filter((id) => result.states.get(id) === 'failed')
        .map((id) => `${id}: ${result.details.get(id)}`)
        .join('; ') || 'not every node finished',
    ];
  if (budgetStop) {
    await input.hitl.create({
      run_id: runId,
      kind: 'budget',
      gate: 'H1',
      urgency: 'high',
      title: `budget of $${input.budgetUsd} spent`,
      brief: 'New dispatches stopped. Raise the budget with `mso resume RUN --budget-usd X` to go on.',
      source: {},
      evidence: [`spent $${spent().toFixed(4)}`],
    });
  }
  event('run.outcome', null, { status, reason, cost_usd: spent() });
  return { status, reason, nodes, costUsd: spent(), pendingHitl };
}
