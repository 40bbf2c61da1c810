import { AuditKeyConflictError, InternalError, InvalidArtifactError, toFieldIssues } from '../contracts/index.js';
import type { Clock, Random, Redactor, SqliteStatement } from '../platform/index.js';
import type { AuditDb } from './db-edge.js';
import { EventInputSchema, type EventInput } from './records.js';

const EVENT_KEYS = new Set(['runId', 'type', 'nodeId', 'ticketId', 'attemptId', 'payload', 'key', 'at']);
const COLUMNS = '(event_key, at, run_id, type, node_id, ticket_id, attempt_id, payload)';
/** Rows per INSERT statement when a batch is appended: one statement step instead of one per event. */
const ROWS_PER_INSERT = 32;
/** Rows per INSERT on PostgreSQL, where a statement is a round trip: 1,000 events in one. */
const PG_ROWS_PER_INSERT = 1_000;

/** An event checked and redacted, as its row's values. */
type Row = readonly [string, string, string, string, string | null, string | null, string | null, string];

interface PrevRow {
  readonly seq: number;
  readonly run_id: string;
  readonly type: string;
  readonly node_id: string | null;
  readonly ticket_id: string | null;
  readonly attempt_id: string | null;
  readonly payload: string;
}

/** Appends events to the audit log: one at a time, or a batch with multi-row inserts (inside the caller's transaction). */
export interface EventWriter {
  appendOne(input: EventInput): number;
  appendMany(inputs: readonly EventInput[]): number[];
}

/** True when `raw` is a well-formed event: the hot path of every engine step checks directly, zod only explains. */
function isEventInput(raw: EventInput): boolean {
  return (
    typeof raw === 'object' &&
    raw !== null &&
    typeof raw.runId === 'string' &&
    raw.runId.trim() !== '' &&
    typeof raw.type === 'string' &&
    raw.type.trim() !== '' &&
    (raw.payload === undefined ||
      (typeof raw.payload === 'object' && raw.payload !== null && !Array.isArray(raw.payload))) &&
    [raw.nodeId, raw.ticketId, raw.attemptId].every(
      (v) => v === undefined || v === null || (typeof v === 'string' && v.trim() !== ''),
    ) &&
    (raw.key === undefined || (typeof raw.key === 'string' && raw.key.trim() !== '')) &&
    (raw.at === undefined || typeof raw.at === 'string') &&
    Object.keys(raw).every((k) => EVENT_KEYS.has(k))
  );
}

/**
 * The event append path. An event keyed by its caller (`key`) is idempotent: the same key with the same content
 * returns the stored row's `seq`; with other content it throws {@link AuditKeyConflictError}. Events without a key
 * get a generated one, unique to this writer.
 */
