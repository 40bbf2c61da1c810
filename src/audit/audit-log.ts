import { withStorageErrors, InvalidArgumentError, redactUrl } from '../contracts/index.js';
import type { PlatformDeps, SqliteDb } from '../platform/index.js';
import { createBlobStore, type BlobStore } from './blob-store.js';
import { auditDbEdge } from './db-edge.js';
import { createEventWriter } from './event-writer.js';
import { migrate, type MigrationReport } from './migrate.js';
import { createPayloadWriter, type AppendResult } from './payload-writer.js';
import type { EventInput } from './records.js';
import { createRedactor, type Redactor } from './redact.js';
import { createRowWriters, rowTimes, type RowWriters } from './row-writers.js';

export interface OpenAuditOptions {
  readonly file: string;
  /**
   * A `postgres://` URL: the log (blobs included) lives in that PostgreSQL database instead of `file` (audit.url in
   * policy.yaml, or MSO_AUDIT_URL). Absent: the embedded SQLite file.
   */
  readonly url?: string | undefined;
  readonly blobsDir: string;
  /** Environment whose secret-named values are redacted from everything stored (when `deps.redactor` is absent). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Milliseconds a writer waits for the lock held by another process (default 10 s). */
  readonly busyTimeoutMs?: number;
}

/** The one writer every domain records through. Synchronous writes: each call is committed when it returns. */
export interface AuditLog extends RowWriters, BlobStore {
  readonly file: string;
  readonly db: SqliteDb;
  readonly schema: MigrationReport;
  readonly redactor: Redactor;
  appendEvent(input: EventInput): number;
  appendEvents(inputs: readonly EventInput[]): number[];
  /** Validates and stores a CC-05 payload as an `audit_logs` row; an identical payload returns the same id. */
  appendPayload(payload: unknown, source?: string): AppendResult;
  /** Runs `fn` in one immediate transaction (all or nothing). */
  transaction<T>(fn: () => T): T;
  close(): void;
}

/** Opens the PostgreSQL store through the platform's driver. */
function openStore(deps: PlatformDeps, url: string): SqliteDb {
  if (!deps.openPostgres) throw new InvalidArgumentError('audit.url', 'this build has no PostgreSQL driver');
  return deps.openPostgres(url);
}

/**
 * Opens (creating and migrating) the audit database: WAL, busy timeout, foreign keys on. Every text that is stored
 * — every string bound to a writing statement, and every blob — passes through the redactor first (`deps.redactor`,
 * else one built from `options.env`).
 */
export function openAuditLog(deps: PlatformDeps, options: OpenAuditOptions): AuditLog {
  const redactor = deps.redactor ?? createRedactor({ env: options.env ?? {} });
  const where = options.url ? redactUrl(options.url) : options.file;
  // A new file starts as a copy of the build's empty database when there is one (migrate dates it).
  if (!options.url) deps.seedSqlite?.(options.file);
  const db = auditDbEdge(
    withStorageErrors(where, () => (options.url ? openStore(deps, options.url) : deps.openSqlite(options.file))),
    redactor,
    where,
  );
  const pg = db.dialect === 'postgres';
  const times = rowTimes(deps.clock);
  let schema: MigrationReport;
  try {
    // The busy timeout first: every later statement, the WAL switch included, may wait on another writer.
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10_000}`);
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = NORMAL');
    db.pragma('recursive_triggers = OFF');
    schema = migrate(db, times.now());
  } catch (e) {
    db.close();
    throw e;
  }

  function transaction<T>(fn: () => T): T {
    if (db.inTransaction) return fn();
    db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      db.exec('COMMIT');
      return out;
    } catch (e) {
      // A COMMIT that failed (disk full) has already rolled back; rolling back again would hide the real error.
      if (db.inTransaction) {
        try {
          db.exec('ROLLBACK');
        } catch {
          // The first error is the one to report.
        }
      }
      throw e;
    }
  }

  const events = createEventWriter(db, redactor, deps.clock, deps.random);
  const rows = createRowWriters({ db, redactor, random: deps.random, times, transaction });
  const appendPayload = createPayloadWriter({ db, redactor, random: deps.random, times, transaction, rows });
  const blobs = createBlobStore(deps, { db, redactor, blobsDir: options.blobsDir, where, now: times.now });

  return {
    file: where,
    db,
    schema,
    redactor,
    transaction,
    // One statement (plus a read of the existing row when the key was taken): atomic on its own. SQLite still wants
    // the explicit transaction (one commit of the insert); PostgreSQL would only add three round trips and the
    // store-wide write lock to every engine step.
    appendEvent: (input) => (pg ? events.appendOne(input) : transaction(() => events.appendOne(input))),
    appendEvents: (inputs) => transaction(() => events.appendMany(inputs)),
    upsertRun: rows.upsertRun,
    recordAttempt: rows.recordAttempt,
    recordAgentCall: rows.recordAgentCall,
    recordBreakerEvent: rows.recordBreakerEvent,
    recordSnapshot: (input) => transaction(() => rows.recordSnapshot(input)),
    recordDecision: rows.recordDecision,
    appendPayload,
    putBlob: blobs.putBlob,
    openBlobStream: blobs.openBlobStream,
    getBlob: blobs.getBlob,
    inspectBlob: blobs.inspectBlob,
    close: () => db.close(),
  };
}
