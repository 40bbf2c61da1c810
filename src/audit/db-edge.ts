import { withStorageErrors } from '../contracts/index.js';
import type { Redactor, SqliteDb, SqliteStatement } from '../platform/index.js';

/** A JSON text column (payload, metadata, evidence): redacted so that it stays valid JSON. */
function redactParam(r: Redactor, v: unknown): unknown {
  if (typeof v !== 'string' || v.length < 4) return v;
  const out = r.text(v);
  if (out === v) return v;
  const c = v.charCodeAt(0);
  if (c !== 0x7b /* { */ && c !== 0x5b /* [ */) return out;
  try {
    JSON.parse(out);
    return out;
  } catch {
    try {
      return JSON.stringify(r.value(JSON.parse(v) as unknown));
    } catch {
      return out;
    }
  }
}

function redactParams(r: Redactor, params: unknown[]): unknown[] {
  return params.map((p) =>
    p !== null && typeof p === 'object' && !Buffer.isBuffer(p) && !Array.isArray(p)
      ? Object.fromEntries(Object.entries(p as Record<string, unknown>).map(([k, v]) => [k, redactParam(r, v)]))
      : redactParam(r, p),
  );
}

/** The audit database as its writers see it (see {@link auditDbEdge}). */
export interface AuditDb extends SqliteDb {
  /**
   * A writing statement whose caller redacts every value it binds itself (the event writer, the hottest path: it
   * redacts each event's payload as JSON and its other columns as text, and binds keys and times it generated), so
   * the edge adds no second pass. Storage failures are typed as for every other statement.
   */
  prepareRedacted(sql: string): SqliteStatement;
}

/**
 * The audit database at its edge: every string bound to a writing statement passes through the redactor (JSON
 * columns stay valid JSON), and every SQLite failure that is about the storage (read-only, full, I/O, locked) becomes
 * its typed error naming the file. Reads are not redacted. Raw SQL given to `exec` is the caller's own text
 * (migrations, transaction control) and holds no data.
 */
export function auditDbEdge(db: SqliteDb, r: Redactor, file: string): AuditDb {
  const guard = <T>(fn: () => T): T => withStorageErrors(file, fn);
  const wrap = (stmt: SqliteStatement, redacted = false): SqliteStatement => {
    const red = (params: unknown[]): unknown[] => (stmt.readonly || redacted ? params : redactParams(r, params));
    return {
      reader: stmt.reader,
      readonly: stmt.readonly,
      run: (...params) => guard(() => stmt.run(...red(params))),
      get: (...params) => guard(() => stmt.get(...red(params))),
      all: (...params) => guard(() => stmt.all(...red(params))),
      iterate: (...params) => guard(() => stmt.iterate(...red(params))),
    };
  };
  return {
    get name() {
      return db.name;
    },
    ...(db.dialect ? { dialect: db.dialect } : {}),
    get inTransaction() {
      return db.inTransaction;
    },
    prepare: (sql) => wrap(guard(() => db.prepare(sql))),
    prepareRedacted: (sql) =>
      wrap(
        guard(() => db.prepare(sql)),
        true,
      ),
    exec: (sql) => guard(() => db.exec(sql)),
    pragma: (sql, options) => guard(() => db.pragma(sql, options)),
    close: () => db.close(),
  };
}