export function createEventWriter(db: AuditDb, redactor: Redactor, clock: Clock, random: Random): EventWriter {
  // Rows are redacted here, column by column (see toRow), so the edge binds them as they are.
  const insertOne = db.prepareRedacted(
    `INSERT INTO events ${COLUMNS} VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(event_key) DO NOTHING`,
  );
  const insertMany = new Map<number, SqliteStatement>();
  const insertFor = (rows: number): SqliteStatement => {
    let stmt = insertMany.get(rows);
    if (!stmt) {
      const values = Array.from({ length: rows }, () => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ');
      stmt = db.prepareRedacted(`INSERT INTO events ${COLUMNS} VALUES ${values} ON CONFLICT(event_key) DO NOTHING`);
      insertMany.set(rows, stmt);
    }
    return stmt;
  };
  const eventByKey = db.prepare(
    'SELECT seq, run_id, type, node_id, ticket_id, attempt_id, payload FROM events WHERE event_key = ?',
  );

  // Generated keys grow with time (then a counter, then a random tag drawn once per writer), so their unique index
  // is appended at its right edge instead of touching a random page on every commit. The tag keeps two processes
  // apart; the counter keeps one process's keys apart within a millisecond.
  let keyCounter = 0;
  const keyTag = random.id('').slice(1, 9);
  const eventKey = (ms: number): string =>
    `evt-${ms.toString(36).padStart(9, '0')}${(keyCounter++ % 1679616).toString(36).padStart(4, '0')}${keyTag}`;

  /** One event as its row; `now` is the time of this append (one clock read per batch). */
  const toRow = (raw: EventInput, now: Date): Row => {
    let e = raw;
    if (!isEventInput(raw)) {
      const r = EventInputSchema.safeParse(raw);
      if (!r.success) throw new InvalidArtifactError('audit event', toFieldIssues(r.error));
      e = r.data;
    }
    // Every value the caller gave is redacted (ids and types are short texts: the redactor remembers them); the key
    // and time made here hold nothing to redact.
    const text = (v: string | null | undefined): string | null => (v == null ? null : redactor.text(v));
    return [
      e.key === undefined ? eventKey(now.getTime()) : redactor.text(e.key),
      e.at === undefined ? now.toISOString() : redactor.text(e.at),
      redactor.text(e.runId),
      redactor.text(e.type),
      text(e.nodeId),
      text(e.ticketId),
      text(e.attemptId),
      redactor.json(e.payload ?? {}),
    ];
  };

  /** The stored row's seq for a row whose insert was skipped (its key exists): the same content, or a conflict. */
  const existing = (row: Row): number => {
    const [key, , runId, type, nodeId, ticketId, attemptId, payload] = row;
    const prev = eventByKey.get(key) as PrevRow | undefined;
    // An insert that reported no row, then a lookup that finds none or a row of another shape: the store answered
    // out of step (seen twice on PostgreSQL under load, as a conflict on every column), not a reused key.
    if (prev === undefined || !('run_id' in prev))
      throw new InternalError(
        `the audit store's answer to the lookup of events key ${key} is not that event (columns: ${Object.keys(prev ?? {}).join(', ') || 'none'}): its answers are out of step with its statements`,
      );
    const given = { run_id: runId, type, node_id: nodeId, ticket_id: ticketId, attempt_id: attemptId, payload };
    // Named in the error: which of them differs tells a reused key from a value the store gives back changed.
    const differ = (Object.keys(given) as Array<keyof typeof given>).filter((k) => prev[k] !== given[k]);
    if (differ.length > 0) throw new AuditKeyConflictError('events', key, differ);
    return prev.seq;
  };

  const appendRow = (row: Row): number => {
    const r = insertOne.run(...row);
    return r.changes === 1 ? Number(r.lastInsertRowid) : existing(row);
  };

  /**
   * PostgreSQL: identity values of one multi-row INSERT need not be consecutive (other sessions draw from the same
   * sequence), so each inserted row's seq comes back by its key (RETURNING); a key given twice in one batch is
   * inserted once and the second is checked against the first, as across calls.
   */
  const appendManyReturning = (rows: readonly Row[]): number[] => {
    const seqs: number[] = [];
    for (let i = 0; i < rows.length; i += PG_ROWS_PER_INSERT) {
      const chunk = rows.slice(i, i + PG_ROWS_PER_INSERT);
      const values = chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ');
      const returned = db
        .prepareRedacted(
          `INSERT INTO events ${COLUMNS} VALUES ${values} ON CONFLICT(event_key) DO NOTHING RETURNING seq, event_key`,
        )
        .all(...chunk.flat()) as Array<{ seq: number; event_key: string }>;
      const inserted = new Map(returned.map((r) => [r.event_key, Number(r.seq)]));
      for (const row of chunk) {
        const seq = inserted.get(row[0]);
        if (seq !== undefined) {
          inserted.delete(row[0]);
          seqs.push(seq);
        } else seqs.push(existing(row));
      }
    }
    return seqs;
  };

  return {
    appendOne: (input) => appendRow(toRow(input, clock.now())),
    appendMany(inputs) {
      const now = clock.now();
      const rows = inputs.map((e) => toRow(e, now));
      if (db.dialect === 'postgres') return appendManyReturning(rows);
      const seqs: number[] = [];
      let i = 0;
      for (; i + ROWS_PER_INSERT <= rows.length; i += ROWS_PER_INSERT) {
        const chunk = rows.slice(i, i + ROWS_PER_INSERT);
        const r = insertFor(ROWS_PER_INSERT).run(...chunk.flat());
        if (r.changes === ROWS_PER_INSERT) {
          // Every row was inserted, by one statement inside one transaction: their seqs are consecutive.
          const last = Number(r.lastInsertRowid);
          for (let k = ROWS_PER_INSERT - 1; k >= 0; k--) seqs.push(last - k);
        } else {
          // Some keys existed already: each row is now stored, by this statement or before; read back which.
          for (const row of chunk) seqs.push(existing(row));
        }
      }
      for (; i < rows.length; i++) seqs.push(appendRow(rows[i] as Row));
      return seqs;
    },
  };
}
