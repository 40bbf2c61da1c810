import { resolve } from 'node:path';
import { blobPath, openAuditLog, type AuditLog } from '../audit/index.js';
import { copyAuditLog, type CopyReport } from '../audit/copy.js';
import { AuditCopyError, InvalidArgumentError, NotFoundError, redactUrl } from '../contracts/index.js';
import type { Workspace } from '../workspace/index.js';
import type { AppDeps } from './create-app.js';

/** The outcome of `mso audit migrate`. */
export interface AuditMigrateResult extends CopyReport {
  readonly from: string;
  readonly to: string;
}

/**
 * `mso audit migrate --to postgres://…`: copies the workspace's SQLite audit log (or `from`) with its blobs into an
 * empty PostgreSQL store, then verifies every table by row count and sha256 on both sides. A difference is
 * `MSO_AUDIT_COPY` (exit 1) with the report in its details; the source is never changed.
 */
export async function migrateAuditStore(
  deps: AppDeps,
  ws: Workspace,
  cwd: string,
  options: { readonly to: string; readonly from?: string | undefined },
): Promise<AuditMigrateResult> {
  if (!/^postgres(ql)?:\/\/\S+$/.test(options.to)) {
    throw new InvalidArgumentError('--to', `${redactUrl(options.to)} is not a postgres:// URL`);
  }
  const file = options.from !== undefined ? resolve(cwd, options.from) : ws.layout.auditDb;
  if (!(await deps.fs.stat(file).catch(() => undefined))) throw new NotFoundError('audit database', file);
  // Opening the source as a log first brings an older file to the current schema, so both sides have the same columns.
  const sourceLog = openAuditLog(deps, { file, blobsDir: ws.layout.blobsDir, env: deps.env });
  sourceLog.close();
  await deps.preparePostgres?.();
  const source = deps.openSqlite(file, { readonly: true });
  let target: AuditLog | undefined;
  try {
    target = openAuditLog(deps, { file, blobsDir: ws.layout.blobsDir, env: deps.env, url: options.to });
    const blobsDir = options.from !== undefined ? resolve(cwd, options.from, '..', 'blobs') : ws.layout.blobsDir;
    const report = await copyAuditLog(source, target, (hash) =>
      deps.fs.readFile(blobPath(blobsDir, hash)).catch(() => null),
    );
    const result = { from: file, to: redactUrl(options.to), ...report };
    if (!report.ok) {
      const bad = report.tables.filter((t) => !t.ok).map((t) => t.table);
      throw new AuditCopyError(
        result.to,
        `verification failed for ${bad.length ? bad.join(', ') : 'blob bytes'}; the source is unchanged`,
        result,
      );
    }
    return result;
  } finally {
    target?.close();
    source.close();
  }
}
