import type { AuditLog } from '../audit/index.js';
import { AllProvidersUnavailableError, type ChainAgentState } from '../contracts/index.js';
import type { Clock, Random } from '../platform/index.js';
import {
  backoffDelay,
  createRetryBudget,
  type CircuitBreaker,
  type RetryBudget,
  type RetryPolicy,
} from '../resilience/index.js';
import { CONFIGURATION_CLASSES } from './classify.js';
import {
  FALLBACK_CLASSES,
  RETRYABLE_CLASSES,
  type AgentAdapter,
  type AgentEvent,
  type AgentRequest,
  type AgentResult,
  type ErrorClass,
} from './types.js';

/** Failures that say the provider is unhealthy; auth, bad requests, limits and cancels do not trip a breaker. */
const BREAKER_CLASSES: ReadonlySet<ErrorClass> = new Set<ErrorClass>([
  'rate_limit',
  'server_error',
  'network',
  'timeout',
  'stalled_stream',
  'process',
  'protocol',
]);
/** Failures where the next agent is tried at once instead of this one again (a hang or a limit repeats). */
const MOVE_ON_CLASSES: ReadonlySet<ErrorClass> = new Set<ErrorClass>([
  'rate_limit',
  'quota',
  'timeout',
  'auth',
  'permission',
  'unavailable',
]);

export interface ResilienceDeps {
  readonly clock: Clock;
  readonly random: Random;
  /** The breaker for a key `<provider>/<model>`; agents without a remote provider (shell, manual) have none. */
  readonly breaker: (key: string) => CircuitBreaker;
  readonly retry: RetryPolicy;
  /** Where calls, transcripts and requests are recorded; optional for library use. */
  readonly audit?: AuditLog | undefined;
}

/** One step of a chain run, for the audit trail and `mso agents try`. */
export interface ChainStep {
  readonly agent: string;
  readonly outcome: 'unavailable' | 'rejected' | 'success' | 'failure' | 'retry';
  readonly reason: string;
  readonly errorClass: ErrorClass | null;
  readonly breaker: string | null;
  /** `configuration` when the failure is the agent's setup (a key, a login, an account's rights), not its health. */
  readonly problem?: 'configuration' | undefined;
}

export interface ChainResult {
  readonly result: AgentResult;
  readonly trail: readonly ChainStep[];
  readonly retries: number;
  readonly callIds: readonly string[];
}

/** The breaker key of an adapter, or null for local agents. */
export function breakerKeyOf(a: AgentAdapter): string | null {
  if (a.kind === 'shell' || a.kind === 'manual') return null;
  return `${a.provider}/${a.model ?? 'default'}`;
}

async function recordCall(deps: ResilienceDeps, req: AgentRequest, r: AgentResult, callId: string): Promise<void> {
  const log = deps.audit;
  if (!log) return;
  // Three independent files, written side by side (each is an atomic write of its own).
  const [requestBlob, transcriptBlob, responseBlob] = await Promise.all([
    log.putBlob(
      JSON.stringify({
        agent: r.agent,
        instructions: req.instructions,
        command: req.command ?? null,
        model: r.model,
        // What the process was given: its permission mode and the names (never the values) of its variables.
        ...(r.evidence.mode !== undefined ? { mode: r.evidence.mode } : {}),
        ...(r.evidence.envNames !== undefined ? { env_names: r.evidence.envNames } : {}),
      }),
      'application/json',
    ),
    r.transcript ? log.putBlob(r.transcript, 'text/plain') : null,
    log.putBlob(
      JSON.stringify({
        status: r.status,
        output: r.output,
        summary: r.summary,
        error_class: r.errorClass,
        error: r.errorMessage,
        usage: r.usage,
      }),
      'application/json',
    ),
  ]);
  log.recordAgentCall({
    callId,
    attemptId: req.attemptId ?? null,
    runId: req.runId,
    kind:
      r.kind === 'shell'
        ? 'shell'
        : r.kind === 'manual'
          ? 'manual'
          : ['claude-code', 'codex', 'gemini'].includes(r.kind)
            ? 'cli'
            : 'llm',
    agent: r.agent,
    provider: r.provider,
    model: r.model,
    requestBlob,
    responseBlob,
    transcriptBlob,
    status: r.status,
    errorClass: r.errorClass,
    startedAt: r.evidence.startedAt,
    endedAt: r.evidence.endedAt,
    latencyMs: Math.max(0, Date.parse(r.evidence.endedAt) - Date.parse(r.evidence.startedAt)),
    firstTokenMs: r.evidence.firstOutputMs,
    inputTokens: r.usage.input,
    outputTokens: r.usage.output,
    cacheReadTokens: r.usage.cacheRead,
    costUsd: r.cost.usd,
    costSource: r.cost.source,
  });
}

