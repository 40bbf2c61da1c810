import type { AuditLog } from '../audit/index.js';
import type { Clock } from '../platform/index.js';

export const CircuitState = { Closed: 'closed', Open: 'open', HalfOpen: 'half_open' } as const;
export type CircuitState = (typeof CircuitState)[keyof typeof CircuitState];

export interface BreakerConfig {
  readonly failureThreshold: number;
  readonly resetTimeoutMs: number;
  readonly halfOpenMaxAttempts: number;
}

/** A breaker's persisted state and counters. */
export interface BreakerMetrics {
  readonly breaker: string;
  readonly state: CircuitState;
  readonly consecutiveFailures: number;
  readonly total: number;
  readonly successes: number;
  readonly failures: number;
  readonly rejections: number;
  readonly lastChange: string | null;
  readonly nextAttempt: string | null;
}

/** Permission to call: `trial` marks the half-open probe whose outcome decides the state. */
export interface Permit {
  readonly allowed: true;
  readonly trial: boolean;
}
export interface Rejection {
  readonly allowed: false;
  readonly state: CircuitState;
  readonly retryAt: string | null;
}

/** One circuit breaker (per provider and model), shared by every process of the workspace. */
export interface CircuitBreaker {
  readonly key: string;
  acquire(): Permit | Rejection;
  success(permit: Permit): void;
  failure(permit: Permit, reason: string): void;
  /** An outcome that says nothing about the provider's health (cancelled, bad request): frees a trial slot. */
  release(permit: Permit): void;
  metrics(): BreakerMetrics;
  reset(): void;
}

interface Row {
  breaker: string;
  state: CircuitState;
  consecutive_failures: number;
  total: number;
  successes: number;
  failures: number;
  rejections: number;
  half_open_in_flight: number;
  trial_started_at: number | null;
  next_attempt_at: number | null;
  last_change_at: number | null;
  updated_at: number;
}

/** How long cached closed state is trusted before re-reading (other processes may have opened the breaker). */
const CACHE_MS = 250;

/**
 * Creates breakers stored in the audit database: CLOSED → OPEN after `failureThreshold` consecutive failures,
 * OPEN → HALF_OPEN once `resetTimeoutMs` passed, exactly `halfOpenMaxAttempts` trials (claimed inside an immediate
 * transaction, so across processes too), trial success → CLOSED, trial failure → OPEN. Every transition is written to
 * `breaker_events`. The success path in CLOSED touches no disk: counters are flushed with the next write.
 */
