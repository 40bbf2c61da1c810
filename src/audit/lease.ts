import { RunBusyError } from '../contracts/index.js';
import type { ProcessInfo } from '../platform/index.js';
import type { AuditLog } from './audit-log.js';

/** Who coordinates a run: the process that holds its lease. */
export interface LeaseHolder {
  readonly pid: number;
  readonly host: string;
  /** The holder's process start time (tells a reused pid apart), null where the platform cannot say. */
  readonly start: string | null;
  readonly acquiredAt: string;
  readonly renewedAt: string;
}

export interface RunLease {
  readonly runId: string;
  /** The holder before this one, when its lease was taken over because it was dead. */
  readonly stolenFrom: LeaseHolder | null;
  /** Marks the lease as still held; false when another process has taken it (then stop coordinating). */
  renew(): boolean;
  release(): void;
}

export interface LeaseDeps {
  readonly processInfo: ProcessInfo;
  readonly now: () => Date;
}

/** A holder on another host is presumed dead only when it has not renewed for this long. */
export const LEASE_REMOTE_EXPIRY_MS = 60_000;
/** How often a coordinator renews its lease. */
export const LEASE_RENEW_MS = 10_000;

interface LeaseRow {
  holder_pid: number;
  holder_host: string;
  holder_start: string | null;
  acquired_at: string;
  renewed_at: string;
}

const holderOf = (r: LeaseRow): LeaseHolder => ({
  pid: r.holder_pid,
  host: r.holder_host,
  start: r.holder_start,
  acquiredAt: r.acquired_at,
  renewedAt: r.renewed_at,
});

/** The run's current lease holder, if any (alive or not). */
export function readRunLease(log: Pick<AuditLog, 'db'>, runId: string): LeaseHolder | null {
  const row = log.db
    .prepare('SELECT holder_pid, holder_host, holder_start, acquired_at, renewed_at FROM run_leases WHERE run_id = ?')
    .get(runId) as LeaseRow | undefined;
  return row ? holderOf(row) : null;
}

/**
 * True when the holder is provably gone: on this host, its pid is not running or now belongs to a process started at
 * another time; on another host, it has not renewed within {@link LEASE_REMOTE_EXPIRY_MS}.
 */
export function holderIsDead(deps: LeaseDeps, h: LeaseHolder): boolean {
  const pi = deps.processInfo;
  if (h.host === pi.hostname) {
    if (!pi.isAlive(h.pid)) return true;
    const start = pi.startId(h.pid);
    return h.start !== null && start !== null && start !== h.start;
  }
  return deps.now().getTime() - Date.parse(h.renewedAt) > LEASE_REMOTE_EXPIRY_MS;
}

/** The run's lease holder while it is alive (the run has a live coordinator), else null. */
export function liveRunHolder(log: Pick<AuditLog, 'db'>, deps: LeaseDeps, runId: string): LeaseHolder | null {
  const holder = readRunLease(log, runId);
  return holder && !holderIsDead(deps, holder) ? holder : null;
}

/**
 * Takes the run's lease atomically (one immediate transaction): free, already ours, or held by a dead process.
 * A live holder makes it throw {@link RunBusyError} naming that holder; nothing is written then.
 */
export function acquireRunLease(log: AuditLog, deps: LeaseDeps, runId: string): RunLease {
  const pi = deps.processInfo;
  const me = { pid: pi.pid, host: pi.hostname, start: pi.startId(pi.pid) };
  const isMe = (h: LeaseHolder): boolean => h.pid === me.pid && h.host === me.host;
  const stolenFrom = log.transaction(() => {
    const cur = readRunLease(log, runId);
    if (cur && !isMe(cur) && !holderIsDead(deps, cur)) throw new RunBusyError(runId, cur.pid, cur.host, cur.acquiredAt);
    const at = deps.now().toISOString();
    log.db
      .prepare(
        `INSERT INTO run_leases (run_id, holder_pid, holder_host, holder_start, acquired_at, renewed_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(run_id) DO UPDATE SET holder_pid = excluded.holder_pid, holder_host = excluded.holder_host,
           holder_start = excluded.holder_start, acquired_at = excluded.acquired_at, renewed_at = excluded.renewed_at`,
      )
      .run(runId, me.pid, me.host, me.start, at, at);
    return cur && !isMe(cur) ? cur : null;
  });
  return {
    runId,
    stolenFrom,
    renew() {
      const r = log.db
        .prepare('UPDATE run_leases SET renewed_at = ? WHERE run_id = ? AND holder_pid = ? AND holder_host = ?')
        .run(deps.now().toISOString(), runId, me.pid, me.host);
      return r.changes === 1;
    },
    release() {
      log.db
        .prepare('DELETE FROM run_leases WHERE run_id = ? AND holder_pid = ? AND holder_host = ?')
        .run(runId, me.pid, me.host);
    },
  };
}
