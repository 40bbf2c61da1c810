import { liveRunHolder, openAuditLog, type AuditLog, type LeaseHolder } from '../audit/index.js';
import { lastCoordinatorRecord } from './coordinator-record.js';
import { ErrorCode, InvalidArgumentError, isMsoError } from '../contracts/index.js';
import type { DecisionFeed } from '../engine/index.js';
import type { RunRef, Workspace } from '../workspace/index.js';
import type { AppDeps } from './create-app.js';
import { leaseDeps } from './run-support.js';
import { auditOptions } from './settings.js';

/** The PostgreSQL NOTIFY channel that names a run whose decisions or cancel request changed (channels are per database). */
export const RUN_SIGNAL_PG_CHANNEL = 'mso_run_signal';
/** The Redis channel, under a queue prefix, that does the same for a distributed run. */
export const runSignalRedisChannel = (prefix: string): string => `${prefix}:mso-run-signal`;

/** How often the store is looked at when nothing pushes (SQLite, or the push channel was lost). */
const POLL_MS = 1_000;
/** How often it is looked at when LISTEN/NOTIFY or Redis pushes: only a safety net for a lost message. */
const PUSHED_POLL_MS = 5_000;
/** How soon a lost LISTEN connection is tried again, doubling up to the maximum while the store does not answer. */
const LISTEN_RETRY_MS = 1_000;
const LISTEN_RETRY_MAX_MS = 30_000;
/** The event a process without the run's folder records to ask the live coordinator to decide one of its items. */
export const DECISION_REQUESTED = 'hitl.decision_requested';
/** A test and tuning knob: every look at the store this far apart (ms), pushed or not. */
export const SIGNAL_POLL_ENV = 'MSO_SIGNAL_POLL_MS';

/** The look interval {@link SIGNAL_POLL_ENV} sets, if it is set; anything but a positive whole number is refused. */
export function signalPollMs(env: Readonly<Record<string, string | undefined>>): number | undefined {
  const raw = env[SIGNAL_POLL_ENV];
  if (raw === undefined || raw === '') return undefined;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 1 || ms > 2_147_483_647)
    throw new InvalidArgumentError(SIGNAL_POLL_ENV, `${raw} is not a whole number of milliseconds (1..2147483647)`);
  return ms;
}
/**
 * How far before the last seen event a look starts again: PostgreSQL assigns `seq` before commit, so a concurrent
 * writer's event can become visible after a later one; events already seen are skipped by their seq.
 */
const LOOKBACK = 256;

export interface RunSignals extends DecisionFeed {
  close(): Promise<void>;
}

export interface RunSignalOptions {
  readonly deps: Pick<AppDeps, 'listenPostgres' | 'env'>;
  readonly log: AuditLog;
  readonly runId: string;
  /** The PostgreSQL store's URL, when the audit log is there: notifications wake the look at once. */
  readonly auditUrl?: string | undefined;
  /** Subscribes to a Redis channel (the distributed backend's queue): its messages wake the look at once. */
  readonly redis?: ((channel: string, onMessage: (runId: string) => void) => Promise<void>) | undefined;
  readonly redisPrefix?: string | undefined;
  /** A cancel request was recorded for the run (its reason). */
  readonly onCancel: (reason: string) => void;
  /**
   * A process without the run's folder asked to decide one of its items ({@link DECISION_REQUESTED}, the event's
   * payload): applied one at a time; the `hitl.decided` it records is then found at once. Requests recorded before
   * the watch started (a coordinator that stopped before it applied them) are applied too.
   */
  readonly onDecisionRequest?: ((payload: string) => Promise<void>) | undefined;
}

/**
 * Watches the audit store for what other processes record about a running run: a person's decision on one of its
 * items (`hitl.decided`: the node waiting on it may run again) and a cancel request (`run.cancel_requested`). The
 * store is the truth and is looked at every second (SQLite) or every five (when a push channel is up; MSO_SIGNAL_POLL_MS
 * sets one interval for both): a PostgreSQL NOTIFY on {@link RUN_SIGNAL_PG_CHANNEL} or a message on the run's Redis
 * channel makes the look happen at once. Only what is recorded after the watch starts counts, but for decision
 * requests ({@link DECISION_REQUESTED}): a process without the run's folder asks the coordinator to decide an item.
 */