export function createBreakerFactory(
  log: AuditLog,
  clock: Clock,
  config: BreakerConfig,
): (key: string) => CircuitBreaker {
  const { db } = log;
  const select = db.prepare('SELECT * FROM breaker_state WHERE breaker = ?');
  const upsert =
    db.prepare(`INSERT INTO breaker_state (breaker, state, consecutive_failures, total, successes, failures, rejections,
      half_open_in_flight, trial_started_at, next_attempt_at, last_change_at, updated_at)
    VALUES (@breaker, @state, @consecutive_failures, @total, @successes, @failures, @rejections, @half_open_in_flight, @trial_started_at,
      @next_attempt_at, @last_change_at, @updated_at)
    ON CONFLICT(breaker) DO UPDATE SET state = excluded.state, consecutive_failures = excluded.consecutive_failures, total = excluded.total,
      successes = excluded.successes, failures = excluded.failures, rejections = excluded.rejections, half_open_in_flight = excluded.half_open_in_flight,
      trial_started_at = excluded.trial_started_at, next_attempt_at = excluded.next_attempt_at, last_change_at = excluded.last_change_at,
      updated_at = excluded.updated_at`);
  const breakers = new Map<string, CircuitBreaker>();

  return (key) => {
    const existing = breakers.get(key);
    if (existing) return existing;
    let cache: Row | null = null;
    let cachedAt = -Infinity;
    let pending = { total: 0, successes: 0 };
    let lastFlush = clock.now().getTime();
    const [provider, model] = key.split('/');

    const fresh = (now: number): Row => ({
      breaker: key,
      state: 'closed',
      consecutive_failures: 0,
      total: 0,
      successes: 0,
      failures: 0,
      rejections: 0,
      half_open_in_flight: 0,
      trial_started_at: null,
      next_attempt_at: null,
      last_change_at: null,
      updated_at: now,
    });

    /** Read-modify-write of the row in one immediate transaction; `change` returns the new row and the reason for a transition. */
    function mutate(change: (row: Row, now: number) => { row: Row; reason?: string }): Row {
      return log.transaction(() => {
        const now = clock.now().getTime();
        const current = (select.get(key) as Row | undefined) ?? fresh(now);
        const base: Row = {
          ...current,
          total: current.total + pending.total,
          successes: current.successes + pending.successes,
        };
        pending = { total: 0, successes: 0 };
        lastFlush = now;
        const { row, reason } = change(base, now);
        const next = {
          ...row,
          updated_at: now,
          last_change_at: row.state !== current.state ? now : row.last_change_at,
        };
        upsert.run(next);
        if (next.state !== current.state) {
          log.recordBreakerEvent({
            breaker: key,
            provider: provider ?? null,
            model: model ?? null,
            fromState: current.state,
            toState: next.state,
            reason: reason ?? null,
            metrics: {
              consecutive_failures: next.consecutive_failures,
              failures: next.failures,
              successes: next.successes,
            },
          });
        }
        cache = next;
        cachedAt = now;
        return next;
      });
    }

    function current(): Row {
      const now = clock.now().getTime();
      if (cache && now - cachedAt < CACHE_MS) return cache;
      cache = (select.get(key) as Row | undefined) ?? fresh(now);
      cachedAt = now;
      return cache;
    }

    const breaker: CircuitBreaker = {
      key,
      acquire() {
        const seen = current();
        if (seen.state === 'closed') {
          pending.total++;
          return { allowed: true, trial: false };
        }
        let permit: Permit | Rejection = { allowed: false, state: seen.state, retryAt: null };
        mutate((row, now) => {
          if (row.state === 'closed') {
            permit = { allowed: true, trial: false };
            return { row: { ...row, total: row.total + 1 } };
          }
          const trialStale =
            row.trial_started_at !== null && now - row.trial_started_at > Math.max(config.resetTimeoutMs, 60_000) * 2;
          if (row.state === 'open' && now >= (row.next_attempt_at ?? 0)) {
            permit = { allowed: true, trial: true };
            return {
              row: { ...row, state: 'half_open', half_open_in_flight: 1, trial_started_at: now, total: row.total + 1 },
              reason: 'reset timeout elapsed: trial call',
            };
          }
          if (row.state === 'half_open' && (row.half_open_in_flight < config.halfOpenMaxAttempts || trialStale)) {
            permit = { allowed: true, trial: true };
            return {
              row: {
                ...row,
                half_open_in_flight: trialStale ? 1 : row.half_open_in_flight + 1,
                trial_started_at: now,
                total: row.total + 1,
              },
            };
          }
          permit = {
            allowed: false,
            state: row.state,
            retryAt: row.next_attempt_at ? new Date(row.next_attempt_at).toISOString() : null,
          };
          return { row: { ...row, rejections: row.rejections + 1 } };
        });
        return permit;
      },
      success(permit) {
        const seen = current();
        if (!permit.trial && seen.state === 'closed' && seen.consecutive_failures === 0) {
          pending.successes++;
          // Counters of the fast path reach the database in batches, so other processes see totals too.
          if (pending.total >= 500 || clock.now().getTime() - lastFlush > 5_000) mutate((row) => ({ row }));
          return;
        }
        mutate((row) => {
          const base = { ...row, successes: row.successes + 1, consecutive_failures: 0 };
          if (permit.trial && row.state === 'half_open') {
            return {
              row: { ...base, state: 'closed', half_open_in_flight: 0, trial_started_at: null, next_attempt_at: null },
              reason: 'trial call succeeded',
            };
          }
          return { row: base };
        });
      },
      failure(permit, reason) {
        mutate((row, now) => {
          const base = { ...row, failures: row.failures + 1, consecutive_failures: row.consecutive_failures + 1 };
          const open = {
            state: 'open' as const,
            half_open_in_flight: 0,
            trial_started_at: null,
            next_attempt_at: now + config.resetTimeoutMs,
          };
          if (permit.trial && row.state === 'half_open')
            return { row: { ...base, ...open }, reason: `trial call failed: ${reason}` };
          if (row.state === 'closed' && base.consecutive_failures >= config.failureThreshold) {
            return {
              row: { ...base, ...open },
              reason: `${base.consecutive_failures} consecutive failures (last: ${reason})`,
            };
          }
          return { row: base };
        });
      },
      release(permit) {
        if (!permit.trial) return;
        mutate((row) => ({ row: { ...row, half_open_in_flight: Math.max(0, row.half_open_in_flight - 1) } }));
      },
      metrics() {
        cachedAt = -Infinity;
        const r = current();
        const iso = (n: number | null): string | null => (n === null ? null : new Date(n).toISOString());
        return {
          breaker: key,
          state: r.state,
          consecutiveFailures: r.consecutive_failures,
          total: r.total + pending.total,
          successes: r.successes + pending.successes,
          failures: r.failures,
          rejections: r.rejections,
          lastChange: iso(r.last_change_at),
          nextAttempt: r.state === 'open' ? iso(r.next_attempt_at) : null,
        };
      },
      reset() {
        mutate((row, now) => ({
          row: {
            ...fresh(now),
            total: row.total,
            successes: row.successes,
            failures: row.failures,
            rejections: row.rejections,
          },
          reason: 'reset by operator',
        }));
      },
    };
    breakers.set(key, breaker);
    return breaker;
  };
}

/** Every breaker recorded in the workspace. */
export function listBreakerKeys(log: AuditLog): string[] {
  return (log.db.prepare('SELECT breaker FROM breaker_state ORDER BY breaker').all() as Array<{ breaker: string }>).map(
    (r) => r.breaker,
  );
}
