import { chainFor, modeRefusal, resolveAgentSpecs } from '../agents/index.js';
import { InvalidArgumentError, type ExecutionPlan, type Policy } from '../contracts/index.js';
import { laneOf } from '../engine/index.js';

/** One node an agent cannot run in the mode the plan gives it. */
export interface ModeRefusal {
  readonly node: string;
  readonly agent: string;
  readonly mode: string | null;
  readonly reason: string;
}

/**
 * The nodes of a plan whose mode an agent that may run them cannot honour: a CLI without that mode, a mode wider
 * than the agent's own (a ceiling), a shell command asked to be read-only, a name that is no mode. Every agent a
 * node may reach is checked (its fallback chain, `--agent`, or the shell for a command).
 */
export function modeRefusals(policy: Policy, plan: ExecutionPlan, agentOverride?: string): ModeRefusal[] {
  const specs = resolveAgentSpecs(policy);
  const out: ModeRefusal[] = [];
  for (const [id, n] of Object.entries(plan.execution_graph)) {
    const named = laneOf(n, agentOverride, policy.agents);
    const names = named ? [named] : chainFor(policy, specs, n.persona);
    for (const name of names) {
      const spec = specs.get(name);
      if (!spec) continue; // an unknown agent is refused where the node is dispatched, with the known names
      const reason = modeRefusal(spec.config.kind, spec.config.permission_mode, n.mode);
      if (reason) out.push({ node: id, agent: name, mode: n.mode ?? null, reason });
    }
  }
  return out;
}

/** Refuses (exit 2) a plan with a node no agent of its may run in the mode asked, naming the node and the agent. */
export function assertModesHonoured(policy: Policy, plan: ExecutionPlan, agentOverride?: string): void {
  const refusals = modeRefusals(policy, plan, agentOverride);
  const first = refusals[0];
  if (!first) return;
  const more = refusals.length > 1 ? ` (and ${refusals.length - 1} more)` : '';
  throw new InvalidArgumentError(`mode of node ${first.node} for agent ${first.agent}`, `${first.reason}${more}`);
}