export async function watchRunSignals(o: RunSignalOptions): Promise<RunSignals> {
  const listeners = new Set<(nodeId: string) => void>();
  const maxSeq = o.log.db.prepare('SELECT MAX(seq) AS m FROM events WHERE run_id = ?').get(o.runId) as {
    m: number | null;
  };
  const start = Number(maxSeq.m ?? 0);
  let last = start;
  const seen = new Set<number>();
  let applying = Promise.resolve();
  const apply = (payload: string): void => {
    const on = o.onDecisionRequest;
    if (on) applying = applying.then(() => on(payload)).then(look, look);
  };
  const pollMs = signalPollMs(o.deps.env);
  const look = (): void => {
    let rows: Array<{ seq: number; type: string; node_id: string | null; payload: string }>;
    try {
      rows = o.log.db
        .prepare(
          `SELECT seq, type, node_id, payload FROM events WHERE run_id = ? AND seq > ?
             AND type IN ('hitl.decided', 'run.cancel_requested', ?) ORDER BY seq`,
        )
        .all(o.runId, Math.max(start, last - LOOKBACK), DECISION_REQUESTED) as typeof rows;
    } catch {
      return; // the store is unreachable for now: the next look tries again
    }
    for (const r of rows) {
      const seq = Number(r.seq);
      if (seen.has(seq)) continue;
      seen.add(seq);
      last = Math.max(last, seq);
      if (r.type === 'run.cancel_requested') o.onCancel(cancelReasonOf(r.payload));
      else if (r.type === DECISION_REQUESTED) apply(r.payload);
      else if (r.node_id) for (const l of listeners) l(r.node_id);
    }
  };
  if (o.onDecisionRequest) {
    const earlier = o.log.db
      .prepare('SELECT payload FROM events WHERE run_id = ? AND type = ? AND seq <= ? ORDER BY seq')
      .all(o.runId, DECISION_REQUESTED, start) as Array<{ payload: string }>;
    for (const r of earlier) apply(r.payload);
  }
  let pushed = 0;
  const closers: Array<() => Promise<void>> = [];
  let timer: NodeJS.Timeout | undefined;
  const reschedule = (): void => {
    clearInterval(timer);
    timer = setInterval(look, pollMs ?? (pushed > 0 ? PUSHED_POLL_MS : POLL_MS));
    timer.unref();
  };
  let closed = false;
  if (o.auditUrl && o.deps.listenPostgres) {
    const url = o.auditUrl;
    const listen = o.deps.listenPostgres;
    let channel: { close(): Promise<void> } | null = null;
    let retry: NodeJS.Timeout | undefined;
    /** LISTENs; when the connection is lost, looks at the store on the short interval and LISTENs again (backoff). */
    const connect = async (backoffMs: number): Promise<void> => {
      channel = await listen(
        url,
        RUN_SIGNAL_PG_CHANNEL,
        (runId) => {
          if (runId === o.runId) look();
        },
        () => {
          channel = null;
          pushed--;
          reschedule();
          if (!closed) again(LISTEN_RETRY_MS);
        },
      ).catch(() => null);
      if (!channel) {
        if (!closed) again(Math.min(Math.max(backoffMs * 2, LISTEN_RETRY_MS), LISTEN_RETRY_MAX_MS));
        return;
      }
      if (closed) {
        await channel.close();
        return;
      }
      pushed++;
      reschedule();
      // What was recorded while nothing pushed is found at once.
      if (backoffMs > 0) look();
    };
    const again = (ms: number): void => {
      retry = setTimeout(() => void connect(ms), ms);
      retry.unref();
    };
    await connect(0);
    closers.push(async () => {
      clearTimeout(retry);
      await channel?.close();
    });
  }
  if (o.redis && o.redisPrefix !== undefined) {
    const ok = await o
      .redis(runSignalRedisChannel(o.redisPrefix), (runId) => {
        if (runId === o.runId) look();
      })
      .then(
        () => true,
        () => false,
      );
    if (ok) pushed++;
  }
  reschedule();
  return {
    subscribe(onDecided) {
      listeners.add(onDecided);
      return () => listeners.delete(onDecided);
    },
    async close() {
      closed = true;
      clearInterval(timer);
      listeners.clear();
      await applying;
      for (const c of closers) await c();
    },
  };
}

