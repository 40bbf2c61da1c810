import type { AgentAdapter, AgentEvent, AgentRequest, ChainResult } from '../agents/index.js';
import type { AuditLog } from '../audit/index.js';
import type { ExecutionPlan, MentalModelBundle, Policy, WorkflowTopologySpec } from '../contracts/index.js';
import type { AskModel } from '../design/index.js';
import type { Clock, Faults, Fs, Proc, Random, SmallFs } from '../platform/index.js';
import type { TicketStore } from '../tickets/index.js';
import type { AtomicDeps, HitlStore } from '../workspace/index.js';
import type { Git } from './git.js';
import type { RecordedDecision } from './decisions.js';
import { createHumanGates } from './human-gates.js';
import { runDistributedNode, type DistributedBackend } from './distributed-step.js';
import { wentOnWithout } from './run-outcome.js';
import { laneOf } from './node-preamble.js';
import { runNode } from './node-step.js';
import { recoverLostCommits } from './recover.js';
import { createRunContext } from './run-context.js';
import { runDag, type DagNode, type NodeState } from './scheduler.js';

export interface RunnerDeps extends AtomicDeps {
  readonly clock: Clock;
  readonly random: Random;
  readonly proc: Proc;
  readonly fs: Fs;
  /** For a worktree's small administrative files (see PlatformDeps.smallFs); `fs` when absent. */
  readonly smallFs?: SmallFs | undefined;
  readonly git: Git;
  readonly log: AuditLog;
  readonly faults?: Faults | undefined;
  /** Runs agent nodes as jobs on `mso worker` processes instead of in this process (the distributed backend). */
  readonly backend?: DistributedBackend | undefined;
  readonly agents: {
    chain(persona: string | undefined): AgentAdapter[];
    adapter(name: string): AgentAdapter;
    run(chain: readonly AgentAdapter[], req: AgentRequest, onEvent?: (e: AgentEvent) => void): Promise<ChainResult>;
  };
}

export interface RunnerInput {
  readonly runId: string;
  readonly runDir: string;
  /**
   * The goal of a run of several steps, as given: each step's agent is told what its step is part of (a run of one
   * step has none here: its step is the goal).
   */
  readonly goal?: string | undefined;
  readonly plan: ExecutionPlan;
  readonly topology: WorkflowTopologySpec;
  readonly bundle: MentalModelBundle;
  readonly policy: Policy;
  readonly tickets: TicketStore;
  readonly hitl: HitlStore;
  /** Ticket id per node. */
  readonly ticketOf: ReadonlyMap<string, string>;
  readonly repo: string;
  /** mso's own folders (workspace and observation roots): their files inside `repo` are not a node's writes. */
  readonly ownRoots?: readonly string[] | undefined;
  readonly baseSha: string;
  readonly maxConcurrency: number;
  readonly budgetUsd: number | null;
  readonly agentOverride?: string | undefined;
  /** Aborted by `mso cancel` or Ctrl-C. */
  readonly signal: AbortSignal;
  /**
   * Says when a person decided a node's item while the run goes on (from another process, through the store): a node
   * waiting on it runs again in this coordinator if other nodes still run (else the run ends waiting, as without it).
   */
  readonly decided?: DecisionFeed | undefined;
  readonly critic?: AskModel | undefined;
  /**
   * Decisions a replay answers its human gates with, from the run it replays (by {@link decisionKey}): the gate's
   * item is created and decided at once, attributed to the recorded item, instead of waiting for a person.
   */
  readonly recordedDecisions?: ReadonlyMap<string, RecordedDecision> | undefined;
  /**
   * Called with every audit event of the run as it is buffered or written (node states, attempts, human items,
   * the outcome), and with `attempt.cost` after each agent call: how interfaces show progress. It must be cheap and
   * must not throw.
   */
  readonly onProgress?: ((e: ProgressEvent) => void) | undefined;
}

/** Decisions on a run's human items as they are recorded: `subscribe` returns what ends the subscription. */
export interface DecisionFeed {
  subscribe(onDecided: (nodeId: string) => void): () => void;
}

