import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { blobPath } from '../../src/audit/index.js';
import { openPostgres } from '../../src/platform/node/postgres.js';
import { makeSandbox, type Sandbox } from './cli.js';
import { pgSchema } from './pg.js';

export type AuditStore = 'sqlite' | 'postgres';

/** An event as the tests read it: its payload parsed, so each value has the type it was written with on either store. */
export interface AuditEvent {
  readonly seq: number;
  readonly type: string;
  readonly node_id: string | null;
  readonly payload: Record<string, unknown>;
}

/** A sandbox whose every mso command uses one audit store, with reads that mean the same on both. */
export interface StoreSandbox extends Sandbox {
  readonly store: AuditStore;
  /** Rows of one read-only statement through `mso audit query`: write SQL both stores speak (no rowid, no JSON functions). */
  rows(sql: string): Promise<Array<Record<string, unknown>>>;
  /** The events of a run in `seq` order (optionally of one type and node), payloads parsed here rather than in SQL. */
  events(runId: string, filter?: { type?: string; node?: string }): Promise<AuditEvent[]>;
  /** The stored bytes of a blob: its `blobs.data` column, or (a large blob of SQLite's) its file under `blobs/`. */
  readBlob(hash: string): Promise<Buffer>;
  /** Overwrites the stored bytes of a blob, as an edit behind mso's back would. */
  writeBlob(hash: string, bytes: Buffer): Promise<void>;
}

const lit = (s: string): string => `'${s.replaceAll("'", "''")}'`;

/**
 * A sandbox (see `makeSandbox`) on the given store: the workspace's `audit.db`, or a fresh PostgreSQL schema through
 * `MSO_AUDIT_URL` in the sandbox's environment (dropped by `cleanup`). Callers pick the stores with `auditStores()`.
 */
export async function makeStoreSandbox(store: AuditStore, prefix = 'mso-e2e-'): Promise<StoreSandbox> {
  const sb = await makeSandbox(prefix);
  const schema = store === 'postgres' ? pgSchema('mso_e2e') : null;
  // Every mso the sandbox runs or a test spawns with `sb.env` then uses the PostgreSQL store.
  if (schema) sb.env['MSO_AUDIT_URL'] = schema.url;
  const blobFile = (hash: string): string =>
    blobPath(join(sb.env['MSO_WORKSPACE_ROOT'] as string, '.mso-context', 'blobs'), hash);
  const withDb = <T>(fn: (db: ReturnType<typeof openPostgres>) => T): T => {
    const db = openPostgres((schema as { url: string }).url);
    try {
      return fn(db);
    } finally {
      db.close();
    }
  };
  /** A blob's bytes in its SQLite row (replaced by `bytes` when given); undefined when the blob is a file. */
  const sqliteRow = (hash: string, bytes?: Buffer): Buffer | undefined => {
    const db = new Database(join(sb.env['MSO_WORKSPACE_ROOT'] as string, '.mso-context', 'audit.db'));
    try {
      const row = db.prepare('SELECT data FROM blobs WHERE hash = ?').get(hash) as { data: Buffer | null } | undefined;
      if (!row?.data) return undefined;
      if (bytes) db.prepare('UPDATE blobs SET data = ? WHERE hash = ?').run(bytes, hash);
      return row.data;
    } finally {
      db.close();
    }
  };
  const rows = async (sql: string): Promise<Array<Record<string, unknown>>> => {
    const r = await sb.json<{ rows: Array<Record<string, unknown>> }>(['audit', 'query', sql]);
    if (r.code !== 0) throw new Error(`audit query failed (exit ${r.code}): ${sql}\n${r.stderr}`);
    return r.body.rows;
  };
  return {
    ...sb,
    store,
    rows,
    async events(runId, filter = {}) {
      const where = [`run_id = ${lit(runId)}`];
      if (filter.type) where.push(`type = ${lit(filter.type)}`);
      if (filter.node) where.push(`node_id = ${lit(filter.node)}`);
      const found = await rows(
        `SELECT seq, type, node_id, payload FROM events WHERE ${where.join(' AND ')} ORDER BY seq`,
      );
      return found.map((r) => ({
        seq: Number(r['seq']),
        type: String(r['type']),
        node_id: (r['node_id'] as string | null) ?? null,
        payload: JSON.parse(String(r['payload'] ?? '{}')) as Record<string, unknown>,
      }));
    },
    async readBlob(hash) {
      if (!schema) return sqliteRow(hash) ?? readFile(blobFile(hash));
      return withDb((db) => {
        const row = db.prepare('SELECT data FROM blobs WHERE hash = ?').get(hash) as { data: Buffer } | undefined;
        if (!row) throw new Error(`no blob ${hash} in schema ${schema.schema}`);
        return Buffer.from(row.data);
      });
    },
    async writeBlob(hash, bytes) {
      if (!schema) {
        if (sqliteRow(hash, bytes)) return;
        const file = blobFile(hash);
        const { mode } = await stat(file);
        await chmod(file, 0o644);
        await writeFile(file, bytes);
        await chmod(file, mode);
        return;
      }
      withDb((db) => db.prepare('UPDATE blobs SET data = ? WHERE hash = ?').run(bytes, hash));
    },
    async cleanup() {
      schema?.drop();
      await sb.cleanup();
    },
  };
}
