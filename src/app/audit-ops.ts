import { resolve } from 'node:path';
import { ErrorCode, ExportFailedError, InvalidArgumentError, NotFoundError, isMsoError } from '../contracts/index.js';
import {
  auditStats,
  exportRunOtlp,
  exportRunRows,
  openAuditLog,
  openAuditReader,
  readEvents,
  runReadOnlyQuery,
  schemaIsCurrent,
  type AppendResult,
  type AuditLog,
  type AuditReader,
  type AuditStats,
  type EventView,
  type MigrationReport,
  type QueryResult,
} from '../audit/index.js';
import { parseJsonText, readTextIfExists, writeFileAtomic, type Workspace } from '../workspace/index.js';
import type { AuditMigrateResult } from './audit-migrate.js';
import type { AppDeps } from './create-app.js';
import { auditExists, auditOptions, auditUrl } from './settings.js';

/** The outcome of `mso audit export`. */
export interface ExportResult {
  readonly run_id: string;
  readonly format: 'jsonl' | 'otlp';
  readonly out: string | null;
  readonly endpoint: string | null;
  readonly records: number;
  readonly http_status?: number;
  /** The exported content when neither a file nor an endpoint was given. */
  readonly content?: string;
}

export interface AuditOps {
  init(): Promise<{ file: string; schema: MigrationReport }>;
  /** Copies the SQLite audit log (with blobs) into an empty PostgreSQL store, verified by counts and hashes. */
  migrate(options: { to: string; from?: string | undefined }): Promise<AuditMigrateResult>;
  append(file: string): Promise<AppendResult>;
  query(sql: string): Promise<QueryResult>;
  tail(options: {
    runId?: string | undefined;
    afterSeq?: number | undefined;
    limit?: number | undefined;
  }): Promise<EventView[]>;
  stats(runId?: string): Promise<AuditStats>;
  export(options: {
    runId: string;
    format: 'jsonl' | 'otlp';
    out?: string | undefined;
    endpoint?: string | undefined;
  }): Promise<ExportResult>;
}

/** Audit use cases over the workspace's `audit.db`. */
export function createAuditOps(
  deps: AppDeps,
  cwd: string,
  open: (create?: boolean) => Promise<Workspace>,
  version: string,
): AuditOps {
  async function withLog<T>(fn: (log: AuditLog) => T | Promise<T>): Promise<T> {
    const ws = await open(true);
    const log = openAuditLog(deps, auditOptions(ws, deps));
    try {
      return await fn(log);
    } finally {
      log.close();
    }
  }
  async function withReader<T>(fn: (r: AuditReader) => Promise<T> | T): Promise<T> {
    // A workspace that cannot be written (read-only folder) is still read.
    return withAuditReader(deps, await open(true).catch(() => open(false)), fn);
  }
  return {
    init: () => withLog((log) => ({ file: log.file, schema: log.schema })),
    async migrate(options) {
      const { migrateAuditStore } = await import('./audit-migrate.js');
      return migrateAuditStore(deps, await open(true), cwd, options);
    },
    async append(file) {
      const path = resolve(cwd, file);
      const text = await readTextIfExists(deps.fs, path);
      if (text === undefined) throw new NotFoundError('payload file', path);
      const payload = parseJsonText(text, path);
      return withLog((log) => log.appendPayload(payload, path));
    },
    query: (text) => withReader((r) => runReadOnlyQuery(r, text)),
    tail: (options) => withReader((r) => readEvents(r, options)),
    stats: (runId) => withReader((r) => auditStats(r, runId)),
    async export(options) {
      if (options.out !== undefined && options.endpoint !== undefined)
        throw new InvalidArgumentError('export target', 'give --out or --endpoint, not both');
      if (options.endpoint !== undefined && options.format !== 'otlp')
        throw new InvalidArgumentError('endpoint', '--endpoint needs --format otlp');
      let content: string;
      let records: number;
      if (options.format === 'jsonl') {
        const rows = await withReader((r) => exportRunRows(r, options.runId));
        if (rows.length === 0) throw new NotFoundError('audit records of run', options.runId);
        // Redacted here too, not only at the printer: the content may go to a file or a collector.
        content = rows.map((r) => deps.redactor?.json(r) ?? JSON.stringify(r)).join('\n') + '\n';
        records = rows.length;
      } else {
        const traces = await withReader((r) => exportRunOtlp(r, options.runId, version));
        content = deps.redactor?.json(traces) ?? JSON.stringify(traces);
        records = traces.resourceSpans[0]?.scopeSpans[0]?.spans.length ?? 0;
      }
      const base = { run_id: options.runId, format: options.format, records };
      if (options.endpoint !== undefined) {
        let url: URL;
        try {
          url = new URL(options.endpoint);
        } catch {
          throw new InvalidArgumentError('endpoint', `${options.endpoint} is not a URL`);
        }
        if (!url.pathname.endsWith('/v1/traces')) url = new URL(`${url.pathname.replace(/\/$/, '')}/v1/traces`, url);
        let res: Response;
        try {
          res = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: content,
            signal: AbortSignal.timeout(30_000),
          });
        } catch (e) {
          const cause = (e as { cause?: { code?: string; message?: string } }).cause;
          throw new ExportFailedError(url.href, cause?.code ?? cause?.message ?? (e as Error).message);
        }
        if (!res.ok) throw new ExportFailedError(url.href, `the collector answered HTTP ${res.status}`);
        return { ...base, out: null, endpoint: url.href, http_status: res.status };
      }
      if (options.out !== undefined) {
        const out = resolve(cwd, options.out);
        await writeFileAtomic(deps, out, content);
        return { ...base, out, endpoint: null };
      }
      return { ...base, out: null, endpoint: null, content };
    },
  };
}

