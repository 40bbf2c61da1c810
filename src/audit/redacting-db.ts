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

/**
 * The audit database with redaction at its write edge: every string bound to a writing statement passes through the
 * redactor (JSON columns stay valid JSON). Reads are untouched. Raw SQL given to `exec` is the caller's own text
 * (migrations, transaction control) and holds no data.
 */
export function redactingDb(db: SqliteDb, r: Redactor): SqliteDb {
  const wrap = (stmt: SqliteStatement): SqliteStatement => {
    if (stmt.readonly) return stmt;
    return {
      reader: stmt.reader,
      readonly: stmt.readonly,
      run: (...params) => stmt.run(...redactParams(r, params)),
      get: (...params) => stmt.get(...redactParams(r, params)),
      all: (...params) => stmt.all(...redactParams(r, params)),
      iterate: (...params) => stmt.iterate(...redactParams(r, params)),
    };
  };
  return {
    get name() {
      return db.name;
    },
    get inTransaction() {
      return db.inTransaction;
    },
    prepare: (sql) => wrap(db.prepare(sql)),
    exec: (sql) => db.exec(sql),
    pragma: (sql, options) => db.pragma(sql, options),
    close: () => db.close(),
  };
}
