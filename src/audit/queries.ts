import type * as KyselyModule from 'kysely';
import type { DatabaseConnection, Dialect, Driver, Kysely, SqliteDatabase } from 'kysely';
import { AuditReadOnlyError, InvalidArgumentError, withStorageErrors, redactUrl } from '../contracts/index.js';
import type { PlatformDeps, SqliteDb } from '../platform/index.js';
import type { AuditDatabase } from './db-types.js';

/** A read-only view of the audit database: `PRAGMA query_only`, so no statement can write. */
export interface AuditReader {
  /** The typed query builder over `raw`, created on first use. */
  query(): Promise<Kysely<AuditDatabase>>;
  readonly raw: SqliteDb;
  close(): Promise<void>;
}

// kysely is loaded when a typed query first runs: it adds about 24 MB of resident memory and start-up time to every
// process, and the engine, the CLI's writes and the MCP server's hot paths never use it.
const kysely = (): Promise<typeof KyselyModule> => import('kysely');

/**
 * kysely's PostgreSQL compiler over the synchronous port: queries are built and compiled for PostgreSQL and run
 * through the same connection the port holds (no second client, no pool).
 */
function syncPgDialect(k: typeof KyselyModule, raw: SqliteDb): Dialect {
  const connection: DatabaseConnection = {
    executeQuery: <R>(q: { sql: string; parameters: readonly unknown[] }) => {
      const stmt = raw.prepare(q.sql);
      if (stmt.reader) return Promise.resolve({ rows: stmt.all(...q.parameters) as R[] });
      const r = stmt.run(...q.parameters);
      return Promise.resolve({ rows: [] as R[], numAffectedRows: BigInt(r.changes) });
    },
    streamQuery: () => {
      throw new Error('streaming is not supported by the audit store');
    },
  };
  const driver: Driver = {
    init: () => Promise.resolve(),
    acquireConnection: () => Promise.resolve(connection),
    beginTransaction: () => Promise.resolve(void raw.exec('BEGIN')),
    commitTransaction: () => Promise.resolve(void raw.exec('COMMIT')),
    rollbackTransaction: () => Promise.resolve(void raw.exec('ROLLBACK')),
    releaseConnection: () => Promise.resolve(),
    destroy: () => Promise.resolve(void raw.close()),
  };
  return {
    createAdapter: () => new k.PostgresAdapter(),
    createDriver: () => driver,
    createQueryCompiler: () => new k.PostgresQueryCompiler(),
    createIntrospector: (db) => new k.PostgresIntrospector(db),
  };
}

/**
 * Opens the audit database read-only (the file must exist: open the audit log once to create it), or, with `url`,
 * the PostgreSQL store in a read-only session.
 */
export function openAuditReader(
  deps: PlatformDeps,
  file: string,
  options: { url?: string | undefined } = {},
): AuditReader {
  const url = options.url;
  const raw = url
    ? withStorageErrors(redactUrl(url), () => {
        if (!deps.openPostgres) throw new InvalidArgumentError('audit.url', 'this build has no PostgreSQL driver');
        return deps.openPostgres(url, { readonly: true });
      })
    : deps.openSqlite(file, { readonly: true });
  raw.pragma('query_only = ON');
  raw.pragma('busy_timeout = 10000');
  let db: Promise<Kysely<AuditDatabase>> | null = null;
  return {
    raw,
    query: () =>
      (db ??= kysely().then(
        (k) =>
          new k.Kysely<AuditDatabase>({
            dialect: url ? syncPgDialect(k, raw) : new k.SqliteDialect({ database: raw as unknown as SqliteDatabase }),
          }),
      )),
    close: async () => {
      if (db) await (await db).destroy();
      else raw.close();
    },
  };
}

/** Rows and column names of one read-only statement. */
export interface QueryResult {
  readonly columns: readonly string[];
  readonly rows: readonly Record<string, unknown>[];
}

/**
 * Runs one SQL statement read-only; anything that would write is refused with `MSO_AUDIT_READONLY`. The text is the
 * store's own dialect (SQLite's for the embedded file, PostgreSQL's for a shared store; `?` parameters on both).
 */
export function runReadOnlyQuery(reader: AuditReader, text: string, params: readonly unknown[] = []): QueryResult {
  let stmt;
  try {
    stmt = reader.raw.prepare(text);
  } catch (e) {
    const message = (e as Error).message;
    if (/readonly|read-only/i.test(message)) throw new AuditReadOnlyError(message);
    throw new InvalidArgumentError('sql', message);
  }
  if (!stmt.readonly) throw new AuditReadOnlyError('the statement would modify the database');
  if (!stmt.reader) throw new AuditReadOnlyError('the statement returns no rows');
  let rows: Record<string, unknown>[];
  try {
    rows = stmt.all(...params) as Record<string, unknown>[];
  } catch (e) {
    const message = (e as Error).message;
    if (/readonly|read-only|query_only/i.test(message)) throw new AuditReadOnlyError(message);
    throw new InvalidArgumentError('sql', message);
  }
  const columns = rows[0] ? Object.keys(rows[0]) : [];
  return { columns, rows };
}

/** One event as `mso audit tail` shows it. */
export interface EventView {
  readonly seq: number;
  readonly at: string;
  readonly run_id: string;
  readonly type: string;
  readonly node_id: string | null;
  readonly ticket_id: string | null;
  readonly attempt_id: string | null;
  readonly payload: unknown;
}