/**
 * Runs a request through a fallback chain: each agent in order, skipping unavailable ones and open breakers; a
 * breaker-worthy failure is counted; retryable failures are retried with backoff (Retry-After honoured) from one
 * budget shared by the whole chain; rate limits, quota, hangs and auth failures move on to the next agent. When no
 * agent could take the call at all, throws ALL_PROVIDERS_UNAVAILABLE listing each agent's state. A shell step
 * (`req.command`) runs once: the budget is for an agent's transient failures, and running a command again is the
 * node's own retry (its `max_retry` and the plan's fallback rules), which the engine counts as attempts.
 */
export async function runChain(
  deps: ResilienceDeps,
  chain: readonly AgentAdapter[],
  req: AgentRequest,
  onEvent?: (e: AgentEvent) => void,
  budget: RetryBudget = createRetryBudget(req.command !== undefined ? 0 : deps.retry.maxRetries),
): Promise<ChainResult> {
  const trail: ChainStep[] = [];
  const states: ChainAgentState[] = [];
  const callIds: string[] = [];
  let last: AgentResult | null = null;
  for (const [index, adapter] of chain.entries()) {
    const isLast = index === chain.length - 1;
    const avail = await adapter.availability();
    const key = breakerKeyOf(adapter);
    const breaker = key ? deps.breaker(key) : null;
    if (!avail.available) {
      trail.push({
        agent: adapter.name,
        outcome: 'unavailable',
        reason: avail.reason,
        errorClass: 'unavailable',
        breaker: key,
      });
      states.push({
        agent: adapter.name,
        available: false,
        reason: avail.reason,
        breaker: breaker ? breaker.metrics().state : null,
      });
      continue;
    }
    let tries = 0;
    for (;;) {
      const permit = breaker ? breaker.acquire() : ({ allowed: true, trial: false } as const);
      if (!permit.allowed) {
        const reason = `breaker ${permit.state}${permit.retryAt ? ` until ${permit.retryAt}` : ''}`;
        trail.push({ agent: adapter.name, outcome: 'rejected', reason, errorClass: 'breaker_open', breaker: key });
        states.push({ agent: adapter.name, available: true, reason, breaker: permit.state });
        break;
      }
      tries++;
      const result = await adapter.run(req, onEvent);
      last = result;
      const callId = deps.random.id('call');
      callIds.push(callId);
      await recordCall(deps, req, result, callId);
      const cls = result.errorClass;
      if (breaker && 'trial' in permit) {
        if (result.status === 'success') breaker.success(permit);
        else if (cls && BREAKER_CLASSES.has(cls))
          breaker.failure(permit, `${cls}: ${result.errorMessage ?? ''}`.slice(0, 200));
        else breaker.release(permit);
      }
      if (result.status === 'success' || !cls) {
        trail.push({
          agent: adapter.name,
          outcome: result.status === 'success' ? 'success' : 'failure',
          reason: result.summary,
          errorClass: cls,
          breaker: key,
        });
        return { result, trail, retries: budget.used, callIds };
      }
      const moveOn = MOVE_ON_CLASSES.has(cls) && !isLast;
      if (!moveOn && RETRYABLE_CLASSES.has(cls) && budget.take()) {
        const delay = backoffDelay(deps.retry, tries, deps.random, result.retryAfterMs);
        trail.push({
          agent: adapter.name,
          outcome: 'retry',
          reason: `${cls}: retry ${budget.used}/${budget.max} in ${delay} ms`,
          errorClass: cls,
          breaker: key,
        });
        onEvent?.({ type: 'retry', attempt: budget.used, delayMs: delay, errorClass: cls });
        await deps.clock.sleep(delay, req.signal);
        if (req.signal?.aborted) return { result, trail, retries: budget.used, callIds };
        continue;
      }
      trail.push({
        agent: adapter.name,
        outcome: 'failure',
        reason: result.errorMessage ?? cls,
        errorClass: cls,
        breaker: key,
        ...(CONFIGURATION_CLASSES.has(cls) ? { problem: 'configuration' as const } : {}),
      });
      states.push({
        agent: adapter.name,
        available: true,
        reason: `${cls}: ${result.errorMessage ?? ''}`.slice(0, 200),
        breaker: breaker ? breaker.metrics().state : null,
      });
      if (FALLBACK_CLASSES.has(cls) && !isLast) break;
      return { result, trail, retries: budget.used, callIds };
    }
  }
  if (last) return { result: last, trail, retries: budget.used, callIds };
  throw new AllProvidersUnavailableError(states);
}
