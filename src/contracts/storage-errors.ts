import { ErrorCategory, ErrorCode } from './error-codes.js';
import { MsoError, isMsoError } from './errors.js';

/** A file or the audit database cannot be written: a read-only file, folder or file system, or no permission. */
export class StorageReadOnlyError extends MsoError {
  readonly code = ErrorCode.StorageReadOnly;
  readonly category = ErrorCategory.Unavailable;
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path} cannot be written (${reason}); make it writable, or run mso where it can write`);
  }
  override get details(): Record<string, unknown> {
    return { path: this.path, reason: this.reason };
  }
}

/** The disk (or quota) is full; what was being written was not kept. */
export class StorageFullError extends MsoError {
  readonly code = ErrorCode.StorageFull;
  readonly category = ErrorCategory.Unavailable;
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`no space left to write ${path} (${reason}); free some space, then run the command again (or mso resume)`);
  }
  override get details(): Record<string, unknown> {
    return { path: this.path, reason: this.reason };
  }
}

/** The storage answered with an I/O error, or the database file is damaged or not a database. */
export class StorageIoError extends MsoError {
  readonly code = ErrorCode.StorageIo;
  readonly category = ErrorCategory.Unavailable;
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path} could not be read or written (${reason})`);
  }
  override get details(): Record<string, unknown> {
    return { path: this.path, reason: this.reason };
  }
}

/** A database URL with its password replaced by `***` (for messages, logs and records). */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:@/]*):[^@/]*@/i, '$1:***@');
}

/** The shared audit store (PostgreSQL) cannot be reached or refused the connection; `url` has no password. */
export class AuditStoreUnavailableError extends MsoError {
  readonly code = ErrorCode.AuditStoreUnavailable;
  readonly category = ErrorCategory.Unavailable;
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`audit store ${url} is unavailable (${reason}); start PostgreSQL or fix audit.url / MSO_AUDIT_URL`);
  }
  override get details(): Record<string, unknown> {
    return { url: this.url, reason: this.reason };
  }
}

/** `mso audit migrate` refused (a target that already holds records) or its verification found a difference. */
export class AuditCopyError extends MsoError {
  readonly code = ErrorCode.AuditCopy;
  readonly category = ErrorCategory.Conflict;
  constructor(
    readonly target: string,
    readonly reason: string,
    /** The verification report, when the copy ran. */
    readonly report?: unknown,
  ) {
    super(`cannot migrate the audit log to ${target}: ${reason}`);
  }
  override get details(): Record<string, unknown> {
    return { target: this.target, reason: this.reason, ...(this.report !== undefined ? { report: this.report } : {}) };
  }
}

/** Another process kept the audit database locked for the whole busy timeout. */
export class AuditBusyError extends MsoError {
  readonly code = ErrorCode.AuditBusy;
  readonly category = ErrorCategory.Unavailable;
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`audit database ${path} is locked by another process (${reason}); try again when it is done`);
  }
  override get details(): Record<string, unknown> {
    return { path: this.path, reason: this.reason };
  }
}

/**
 * The audit database's write-ahead log is gone while its index still records transactions not yet copied into the
 * database: those events are lost. Refused rather than silently continuing with a shorter history.
 */
export class AuditWalLostError extends MsoError {
  readonly code = ErrorCode.AuditWalLost;
  readonly category = ErrorCategory.Failed;
  constructor(
    readonly path: string,
    readonly lostPages: number,
  ) {
    super(
      `${path}-wal is missing but ${path}-shm records ${lostPages} page(s) committed after the last checkpoint: ` +
        `the events of those transactions are lost. Restore ${path}-wal if you can; to go on with what ${path} ` +
        `holds (finished nodes whose events were lost will run again), remove ${path}-shm`,
    );
  }
  override get details(): Record<string, unknown> {
    return { path: this.path, lost_pages: this.lostPages };
  }
}

/** A content-addressed blob whose bytes no longer match its hash, or that does not parse as what it records. */
export class BlobCorruptError extends MsoError {
  readonly code = ErrorCode.BlobCorrupt;
  readonly category = ErrorCategory.Failed;
  constructor(
    readonly hash: string,
    readonly runId: string | null,
    readonly reason: string,
    readonly path: string | null = null,
  ) {
    super(`blob ${hash}${runId ? ` of run ${runId}` : ''} is corrupt: ${reason}${path ? ` (${path})` : ''}`);
  }
  override get details(): Record<string, unknown> {
    return { blob: this.hash, run_id: this.runId, reason: this.reason, path: this.path };
  }
}

const READ_ONLY_ERRNO = new Set(['EROFS', 'EACCES', 'EPERM']);
const FULL_ERRNO = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);
const IO_ERRNO = new Set(['EIO']);

/**
 * The storage error an fs or SQLite failure stands for (read-only, full, I/O, busy), naming `path`; undefined for
 * anything else. `e.path` (set by Node's fs errors) wins over `path`.
 */
export function storageErrorOf(e: unknown, path: string): MsoError | undefined {
  if (isMsoError(e) || typeof e !== 'object' || e === null) return undefined;
  const err = e as { code?: unknown; path?: unknown; message?: unknown };
  const code = typeof err.code === 'string' ? err.code : '';
  const where = typeof err.path === 'string' ? err.path : path;
  const message = typeof err.message === 'string' ? err.message : '';
  // Node's fs messages already start with their code (`ENOSPC: no space left on device, write`).
  const reason = message.startsWith(code) ? message : `${code}${message !== '' ? `: ${message}` : ''}`;
  if (code.startsWith('SQLITE_')) {
    const base = code.replace(/^(SQLITE_[A-Z]+)(_.*)?$/, '$1');
    if (base === 'SQLITE_READONLY' || base === 'SQLITE_PERM' || base === 'SQLITE_AUTH')
      return new StorageReadOnlyError(where, reason);
    if (base === 'SQLITE_FULL') return new StorageFullError(where, reason);
    if (base === 'SQLITE_BUSY' || base === 'SQLITE_LOCKED') return new AuditBusyError(where, reason);
    if (['SQLITE_IOERR', 'SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_CANTOPEN', 'SQLITE_PROTOCOL'].includes(base))
      return new StorageIoError(where, reason);
    return undefined;
  }
  if (READ_ONLY_ERRNO.has(code)) return new StorageReadOnlyError(where, reason);
  if (FULL_ERRNO.has(code)) return new StorageFullError(where, reason);
  if (IO_ERRNO.has(code)) return new StorageIoError(where, reason);
  return undefined;
}

/** Runs `fn`, turning a storage failure into its typed error (see `storageErrorOf`). */
export function withStorageErrors<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw storageErrorOf(e, path) ?? e;
  }
}
