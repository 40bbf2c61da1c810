import type { FallbackRule } from '../contracts/index.js';
import type { RunContext } from './run-context.js';

/** How a node's failures map to the plan's fallback rules, its gates, and its loops: the rules a node step follows. */

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

export function ruleFor(plan: RunContext['input']['plan'], errorClass: string): FallbackRule {
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
export const fullId = (commit: string | null | undefined): string | undefined =>
  commit && /^[0-9a-f]{40,64}$/.test(commit) ? commit : undefined;

export async function gatesPass(
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

/** The nodes of a loop's body: on a forward path from its entry `from` to its exit `to`. */
export function loopBody(ctx: RunContext, from: string, to: string): string[] {
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
