import { chainFor, createAdapter, resolveAgentSpecs, type AgentSpec } from '../agents/index.js';
import {
  InvalidArgumentError,
  NoUsableAgentError,
  PlannerUnavailableError,
  type AgentCheck,
  type Policy,
} from '../contracts/index.js';
import { adapterDeps } from './agents-ops.js';
import type { AppDeps } from './create-app.js';

/** The planner a request asks for: `auto` is "the LLM planner if a model can be called, else the heuristic one". */
export type PlannerRequest = 'heuristic' | 'llm' | 'auto';

/** The planner that will run, and why (kept in the topology's `metadata.planner`). */
export interface PlannerChoice {
  readonly requested: PlannerRequest;
  readonly used: 'heuristic' | 'llm';
  readonly reason?: string;
}

/** Whether each named agent can run now, without calling any model: a person (manual) never counts as usable. */
export async function checkAgents(deps: AppDeps, policy: Policy, names: readonly string[]): Promise<AgentCheck[]> {
  const specs = resolveAgentSpecs(policy);
  const ad = adapterDeps(deps, policy);
  const out: AgentCheck[] = [];
  for (const name of names) {
    const spec = specs.get(name);
    if (!spec) {
      out.push({ agent: name, usable: false, reason: 'not configured in policy.yaml agents' });
      continue;
    }
    if (spec.config.kind === 'manual') {
      out.push({ agent: name, usable: false, reason: 'a person (manual)' });
      continue;
    }
    const av = await createAdapter(ad, spec).availability();
    out.push({
      agent: name,
      usable: av.available,
      reason: av.reason,
      ...(av.login && !av.login.ready ? { noLogin: av.login.hint } : {}),
    });
  }
  return out;
}

/** Resolves `heuristic | llm | auto` against `design.planner_chain`; `llm` with no usable model is refused (exit 2). */
export async function choosePlanner(
  deps: AppDeps,
  policy: Policy,
  requested: PlannerRequest | undefined,
): Promise<PlannerChoice> {
  const want = requested ?? policy.design.planner;
  if (want === 'heuristic') return { requested: want, used: 'heuristic' };
  const checks = await checkAgents(deps, policy, policy.design.planner_chain);
  if (checks.some((c) => c.usable)) return { requested: want, used: 'llm' };
  if (want === 'llm') throw new PlannerUnavailableError(checks);
  return {
    requested: want,
    used: 'heuristic',
    reason: `no usable model in design.planner_chain: ${checks.map((c) => `${c.agent} (${c.reason})`).join('; ') || 'empty'}`,
  };
}

/** What a run asks of agents, known before its design is written. */
export interface AgentNeeds {
  /** `--agent NAME`: every node without a command goes to this agent. */
  readonly agent?: string | undefined;
  /**
   * The nodes, when they are known (the parsed workflow file a run imports, or a designed run's plan); without them
   * (a goal not planned yet) every node uses the default chain.
   */
  readonly workflow?:
    | {
        readonly nodes: ReadonlyArray<{
          readonly id: string;
          readonly command?: string | undefined;
          readonly agent?: string | undefined;
          readonly persona?: string | undefined;
        }>;
      }
    | undefined;
  /** `--allow-manual`: nodes no agent can do go to a person, knowingly. */
  readonly allowManual?: boolean | undefined;
  /** Where policy.yaml lives, for the advice. */
  readonly policyFile: string;
}

const isManualOnly = (chain: readonly string[], specs: ReadonlyMap<string, AgentSpec>): boolean =>
  chain.length > 0 && chain.every((n) => specs.get(n)?.config.kind === 'manual');

/**
 * The first-run gate: refuses (exit 2, before anything is written) a run with nodes that no agent can do, unless they
 * ask for a person explicitly (an agent or chain of manual kind) or `allowManual` is given. Shell nodes need no agent.
 */
export async function assertAgentsFor(deps: AppDeps, policy: Policy, needs: AgentNeeds): Promise<void> {
  if (needs.allowManual) return;
  const specs = resolveAgentSpecs(policy);
  const chains = new Map<string, { chain: string[]; nodes: string[] }>();
  const add = (key: string, chain: () => string[], node: string): void => {
    const entry = chains.get(key) ?? { chain: chain(), nodes: [] };
    entry.nodes.push(node);
    chains.set(key, entry);
  };
  const chainOf = (persona: string | undefined): string[] => chainFor(policy, specs, persona);
  if (needs.workflow) {
    for (const n of needs.workflow.nodes) {
      if (n.command !== undefined) continue;
      const agent = n.agent ?? needs.agent;
      if (agent !== undefined) add(`agent ${agent}`, () => [agent], n.id);
      else {
        const persona = n.persona !== undefined && policy.fallback_chains[n.persona] ? n.persona : 'default';
        add(`fallback_chains.${persona}`, () => chainOf(persona === 'default' ? undefined : persona), n.id);
      }
    }
  } else if (needs.agent !== undefined) {
    const agent = needs.agent;
    if (!specs.has(agent))
      throw new InvalidArgumentError('--agent', `unknown agent ${agent} (known: ${[...specs.keys()].join(', ')})`);
    add(`agent ${agent}`, () => [agent], 'every node');
  } else add('fallback_chains.default', () => chainOf(undefined), 'every node');

  for (const [where, { chain, nodes }] of chains) {
    if (isManualOnly(chain, specs)) continue;
    const checks = await checkAgents(deps, policy, chain);
    const usable = checks.filter((c) => c.usable);
    warnNoLogin(
      deps,
      usable,
      where,
      chain.some((n) => specs.get(n)?.config.kind === 'manual'),
    );
    if (usable.length > 0) continue;
    throw new NoUsableAgentError(
      `${nodes.join(', ')} (${where})`,
      checks,
      [
        'Run `mso doctor` to see which agent CLIs are installed and can authenticate, then list one first in',
        `${needs.policyFile}, for example:`,
        '  fallback_chains:',
        '    default: [claude-code, manual]',
        'Or pass --allow-manual to hand these nodes to a person: each is done only when that person approves its',
        'item with --done.',
      ].join('\n'),
    );
  }
}

/**
 * Says which agents a chain tries before the first that shows a login (or all of them) while showing none: each of
 * their calls may fail first (they may log in in a way mso cannot see, so they are not skipped), and where the nodes
 * then end up.
 */
function warnNoLogin(deps: AppDeps, usable: readonly AgentCheck[], where: string, endsWithPerson: boolean): void {
  const ready = usable.findIndex((c) => c.noLogin === undefined);
  const unverified = (ready < 0 ? usable : usable.slice(0, ready)).filter((c) => c.noLogin !== undefined);
  if (unverified.length === 0) return;
  const names = unverified.map((c) => c.agent);
  const who = names.length === 1 ? `${names[0]} shows` : `${names.slice(0, -1).join(', ')} and ${names.at(-1)} show`;
  const then =
    ready >= 0
      ? `falls back to ${usable[ready]?.agent}`
      : endsWithPerson
        ? `falls back along ${where} to a person`
        : `fails (${where} has no other agent)`;
  deps.logger.warn(
    `${who} no login (${unverified.map((c) => `${c.agent}: ${c.noLogin}`).join('; ')}): if ${names.length === 1 ? 'it cannot' : 'none can'} log in, ` +
      `each node's call ${then} (see mso doctor)`,
  );
}