/** Events after `afterSeq` (oldest first), or the last `limit` events when `afterSeq` is not given. */
export async function readEvents(
  reader: AuditReader,
  options: {
    readonly runId?: string | undefined;
    readonly afterSeq?: number | undefined;
    readonly limit?: number | undefined;
  },
): Promise<EventView[]> {
  let q = (await reader.query()).selectFrom('events').selectAll();
  if (options.runId) q = q.where('run_id', '=', options.runId);
  const limit = options.limit ?? 20;
  const rows =
    options.afterSeq !== undefined
      ? await q.where('seq', '>', options.afterSeq).orderBy('seq', 'asc').limit(limit).execute()
      : (await q.orderBy('seq', 'desc').limit(limit).execute()).reverse();
  return rows.map((r) => ({
    seq: r.seq,
    at: r.at,
    run_id: r.run_id,
    type: r.type,
    node_id: r.node_id,
    ticket_id: r.ticket_id,
    attempt_id: r.attempt_id,
    payload: JSON.parse(r.payload) as unknown,
  }));
}

function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] ?? null;
}

/** Counts, failures, cost and durations, for one run or the whole workspace. */
export interface AuditStats {
  readonly run_id: string | null;
  readonly runs: Record<string, number>;
  readonly events: { readonly total: number; readonly by_type: Record<string, number> };
  readonly attempts: {
    readonly total: number;
    readonly by_status: Record<string, number>;
    readonly retries: number;
    readonly failures: number;
    readonly duration_ms: {
      readonly avg: number | null;
      readonly p50: number | null;
      readonly p95: number | null;
      readonly max: number | null;
    };
  };
  readonly cost: { readonly usd: number; readonly reported_usd: number; readonly estimated_usd: number };
  readonly tokens: { readonly input: number; readonly output: number; readonly cache_read: number };
  readonly top_failures: ReadonlyArray<{
    readonly fingerprint: string;
    readonly count: number;
    readonly error_class: string | null;
    readonly example: string | null;
  }>;
  readonly audit_logs: Record<string, number>;
}

/** Aggregates the audit log. */
export async function auditStats(reader: AuditReader, runId?: string): Promise<AuditStats> {
  const db = await reader.query();
  const { sql } = await kysely();
  const runs = await db
    .selectFrom('runs')
    .select(['status', sql<number>`count(*)`.as('n')])
    .$if(runId !== undefined, (q) => q.where('run_id', '=', runId as string))
    .groupBy('status')
    .execute();
  const events = await db
    .selectFrom('events')
    .select(['type', sql<number>`count(*)`.as('n')])
    .$if(runId !== undefined, (q) => q.where('run_id', '=', runId as string))
    .groupBy('type')
    .execute();
  const attempts = await db
    .selectFrom('attempts')
    .select([
      'status',
      'is_retry',
      'duration_ms',
      'cost_usd',
      'cost_source',
      'input_tokens',
      'output_tokens',
      'cache_read_tokens',
    ])
    .$if(runId !== undefined, (q) => q.where('run_id', '=', runId as string))
    .execute();
  const failures = await db
    .selectFrom('attempts')
    .select([
      'error_fingerprint',
      'error_class',
      sql<number>`count(*)`.as('n'),
      sql<string>`max(error_message)`.as('example'),
    ])
    .where('error_fingerprint', 'is not', null)
    .$if(runId !== undefined, (q) => q.where('run_id', '=', runId as string))
    .groupBy(['error_fingerprint', 'error_class'])
    .orderBy('n', 'desc')
    .limit(10)
    .execute();
  const logs = await db
    .selectFrom('audit_logs')
    .select(['status', sql<number>`count(*)`.as('n')])
    .$if(runId !== undefined, (q) => q.where('run_id', '=', runId as string))
    .groupBy('status')
    .execute();
  const byStatus: Record<string, number> = {};
  let usd = 0;
  let reported = 0;
  let estimated = 0;
  const tokens = { input: 0, output: 0, cache_read: 0 };
  const durations: number[] = [];
  let retries = 0;
  for (const a of attempts) {
    byStatus[a.status] = (byStatus[a.status] ?? 0) + 1;
    if (a.is_retry) retries++;
    if (a.duration_ms !== null) durations.push(a.duration_ms);
    const c = a.cost_usd ?? 0;
    usd += c;
    if (a.cost_source === 'reported') reported += c;
    if (a.cost_source === 'estimated') estimated += c;
    tokens.input += a.input_tokens ?? 0;
    tokens.output += a.output_tokens ?? 0;
    tokens.cache_read += a.cache_read_tokens ?? 0;
  }
  durations.sort((x, y) => x - y);
  const failed = attempts.filter((a) => ['failure', 'timeout', 'blocked'].includes(a.status)).length;
  const round = (n: number): number => Math.round(n * 1e6) / 1e6;
  return {
    run_id: runId ?? null,
    runs: Object.fromEntries(runs.map((r) => [r.status, Number(r.n)])),
    events: {
      total: events.reduce((s, e) => s + Number(e.n), 0),
      by_type: Object.fromEntries(events.map((e) => [e.type, Number(e.n)])),
    },
    attempts: {
      total: attempts.length,
      by_status: byStatus,
      retries,
      failures: failed,
      duration_ms: {
        avg: durations.length ? Math.round(durations.reduce((s, d) => s + d, 0) / durations.length) : null,
        p50: percentile(durations, 50),
        p95: percentile(durations, 95),
        max: durations.at(-1) ?? null,
      },
    },
    cost: { usd: round(usd), reported_usd: round(reported), estimated_usd: round(estimated) },
    tokens,
    top_failures: failures.map((f) => ({
      fingerprint: f.error_fingerprint as string,
      count: Number(f.n),
      error_class: f.error_class,
      example: f.example,
    })),
    audit_logs: Object.fromEntries(logs.map((l) => [l.status, Number(l.n)])),
  };
}
