import { openAuditLog, openAuditReader, schemaIsCurrent, type AuditReader } from '../audit/index.js';
import { ErrorCode, isMsoError } from '../contracts/index.js';
import type { Workspace } from '../workspace/index.js';
import type { AppDeps } from './create-app.js';

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
  const exists = await deps.fs.stat(file).then(
    () => true,
    () => false,
  );
  let current = false;
  if (exists) {
    const probe = openAuditReader(deps, file);
    try {
      current = schemaIsCurrent(probe.raw);
    } finally {
      await probe.close();
    }
  }
  if (!current) {
    try {
      openAuditLog(deps, { file, blobsDir: ws.layout.blobsDir, env: deps.env }).close();
    } catch (e) {
      if (!(exists && isMsoError(e) && READ_ONLY_FALLBACK.has(e.code))) throw e;
    }
  }
  const reader = openAuditReader(deps, file);
  try {
    return await fn(reader);
  } finally {
    await reader.close();
  }
}
