import type { Policy } from '../contracts/index.js';
import type { HumanGates } from './human-gates.js';
import type { PlanNode, RunContext } from './run-context.js';
import type { NodeOutcome } from './scheduler.js';

/**
 * What is checked before a node's work starts, wherever it runs: not cancelled (the run, or the node's ticket by a
 * person), and its human gate (if the plan puts one on it) approved. An outcome means the node does not start.
 */
export async function nodePreamble(ctx: RunContext, human: HumanGates, id: string): Promise<NodeOutcome | null> {
  const { input } = ctx;
  const humanGates = new Set((input.plan as { human_gate_nodes?: string[] }).human_gate_nodes ?? []);
  ctx.flushStates(); // write-ahead: this start, and the parents' completion, are on record before anything acts on them
  const n = ctx.node(id);
  if (input.signal.aborted) return { kind: 'cancelled' };
  // A person cancelled this node's ticket (`mso tickets cancel`) before it started: it does not run.
  const ticket = input.ticketOf.get(id);
  if (ticket && (await input.tickets.get(ticket)).doc.frontmatter.status === 'cancelled')
    return { kind: 'cancelled', reason: `ticket ${ticket} was cancelled` };
  // A person rejected what the node's last attempt asked of them (its failure escalated, or its work handed to them):
  // it fails, and its agents are not called again (an approved escalation runs once more and is taken as it is if it
  // fails again; approved work by hand is taken as done: see runNode).
  const rejected = await rejectedEscalation(ctx, human, id);
  if (rejected) return rejected;
  if (humanGates.has(id)) {
    const g = await human.gate(
      id,
      'human_gate',
      `approve ${id} before it runs`,
      `The plan puts a human gate on ${id} (a hitl edge into it, or risk high): ${n.label ?? id}.`,
      [`plan node ${id}`],
      'high',
    );
    if (g !== 'approved') return g;
  }
  return null;
}

/**
 * The node's latest escalation or by-hand item when a person rejected it and the node has not run since it was asked
 * (a later attempt, such as a loop's next iteration, is not bound by it), as the failed outcome; null otherwise. A node
 * that never ran costs one indexed query.
 */
async function rejectedEscalation(ctx: RunContext, human: HumanGates, id: string): Promise<NodeOutcome | null> {
  const last = ctx.lastAttemptAt(id);
  if (last === null) return null;
  // Its failure sent to a person, or its work handed to one (the chain ended with manual): the later of the two.
  const item = await human.latest(id, ['escalation', 'manual_work']);
  if (item?.status !== 'rejected' || last > item.created_at) return null;
  return {
    kind: 'failed',
    reason: `${item.id} rejected by ${item.decided_by ?? 'a person'}${item.note ? `: ${item.note}` : ''}`,
  };
}

/**
 * The agent lane a node runs in (the agent it resolves to): for a command, its own agent when that is a shell-kind
 * agent (`policy.agents`: another shell, its env), else `shell`; otherwise its agent (or the run's `--agent`), else
 * undefined: its persona's chain.
 */
export const laneOf = (
  n: Pick<PlanNode, 'command' | 'agent'>,
  agentOverride: string | undefined,
  agents: Policy['agents'],
): string | undefined => {
  if (!n.command) return n.agent ?? agentOverride;
  return n.agent !== undefined && (agents[n.agent]?.kind ?? n.agent) === 'shell' ? n.agent : 'shell';
};