/** The reason in a cancel request (the event's payload, or the request file; older files hold only a timestamp). */
export function cancelReasonOf(payload: string): string {
  try {
    const r = (JSON.parse(payload) as { reason?: unknown }).reason;
    return typeof r === 'string' && r.trim() ? r : 'cancel requested';
  } catch {
    return 'cancel requested';
  }
}

/**
 * Tells a running coordinator that the store holds something new for its run (a decision, a cancel request): a
 * PostgreSQL NOTIFY when the store is PostgreSQL, and a message on the run's Redis channel when its last coordinator
 * ran it on the distributed backend and this process can reach that Redis. Best effort: the coordinator also looks
 * at the store on its own, so a message that cannot be sent only costs that delay.
 */
export async function announceRunSignal(
  deps: AppDeps,
  ws: Pick<Workspace, 'policy'>,
  log: AuditLog,
  runId: string,
): Promise<void> {
  if (log.db.dialect === 'postgres') {
    try {
      log.db.prepare('SELECT pg_notify(?, ?) AS n').get(RUN_SIGNAL_PG_CHANNEL, runId);
    } catch {
      // the coordinator's own look finds it
    }
  }
  const before = lastCoordinatorRecord(log, runId);
  if (before['backend'] !== 'distributed') return;
  try {
    const { recordedQueue, resolveQueueSettings } = await import('./distributed/settings.js');
    const { connectRedis } = await import('./distributed/redis.js');
    const q = resolveQueueSettings(ws.policy, deps.env, recordedQueue(before));
    const redis = await connectRedis(q.url);
    try {
      await redis.publish(runSignalRedisChannel(q.prefix), runId);
    } finally {
      redis.disconnect();
    }
  } catch {
    // no Redis reachable from here: the coordinator's own look finds it
  }
}

/** Where a run is: its folder here, or (`notHere`: the workspace's not-found error) perhaps only in the store. */
export type RunWhere = { readonly ref: RunRef } | { readonly ref: null; readonly notHere: unknown };

/**
 * The run's folder in this workspace; or, when it is not here but the workspace shares its audit store with others
 * (`audit.url`), the not-found error: a coordinator on another machine may hold it, reached with {@link throughStore}.
 */
export async function runHereOrInStore(deps: AppDeps, ws: Workspace, runId: string): Promise<RunWhere> {
  return ws.runs.get(runId).then(
    (ref) => ({ ref }),
    (e: unknown) => {
      if (isMsoError(e) && e.code === ErrorCode.RunNotFound && auditOptions(ws, deps).url)
        return { ref: null, notHere: e };
      throw e;
    },
  );
}

/**
 * Acts on a run whose folder is on another machine, through the store it shares with us: only its live coordinator
 * can take a request up, so without one the run is not found here (`notHere`) and nothing is written.
 */
export async function throughStore<T>(
  deps: AppDeps,
  ws: Workspace,
  runId: string,
  notHere: unknown,
  act: (log: AuditLog, holder: LeaseHolder) => Promise<T>,
): Promise<T> {
  const log = openAuditLog(deps, auditOptions(ws, deps));
  try {
    const known = log.db.prepare('SELECT 1 AS k FROM events WHERE run_id = ? LIMIT 1').get(runId);
    const holder = known ? liveRunHolder(log, leaseDeps(deps), runId) : null;
    if (!holder) throw notHere;
    return await act(log, holder);
  } finally {
    log.close();
  }
}