/** One step of a run's progress, as the engine records it. */
export interface ProgressEvent {
  readonly type: string;
  readonly nodeId: string | null;
  readonly payload: Record<string, unknown>;
  /** When it happened, where that was before it was told (a ticket's held start); else now. */
  readonly at?: string;
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

/**
 * Executes a plan's graph in git worktrees. Every state change is written to the audit log before it takes effect,
 * so a new coordinator can resume from the log: done nodes are never run again.
 */
export async function executePlan(deps: RunnerDeps, input: RunnerInput): Promise<RunnerResult> {
  const ctx = createRunContext(deps, input);
  const { runId, graph, ids, rec, event, flushStates } = ctx;
  const gates = createHumanGates(ctx);
  let budgetStop = false;
  const dag: DagNode[] = ids.map((id) => {
    const n = ctx.node(id);
    return {
      id,
      parents: n.parent_refs,
      lane: laneOf(n, input.agentOverride, input.policy.agents),
      settle: n.type === 'merge',
    };
  });
  const laneLimits = Object.fromEntries(Object.entries(input.policy.agents).map(([name, a]) => [name, a.concurrency]));
  await recoverLostCommits(ctx);
  // A node is finished once its commit is on record, even if its coordinator died before recording `done`.
  const finished = (id: string): boolean =>
    (rec(id).state === 'done' || rec(id).committedLast) && rec(id).commit !== null;
  for (const id of ids)
    if (finished(id) && rec(id).state !== 'done') {
      rec(id).state = 'done';
      ctx.bufferState({
        runId,
        type: 'node.state',
        nodeId: id,
        payload: { state: 'done', detail: 'committed before its coordinator stopped' },
      });
    }
  const initial = new Map<string, NodeState>(ids.map((id) => [id, finished(id) ? 'done' : 'pending']));
  const result = await runDag(
    dag,
    {
      execute: async (id) => {
        const outcome = await (deps.backend
          ? runDistributedNode(ctx, gates, id, deps.backend)
          : runNode(ctx, gates, id));
        // A node that failed before its work began (a person rejected its gate, a merge that could not start) left
        // its ticket todo: it is blocked with the reason, as a node that failed while it ran (through in_progress, the
        // only way the tickets' state machine allows). A no-op for a ticket blocked already.
        if (outcome.kind === 'failed') await ctx.moveTicket(id, 'blocked', outcome.reason.slice(0, 300));
        return outcome;
      },
      admit(id) {
        if (input.signal.aborted) return 'stop';
        if (input.budgetUsd !== null) {
          const s = ctx.spent();
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
        ctx.bufferState({ runId, type: 'node.state', nodeId: id, payload: { state, detail: why } });
        rec(id).state = state;
        rec(id).detail = why;
        // Committed with the scheduler's group commit (by the end of this turn), or sooner with the next event: a
        // child's start commits its parents' completion before it acts (write-ahead). A settled state lost to a crash
        // in between is derived again on resume: a node with its commit on record is done, any other runs again.
      },
      flush: flushStates,
    },
    {
      maxConcurrency: input.maxConcurrency,
      laneLimits,
      initial,
      reopen: input.decided ? (reopen) => (input.decided as DecisionFeed).subscribe(reopen) : undefined,
    },
  ).catch((e: unknown) => {
    // Stopped on an error, as a crash would: no ticket start held back is written after it (its timer with it).
    ctx.dropTickets();
    throw e;
  });
  // A worktree begun for a node that never ran is finished before the run ends (and its cleanup removes it); a ticket
  // start still held back is written.
  await ctx.settleAhead();
  await ctx.settleTickets();
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
  const without = wentOnWithout(graph, (id) => result.states.get(id));
  if (input.signal.aborted) [status, reason] = ['cancelled', 'cancelled'];
  else if (states.includes('cancelled'))
    [status, reason] = [
      'cancelled',
      ids
        .filter((id) => result.states.get(id) === 'cancelled')
        .map((id) => `${id}: ${result.details.get(id)}`)
        .join('; '),
    ];
  else if (budgetStop)
    [status, reason] = ['failed', `budget_exceeded: spent $${ctx.spent().toFixed(4)} of $${input.budgetUsd}`];
  else if (states.includes('waiting')) [status, reason] = ['awaiting_human', `waiting for ${pendingHitl.join(', ')}`];
  else if (states.every((s) => s === 'done')) status = 'completed';
  else if (without)
    // Its final nodes are done: the failures were merged past (quorum met, or a person said to go on).
    [status, reason] = [
      'completed',
      `${without.finals.join(', ')} done without ${[
        ...without.failed.map((id) => `${id} (failed: ${result.details.get(id) ?? 'failed'})`),
        ...without.blocked.map((id) => `${id} (blocked)`),
      ].join(', ')}`,
    ];
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
      evidence: [`spent $${ctx.spent().toFixed(4)}`],
    });
  }
  event('run.outcome', null, { status, reason, cost_usd: ctx.spent() });
  return { status, reason, nodes, costUsd: ctx.spent(), pendingHitl };
}
