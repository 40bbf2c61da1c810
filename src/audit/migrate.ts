import type { SqliteDb } from '../platform/index.js';
import { EXEC_TABLES_SQL } from './schema-exec.js';
import { PG_BLOB_BYTES, PG_EVENTS_APPEND_ONLY, toPgColumn, toPgDdl } from './schema-pg.js';
import {
  AUDIT_LOGS_MSO_COLUMNS,
  AUDIT_LOGS_V15_COLUMNS,
  MSO_FTS_SQL,
  MSO_INDEXES_SQL,
  MSO_TABLES_SQL,
  MSO_TRIGGERS_SQL,
  MSO_VIEWS_SQL,
} from './schema-mso.js';

/** The schema version this build writes into `_skill_meta.schema_version` (MSO 1.5.0 + mso execution tables). */
export const AUDIT_SCHEMA_VERSION = '2.0.0';

interface Migration {
  readonly name: string;
  up(db: SqliteDb): void;
}

const isPg = (db: SqliteDb): boolean => db.dialect === 'postgres';

function columns(db: SqliteDb, table: string): Set<string> {
  const rows = isPg(db)
    ? db
        .prepare(
          'SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ?',
        )
        .all(table)
    : db.prepare(`PRAGMA table_info(${table})`).all();
  return new Set((rows as Array<{ name: string }>).map((c) => c.name));
}

function tableSql(db: SqliteDb, name: string): string | undefined {
  return (db.prepare('SELECT sql FROM sqlite_master WHERE name = ?').get(name) as { sql?: string } | undefined)?.sql;
}

