import type { AgentAdapter } from '../types.js';
import { notStartedResult, type AdapterDeps, type AgentSpec } from './common.js';

/**
 * The seed's fallback: no machine does the work; the result asks for a person (`requires_manual_confirmation`).
 * Always available, so it ends every default chain. The caller turns the result into a human work item.
 */
export function createManualAdapter(deps: AdapterDeps, spec: AgentSpec): AgentAdapter {
  const identity = { name: spec.name, kind: 'manual' as const, provider: 'human', model: null };
  return {
    ...identity,
    availability: async () => ({ available: true, reason: 'a person can always do it' }),
    async run(req) {
      const at = deps.clock.now().toISOString();
      if (req.signal?.aborted)
        return notStartedResult(identity, at, 'cancelled', 'cancelled', 'cancelled before start');
      const r = notStartedResult(
        identity,
        at,
        'blocked',
        'manual_required',
        `manual confirmation required: ${req.instructions.split('\n')[0]?.slice(0, 160) ?? ''}`,
      );
      return { ...r, requiresManualConfirmation: true, transcript: req.instructions };
    },
  };
}