/**
 * Refuses before a run's first write when the audit log cannot take it (read-only file or folder, lost WAL, a
 * locked database): one small committed write, since SQLite opens an unwritable file without complaint and an
 * unchanged transaction commits without touching it. `held`: a log the caller keeps open (and closes), checked instead.
 */
export function assertAuditWritable(deps: AppDeps, ws: Workspace, held?: AuditLog): void {
  const { log, release } = heldOrOpened(deps, ws, held);
  try {
    log.db
      .prepare(
        "INSERT INTO _skill_meta (k, v) VALUES ('last_write_check', ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v",
      )
      .run(deps.clock.now().toISOString());
  } finally {
    release();
  }
}

/**
 * The caller's open audit log (`held`, which the caller closes), or the workspace's opened here: `release()` closes
 * only the latter. For use cases that write through a command's shared log when given one (see CommandShare).
 */
export function heldOrOpened(deps: AppDeps, ws: Workspace, held?: AuditLog): { log: AuditLog; release(): void } {
  if (held) return { log: held, release: () => undefined };
  const log = openAuditLog(deps, auditOptions(ws, deps));
  return { log, release: () => log.close() };
}

/** Mirrors a run's lifecycle into the audit log (`runs` row plus a `run.status` event). */
export async function recordRunStatus(
  deps: AppDeps,
  ws: Workspace,
  run: {
    runId: string;
    status: string;
    updatedAt: string;
    skillKey?: string;
    goal?: string | undefined;
    finishedAt?: string | null;
  },
): Promise<void> {
  const log = openAuditLog(deps, auditOptions(ws, deps));
  try {
    log.transaction(() => {
      log.upsertRun({
        runId: run.runId,
        status: run.status as never,
        skillKey: run.skillKey ?? null,
        goal: run.goal ?? null,
        finishedAt: run.finishedAt ?? null,
      });
      // Keyed by status and manifest time: showing the same state twice records it once.
      log.appendEvent({
        runId: run.runId,
        type: 'run.status',
        key: `run-status:${run.runId}:${run.status}:${run.updatedAt}`,
        payload: { status: run.status },
      });
    });
  } finally {
    log.close();
  }
}

/** Storage failures after which an existing audit database is still read (it just cannot be migrated or written). */
export const READ_ONLY_FALLBACK: ReadonlySet<string> = new Set([
  ErrorCode.StorageReadOnly,
  ErrorCode.StorageFull,
  ErrorCode.AuditBusy,
]);

/**
 * Runs `fn` over a read-only handle on the workspace's audit database, for commands that only read (status, logs,
 * timeline, diff, provenance, exports, reports): they answer from a database or folder they cannot write. The writer
 * is opened only to create a missing file or migrate an old one, and a read-only, full or locked store skips that.
 */
export async function withAuditReader<T>(
  deps: AppDeps,
  ws: Workspace,
  fn: (reader: AuditReader) => T | Promise<T>,
): Promise<T> {
  const file = ws.layout.auditDb;
  const url = auditUrl(ws, deps);
  const exists = await auditExists(ws, deps);
  let current = false;
  if (exists) {
    const probe = openAuditReader(deps, file, { url });
    try {
      current = schemaIsCurrent(probe.raw);
    } finally {
      await probe.close();
    }
  }
  if (!current) {
    try {
      openAuditLog(deps, auditOptions(ws, deps)).close();
    } catch (e) {
      if (!(exists && isMsoError(e) && READ_ONLY_FALLBACK.has(e.code))) throw e;
    }
  }
  const reader = openAuditReader(deps, file, { url });
  try {
    return await fn(reader);
  } finally {
    await reader.close();
  }
}