function addMissingColumns(db: SqliteDb, table: string, wanted: ReadonlyArray<readonly [string, string]>): void {
  const have = columns(db, table);
  for (const [name, decl] of wanted) {
    if (!have.has(name)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${isPg(db) ? toPgColumn(decl) : decl}`);
  }
}

/**
 * Forward-only, in order; each runs once and is recorded in `_mso_migrations`. One list for both dialects: the
 * table texts are SQLite's, turned into PostgreSQL's types by `toPgDdl`; where a step only concerns SQLite's file
 * format (FTS5, rebuilding a table without AUTOINCREMENT) PostgreSQL records it without work.
 */
const MIGRATIONS: readonly Migration[] = [
  {
    name: '001_mso_compat_1_5',
    up(db) {
      if (isPg(db)) {
        db.exec(toPgDdl(MSO_TABLES_SQL));
        addMissingColumns(db, 'audit_logs', AUDIT_LOGS_V15_COLUMNS);
        addMissingColumns(db, 'audit_logs', AUDIT_LOGS_MSO_COLUMNS);
        db.exec(toPgDdl(MSO_INDEXES_SQL));
        return;
      }
      db.exec(MSO_TABLES_SQL);
      // A 1.4.0 database lacks the v1.5 columns: add them before any index or view uses them.
      addMissingColumns(db, 'audit_logs', AUDIT_LOGS_V15_COLUMNS);
      addMissingColumns(db, 'audit_logs', AUDIT_LOGS_MSO_COLUMNS);
      // A 1.4 FTS index lacks work_type/intent: rebuild it with the 1.5 columns from the content table.
      const fts = tableSql(db, 'audit_logs_fts');
      if (fts !== undefined && !fts.includes('intent')) {
        db.exec(
          'DROP TRIGGER IF EXISTS audit_logs_fts_ai; DROP TRIGGER IF EXISTS audit_logs_fts_ad; DROP TRIGGER IF EXISTS audit_logs_fts_au;',
        );
        db.exec(
          'DROP TRIGGER IF EXISTS audit_logs_ai; DROP TRIGGER IF EXISTS audit_logs_ad; DROP TRIGGER IF EXISTS audit_logs_au;',
        );
        db.exec('DROP TABLE audit_logs_fts');
      }
      db.exec(MSO_INDEXES_SQL);
      db.exec(MSO_FTS_SQL);
      db.exec("INSERT INTO audit_logs_fts(audit_logs_fts) VALUES ('rebuild')");
      db.exec(MSO_TRIGGERS_SQL);
      db.exec(MSO_VIEWS_SQL);
    },
  },
  {
    name: '002_execution_tables',
    up(db) {
      if (isPg(db)) {
        db.exec(toPgDdl(EXEC_TABLES_SQL));
        db.exec(PG_EVENTS_APPEND_ONLY);
        db.exec(PG_BLOB_BYTES);
        return;
      }
      db.exec(EXEC_TABLES_SQL);
    },
  },
  {
    name: '003_breaker_state',
    up(db) {
      const ddl = (sql: string): string => (isPg(db) ? toPgDdl(sql) : sql);
      db.exec(
        ddl(`CREATE TABLE IF NOT EXISTS breaker_state (
        breaker TEXT PRIMARY KEY,
        state TEXT NOT NULL CHECK (state IN ('closed','open','half_open')),
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        total INTEGER NOT NULL DEFAULT 0,
        successes INTEGER NOT NULL DEFAULT 0,
        failures INTEGER NOT NULL DEFAULT 0,
        rejections INTEGER NOT NULL DEFAULT 0,
        half_open_in_flight INTEGER NOT NULL DEFAULT 0,
        trial_started_at INTEGER,
        next_attempt_at INTEGER,
        last_change_at INTEGER,
        updated_at INTEGER NOT NULL
      )`),
      );
    },
  },
  {
    // Every commit updated this index; queries filter by run (idx_events_run), and cross-run scans by type are rare.
    name: '004_drop_events_type_index',
    up(db) {
      db.exec('DROP INDEX IF EXISTS idx_events_type');
    },
  },
  {
    // AUTOINCREMENT made every commit also rewrite sqlite_sequence, about a fifth of an engine step's cost. Events
    // are append-only (no row is ever deleted), so the plain rowid already never reuses a seq: same guarantee.
    name: '005_events_plain_rowid',
    up(db) {
      if (isPg(db)) return;
      db.exec(`CREATE TABLE events_v5 (
  seq INTEGER PRIMARY KEY,
  event_key TEXT NOT NULL UNIQUE,
  at TEXT NOT NULL,
  run_id TEXT NOT NULL CHECK (length(trim(run_id)) > 0),
  type TEXT NOT NULL CHECK (length(trim(type)) > 0),
  node_id TEXT,
  ticket_id TEXT,
  attempt_id TEXT,
  payload TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(payload))
);
INSERT INTO events_v5 (seq, event_key, at, run_id, type, node_id, ticket_id, attempt_id, payload)
  SELECT seq, event_key, at, run_id, type, node_id, ticket_id, attempt_id, payload FROM events ORDER BY seq;
DROP TABLE events;
ALTER TABLE events_v5 RENAME TO events;
CREATE INDEX idx_events_run ON events(run_id, seq);
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events BEGIN
  SELECT RAISE(ABORT, 'events are append-only');
END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events BEGIN
  SELECT RAISE(ABORT, 'events are append-only');
END;`);
    },
  },
  {
    // One coordinator per run: the holder's pid, host and process start time, renewed while it runs.
    name: '006_run_leases',
    up(db) {
      db.exec(
        (isPg(db) ? toPgDdl : (s: string) => s)(`CREATE TABLE IF NOT EXISTS run_leases (
  run_id TEXT PRIMARY KEY CHECK (length(trim(run_id)) > 0),
  holder_pid INTEGER NOT NULL,
  holder_host TEXT NOT NULL,
  holder_start TEXT,
  acquired_at TEXT NOT NULL,
  renewed_at TEXT NOT NULL
)`),
      );
    },
  },
];

/** What `migrate` found and did. */
export interface MigrationReport {
  readonly from: string | null;
  readonly to: string;
  readonly applied: readonly string[];
}

/**
 * Brings the database to the current schema inside one `BEGIN IMMEDIATE` transaction, so concurrent openers never
 * migrate twice. Works on an empty file, on an MSO 1.4.0 or 1.5.0 database (migrated in place, no row lost), and on
 * an earlier mso schema.
 */
export function migrate(db: SqliteDb, at: string): MigrationReport {
  db.exec('BEGIN IMMEDIATE');
  try {
    db.exec('CREATE TABLE IF NOT EXISTS _mso_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
    db.exec('CREATE TABLE IF NOT EXISTS _skill_meta (k TEXT PRIMARY KEY, v TEXT)');
    const from =
      (db.prepare("SELECT v FROM _skill_meta WHERE k = 'schema_version'").get() as { v?: string } | undefined)?.v ??
      null;
    const done = new Set(
      (db.prepare('SELECT name FROM _mso_migrations').all() as Array<{ name: string }>).map((r) => r.name),
    );
    const applied: string[] = [];
    const record = db.prepare('INSERT INTO _mso_migrations (name, applied_at) VALUES (?, ?)');
    for (const m of MIGRATIONS) {
      if (done.has(m.name)) continue;
      m.up(db);
      record.run(m.name, at);
      applied.push(m.name);
    }
    if (applied.length > 0 || from !== AUDIT_SCHEMA_VERSION) {
      db.prepare(
        "INSERT INTO _skill_meta (k, v) VALUES ('schema_version', ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v",
      ).run(AUDIT_SCHEMA_VERSION);
      if (from !== null && from !== AUDIT_SCHEMA_VERSION) {
        db.prepare(
          "INSERT INTO _skill_meta (k, v) VALUES ('migrated_from', ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v",
        ).run(from);
      }
    }
    db.exec('COMMIT');
    return { from, to: AUDIT_SCHEMA_VERSION, applied };
  } catch (e) {
    // A COMMIT that failed (disk full) has already rolled back: a second ROLLBACK would hide the real error.
    if (db.inTransaction) db.exec('ROLLBACK');
    throw e;
  }
}

/** True when every migration of this build is recorded in `db` (a reader can use it without migrating first). */
export function schemaIsCurrent(db: SqliteDb): boolean {
  try {
    const done = new Set(
      (db.prepare('SELECT name FROM _mso_migrations').all() as Array<{ name: string }>).map((r) => r.name),
    );
    return MIGRATIONS.every((m) => done.has(m.name));
  } catch {
    return false;
  }
}
