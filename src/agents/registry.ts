import type { AgentConfig, Policy } from '../contracts/index.js';
import { InvalidArgumentError } from '../contracts/index.js';
import { createCliAdapter } from './adapters/cli-adapter.js';
import { claudeDialect } from './adapters/claude-code.js';
import { codexDialect } from './adapters/codex.js';
import type { AdapterDeps, AgentSpec } from './adapters/common.js';
import { geminiDialect } from './adapters/gemini.js';
import { createLlmAdapter } from './adapters/llm.js';
import { createManualAdapter } from './adapters/manual.js';
import { createShellAdapter } from './adapters/shell.js';
import { AGENT_KINDS, type AgentAdapter } from './types.js';

const builtIn = (kind: AgentConfig['kind']): AgentConfig => ({
  kind,
  args: [],
  env: {},
  env_allow: [],
  concurrency: 4,
});

/** Every agent by name: one built-in per kind (named after it), overridden or extended by `policy.agents`. */
export function resolveAgentSpecs(policy: Policy): Map<string, AgentSpec> {
  const specs = new Map<string, AgentSpec>();
  for (const kind of AGENT_KINDS) specs.set(kind, { name: kind, config: builtIn(kind) });
  for (const [name, config] of Object.entries(policy.agents)) specs.set(name, { name, config });
  return specs;
}

/** Builds the adapter for one agent spec. */
export function createAdapter(deps: AdapterDeps, spec: AgentSpec): AgentAdapter {
  switch (spec.config.kind) {
    case 'manual':
      return createManualAdapter(deps, spec);
    case 'shell':
      return createShellAdapter(deps, spec);
    case 'claude-code':
      return createCliAdapter(deps, spec, claudeDialect);
    case 'codex':
      return createCliAdapter(deps, spec, codexDialect);
    case 'gemini':
      return createCliAdapter(deps, spec, geminiDialect);
    default:
      return createLlmAdapter(deps, spec);
  }
}

/** The agent names to try for a persona: its chain, else `default`; unknown names are refused. */
export function chainFor(policy: Policy, specs: ReadonlyMap<string, AgentSpec>, persona: string | undefined): string[] {
  const chain = (persona !== undefined ? policy.fallback_chains[persona] : undefined) ??
    policy.fallback_chains['default'] ?? ['manual'];
  for (const name of chain) {
    if (!specs.has(name))
      throw new InvalidArgumentError(
        `fallback_chains.${persona ?? 'default'}`,
        `unknown agent ${name} (known: ${[...specs.keys()].join(', ')})`,
      );
  }
  return chain;
}
