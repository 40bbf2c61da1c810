import type { DetectorInput } from './finding.js';

/** What does a node's work: a shell command, a person (a `manual` agent), or an agent (a coding CLI or an LLM). */
export type NodeKind = 'shell' | 'human' | 'agent';

/**
 * The kind of the node an attempt ran (from its plan node when known, else from the attempt's agent): proposals touch
 * only settings that apply to it (no model, prompt, mental model or fallback chain for a shell command or a person).
 */
export function nodeKindOf(
  i: Pick<DetectorInput, 'plan' | 'policy'>,
  nodeId: string | null,
  agent: string | null,
): NodeKind {
  const n = (nodeId ? i.plan?.execution_graph[nodeId] : undefined) as { command?: string; agent?: string } | undefined;
  if (n?.command || agent === 'shell') return 'shell';
  const name = n?.agent ?? agent;
  if (name === null || name === undefined) return 'agent';
  const kind = i.policy.agents[name]?.kind ?? name;
  return kind === 'manual' ? 'human' : kind === 'shell' ? 'shell' : 'agent';
}
