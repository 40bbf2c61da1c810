import { createHash } from 'node:crypto';
import { AuditCopyError } from '../contracts/index.js';
import type { SqliteDb } from '../platform/index.js';
import type { AuditLog } from './audit-log.js';
import { sha256Hex } from './blobs.js';

// An entry of audit/ of its own (like light.ts): only `mso audit migrate` loads it, never the start-up of others.

/**
 * The tables `mso audit migrate` copies, parents before children (foreign keys), each with the columns that order
 * its rows for the verification hash. Not copied: `_mso_migrations` and `_skill_meta` (the target keeps its own
 * schema record), `run_leases` (live claims of running coordinators: migrate with no run in progress), and the
 * SQLite FTS indexes (PostgreSQL has none).
 */
const TABLES: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['audit_logs', ['id']],
  ['decisions', ['id']],
  ['evidence', ['id']],
  ['impacts', ['id']],
  ['tags', ['id']],
  ['decision_tags', ['decision_id', 'tag_id']],
  ['document_references', ['id']],
  ['user_feedback', ['id']],
  ['node_snapshots', ['id']],
  ['suggestion_history', ['id']],
  ['runs', ['run_id']],
  ['events', ['seq']],
  ['attempts', ['attempt_id']],
  ['agent_calls', ['call_id']],
  ['breaker_events', ['id']],
  ['breaker_state', ['breaker']],
  ['blobs', ['hash']],
];

/** Generated keys whose sequence must continue after the copied rows. */
const IDENTITY: Readonly<Record<string, string>> = {
  evidence: 'id',
  impacts: 'id',
  tags: 'id',
  document_references: 'id',
  suggestion_history: 'id',
  events: 'seq',
  breaker_events: 'id',
};

/** One table's copy, verified: rows on each side and the sha256 of its rows in key order on each side. */
export interface TableCopy {
  readonly table: string;
  readonly rows: number;
  readonly target_rows: number;
  readonly sha256: string;
  readonly target_sha256: string;
  readonly ok: boolean;
}

/** What `copyAuditLog` copied and how it checked it. */
export interface CopyReport {
  readonly tables: readonly TableCopy[];
  /** Blob bytes copied into the target, and blobs whose file was missing or no longer matched its hash. */
  readonly blobs: { readonly copied: number; readonly missing: readonly string[]; readonly corrupt: readonly string[] };
  readonly ok: boolean;
}

type Row = Record<string, unknown>;

/** Stable JSON (sorted keys) for hashing rows read from either store. */
function canonical(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Buffer.isBuffer(v)) return JSON.stringify(v.toString('hex'));
  if (typeof v === 'object') {
    const o = v as Row;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

function tableDigest(rows: readonly Row[], key: readonly string[], columns: readonly string[]): string {
  const keyOf = (r: Row): string => JSON.stringify(key.map((k) => r[k]));
  const sorted = [...rows].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  const h = createHash('sha256');
  for (const r of sorted) h.update(canonical(Object.fromEntries(columns.map((c) => [c, r[c] ?? null]))) + '\n');
  return h.digest('hex');
}

function columnsOf(source: SqliteDb, table: string): string[] {
  return (source.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name);
}

const COUNTED = ['events', 'attempts', 'runs', 'audit_logs', 'decisions', 'node_snapshots', 'agent_calls'];

/**
 * Copies every row of an SQLite audit log into an empty target store (PostgreSQL) in one transaction, with the blob
 * bytes from their rows or, for a blob kept as a file, read by `blobBytes`, then reads both sides back and compares
 * row counts and a sha256 of each table's rows. A target that already holds records is refused before anything is
 * written (`MSO_AUDIT_COPY`).
 */
export async function copyAuditLog(
  source: SqliteDb,
  target: AuditLog,
  blobBytes: (hash: string) => Promise<Buffer | null>,
): Promise<CopyReport> {
  const db = target.db;
  const busy = COUNTED.filter((t) => (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n > 0);
  if (busy.length > 0) throw new AuditCopyError(target.file, `the target already holds ${busy.join(', ')} rows`);

  // A blob's bytes are copied apart (its row's or its file's, below), checked against its hash.
  const plan = TABLES.map(([table, key]) => ({
    table,
    key,
    columns: columnsOf(source, table).filter((c) => table !== 'blobs' || c !== 'data'),
  })).filter((t) => t.columns.length > 0);
  const sourceRows = new Map(plan.map((t) => [t.table, source.prepare(`SELECT * FROM ${t.table}`).all() as Row[]]));
  const blobs = sourceRows.get('blobs') ?? [];
  const data = new Map<string, Buffer | null>();
  const missing: string[] = [];
  const corrupt: string[] = [];
  for (const b of blobs) {
    const hash = b['hash'] as string;
    const inRow = b['data'];
    const bytes = inRow ? Buffer.from(inRow as Uint8Array) : await blobBytes(hash);
    if (bytes === null) missing.push(hash);
    else if (sha256Hex(bytes) !== hash) corrupt.push(hash);
    // An altered blob is copied as it is: replay reports it on either store, as it would have here.
    data.set(hash, bytes);
  }

  target.transaction(() => {
    for (const { table, columns } of plan) {
      const rows = sourceRows.get(table) ?? [];
      const cols = table === 'blobs' ? [...columns, 'data'] : columns;
      // Many rows per statement (PostgreSQL takes up to 65,535 parameters).
      const per = Math.max(1, Math.floor(30_000 / cols.length));
      for (let i = 0; i < rows.length; i += per) {
        const chunk = rows.slice(i, i + per);
        const tuple = `(${cols.map(() => '?').join(', ')})`;
        const values = chunk.flatMap((r) =>
          cols.map((c) => (c === 'data' && table === 'blobs' ? (data.get(r['hash'] as string) ?? null) : r[c])),
        );
        db.prepare(`INSERT INTO ${table} (${cols.join(', ')}) VALUES ${chunk.map(() => tuple).join(', ')}`).run(
          ...values,
        );
      }
      const id = IDENTITY[table];
      if (id && rows.length > 0) {
        db.prepare(
          `SELECT setval(pg_get_serial_sequence('${table}', '${id}'), (SELECT MAX(${id}) FROM ${table}))`,
        ).get();
      }
    }
  });

  const tables = plan.map(({ table, key, columns }): TableCopy => {
    const rows = sourceRows.get(table) ?? [];
    const copied = db.prepare(`SELECT ${columns.join(', ')} FROM ${table}`).all() as Row[];
    const sha256 = tableDigest(rows, key, columns);
    const targetSha = tableDigest(copied, key, columns);
    return {
      table,
      rows: rows.length,
      target_rows: copied.length,
      sha256,
      target_sha256: targetSha,
      ok: rows.length === copied.length && sha256 === targetSha,
    };
  });
  const stored = (db.prepare('SELECT count(*) AS n FROM blobs WHERE data IS NOT NULL').get() as { n: number }).n;
  return {
    tables,
    blobs: { copied: stored, missing, corrupt },
    ok: tables.every((t) => t.ok) && stored === blobs.length - missing.length,
  };
}
