import { resolve } from 'node:path';
import { runChain } from '../agents/index.js';
import { InvalidArgumentError, NotFoundError } from '../contracts/index.js';
import type { AskModel } from '../design/index.js';
import { readTextIfExists, type Workspace } from '../workspace/index.js';
import { openAgentRuntime, retryPolicy } from './agents-ops.js';
import type { AppDeps } from './create-app.js';
import type { TopologyRequest } from './design-ops.js';

/** The planner's model, asked through the agents of `design.planner_chain` (recorded in the audit log as any call). */
export function askThroughAgents(
  deps: AppDeps,
  ws: Workspace,
  runId: string,
  signal: AbortSignal | undefined,
): AskModel {
  return async (prompt) => {
    const rt = openAgentRuntime(deps, ws);
    try {
      const chain = ws.policy.design.planner_chain.map((n) => rt.adapter(n));
      const r = await runChain(
        { clock: deps.clock, random: deps.random, breaker: rt.breaker, retry: retryPolicy(ws.policy), audit: rt.log },
        chain,
        {
          runId,
          persona: 'arch',
          instructions: prompt,
          cwd: ws.layout.root,
          ...(signal ? { signal } : {}),
        },
      );
      return r.result.status === 'success'
        ? { ok: true, text: r.result.output }
        : {
            ok: false,
            reason: `${r.result.agent}: ${r.result.errorClass ?? r.result.status}: ${r.result.errorMessage ?? ''}`,
          };
    } catch (e) {
      return { ok: false, reason: (e as Error).message };
    } finally {
      rt.close();
    }
  };
}

/**
 * The goal of a topology request: `--goal`, `--goal-file` (resolved against `cwd`), or the one an existing run keeps
 * (`ws` given); one clear error when none, both, or an empty one is given.
 */
export async function readGoal(
  deps: AppDeps,
  cwd: string,
  input: TopologyRequest,
  ws: Workspace | null,
): Promise<string> {
  if (input.goal !== undefined && input.goalFile !== undefined)
    throw new InvalidArgumentError('goal', 'give --goal or --goal-file, not both');
  let goal = input.goal;
  if (goal === undefined && input.goalFile === undefined && input.runId !== undefined && ws) {
    // An existing run keeps its goal: re-designing it needs no --goal.
    goal = await ws.runs.get(input.runId).then(
      (r) => r.manifest.goal,
      () => undefined,
    );
  }
  if (input.goalFile !== undefined) {
    const path = resolve(cwd, input.goalFile);
    goal = await readTextIfExists(deps.fs, path);
    if (goal === undefined) throw new NotFoundError('goal file', path);
  }
  if (goal === undefined) throw new InvalidArgumentError('goal', 'give --goal TEXT or --goal-file FILE');
  if (goal.trim() === '') throw new InvalidArgumentError('goal', 'the goal is empty');
  return goal;
}
