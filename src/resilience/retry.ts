import type { Random } from '../platform/index.js';

export interface RetryPolicy {
  readonly maxRetries: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly multiplier: number;
  readonly jitter: boolean;
}

/**
 * One retry budget for a logical request, shared by every layer and every agent of a fallback chain, so stacked
 * retry loops cannot multiply paid calls.
 */
export interface RetryBudget {
  readonly max: number;
  readonly used: number;
  /** Takes one retry from the budget; false when it is spent. */
  take(): boolean;
}

export function createRetryBudget(max: number): RetryBudget {
  let used = 0;
  return {
    max,
    get used() {
      return used;
    },
    take() {
      if (used >= max) return false;
      used++;
      return true;
    },
  };
}

/**
 * Delay before retry number `n` (1-based): exponential with ±25 % jitter, capped; a server's Retry-After wins
 * when given (capped by the same maximum).
 */
export function backoffDelay(
  policy: RetryPolicy,
  n: number,
  random: Random,
  retryAfterMs: number | null = null,
): number {
  if (retryAfterMs !== null) return Math.min(retryAfterMs, policy.maxDelayMs);
  const raw = Math.min(policy.initialDelayMs * policy.multiplier ** (n - 1), policy.maxDelayMs);
  if (!policy.jitter || raw === 0) return Math.floor(raw);
  const spread = raw * 0.25;
  return Math.max(0, Math.floor(raw - spread + (random.int(1_000_001) / 1_000_000) * 2 * spread));
}
