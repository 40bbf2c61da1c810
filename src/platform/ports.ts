import type { ChildProcess, SpawnOptions } from 'node:child_process';
import type * as fsp from 'node:fs/promises';

/** Time, injected so tests control it. */
export interface Clock {
  now(): Date;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Randomness and ids, injected so tests are deterministic. */
export interface Random {
  /** A UUID v4 string. */
  uuid(): string;
  /** A short random id with a prefix, e.g. `tmp-3f9a1c2e`. */
  id(prefix: string): string;
  int(maxExclusive: number): number;
}

/** The subset of `node:fs/promises` the domains use. */
export type Fs = Pick<
  typeof fsp,
  | 'readFile'
  | 'writeFile'
  | 'appendFile'
  | 'rename'
  | 'mkdir'
  | 'readdir'
  | 'stat'
  | 'lstat'
  | 'rm'
  | 'open'
  | 'chmod'
  | 'utimes'
  | 'copyFile'
  | 'realpath'
  | 'unlink'
  | 'link'
  | 'access'
  | 'readlink'
>;

/**
 * Calls on files that stay small: a worktree's administrative files, a run's manifest, tickets and design artifacts
 * (see {@link PlatformDeps.smallFs}).
 */
export type SmallFs = Pick<Fs, 'readdir' | 'mkdir' | 'realpath' | 'writeFile' | 'readFile' | 'rm' | 'stat'>;

/**
 * The file calls of an atomic write of a small file (see writeFileAtomic), on the calling thread but for the fsync:
 * through `fs` an atomic write is five thread-pool round trips (open, write, fsync, close, rename), each worth more
 * than its call when the file is small.
 */
export interface AtomicFs {
  /**
   * Creates `path`, which must not exist (EEXIST; ENOENT when its folder is missing), writes `data`, flushes it to the
   * disk (fsync, in the thread pool; not when `sync` is false) and closes it. A failure after the file was made leaves
   * it for the caller to remove.
   */
  writeNew(path: string, data: string | Uint8Array, mode: number, sync?: boolean): Promise<void>;
  /** Replaces `to` with `from` (rename(2)). */
  rename(from: string, to: string): Promise<void>;
}

/** Facts about this process and others, for locks and stale-lock detection. */
export interface ProcessInfo {
  readonly pid: number;
  readonly hostname: string;
  /** The runtime this process runs on (recorded in a run's provenance). */
  readonly runtime: { readonly node: string; readonly platform: string; readonly arch: string };
  /** True when a process with this pid exists on this host. */
  isAlive(pid: number): boolean;
  /**
   * What tells this pid's process apart from a later one that reuses the pid (its start time since boot), or null
   * when the process does not exist or the platform cannot say.
   */
  startId(pid: number): string | null;
  /**
   * The regular files this process's stdout and stderr write to (`mso run > run.log`), absolute; none when they are a
   * terminal or a pipe, or the platform cannot say.
   */
  outputFiles?(): string[];
}

/** Every side-effect port in one bag, passed to domain factories. */
export interface PlatformDeps {
  readonly clock: Clock;
  readonly random: Random;
  readonly fs: Fs;
  /**
   * The same calls run on the calling thread, for files and folders that stay small (a worktree's administrative
   * files, a run's manifest, tickets and design artifacts), where each call through `fs` is a thread-pool round trip
   * worth more than the call; absent, `fs` does.
   */
  readonly smallFs?: SmallFs;
  /** An atomic write's file calls mostly on the calling thread (see {@link AtomicFs}); absent, `fs` does them all. */
  readonly atomicFs?: AtomicFs;
  readonly processInfo: ProcessInfo;
  readonly openSqlite: OpenSqlite;
  /**
   * Puts a copy of this build's empty audit database (every migration applied, marked as a copy; the first migrate
   * dates it) at `file` when nothing is there yet, atomically; true when it did. Migrating a new file costs ~20 ms of
   * DDL, a copy ~1 ms. Absent, or false (no such copy in this build, a file already there), the caller migrates.
   */
  readonly seedSqlite?: (file: string) => boolean;
  /**
   * Opens a PostgreSQL audit store through the same synchronous port (absent where only SQLite is available). The
   * driver is loaded by {@link PlatformDeps.preparePostgres} first, so processes that never use it never load it.
   */
  readonly openPostgres?: OpenPostgres;
  /** Loads the PostgreSQL driver (once); call before `openPostgres` when a store URL is configured. */
  readonly preparePostgres?: () => Promise<void>;
  /** Listens on a PostgreSQL NOTIFY channel over an async connection of its own (loaded on first use). */
  readonly listenPostgres?: ListenPostgres;
  readonly proc: Proc;
  /** Crash points for fault tests; absent (or inert) outside them. */
  readonly faults?: Faults | undefined;
  /** Set by the app: every writer redacts through it. Absent in bare domain tests (nothing is redacted then). */
  readonly redactor?: Redactor;
}

/**
 * Named points in the pipeline where a fault test may crash the process (the design steps, the gate, provisioning,
 * each node's start, agent end and commit, a merge's judgement and merge). Inert unless a test asks for one.
 */
export interface Faults {
  point(name: string): void;
}

/** Child processes: spawn (own process group when `detached`), and signals to a whole group. */
export interface Proc {
  spawn(command: string, args: readonly string[], options: SpawnOptions): ChildProcess;
  /** Sends `signal` to the process group `pid` leads; false when it no longer exists. */
  killGroup(pid: number, signal: NodeJS.Signals): boolean;
  /** True while any process of the group `pid` leads still exists. */
  groupAlive(pid: number): boolean;
  /** Resolves an executable name against PATH (or checks a path); undefined when not found. */
  which(command: string, pathEnv: string | undefined): Promise<string | undefined>;
  /**
   * Runs a short `sh` script (git commands) without forking this process, when the platform can: null when it cannot
   * take this one, and the caller spawns it. Absent on platforms that have no such runner.
   */
  runScript?(req: ScriptRequest): Promise<ScriptResult | null>;
}

/** A script for {@link Proc.runScript}: run as by `sh -c`, in `cwd`, with exactly `env`. */
export interface ScriptRequest {
  readonly script: string;
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  /** Its standard input; none when absent. */
  readonly input?: string;
  /**
   * The name of a shell variable the script finds set to a file of its own, empty, for output it writes aside (a
   * command run in the background while the others run); the file's text comes back as `side`. A runner without
   * such files leaves the variable unset.
   */
  readonly side?: string;
  /** Past this many bytes of output (stdout, stderr and side together) the result is an overflow, and is not read. */
  readonly maxOutput: number;
}

export interface ScriptResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** What the script wrote to its side file (see ScriptRequest.side), when it was given one. */
  readonly side?: string;
  /** The output passed `maxOutput`; stdout and stderr are then empty. */
  readonly overflow?: true;
  /** Its folder did not exist: nothing ran. */
  readonly notStarted?: true;
}

/** A prepared statement of the embedded database (the subset of better-sqlite3 mso uses). */
export interface SqliteStatement {
  readonly reader: boolean;
  readonly readonly: boolean;
  run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  iterate(...params: unknown[]): IterableIterator<unknown>;
}

/** The SQL dialect a database port speaks: the embedded default, or the shared store. */
export type SqlDialect = 'sqlite' | 'postgres';

/**
 * The synchronous database port (better-sqlite3's shape; kysely's SqliteDialect accepts it). Every call is committed
 * when it returns. The PostgreSQL driver has the same shape: it takes SQLite-style text and parameters (see
 * platform/node/pg-sql.ts for what it rewrites) and blocks the caller until the server answered.
 */
export interface SqliteDb {
  readonly name: string;
  /** Absent means 'sqlite'. */
  readonly dialect?: SqlDialect;
  readonly inTransaction: boolean;
  prepare(sql: string): SqliteStatement;
  exec(sql: string): unknown;
  pragma(sql: string, options?: { simple?: boolean }): unknown;
  close(): unknown;
}

/** Opens an SQLite database file; read-only handles refuse every write. */
export type OpenSqlite = (file: string, options?: { readonly readonly?: boolean }) => SqliteDb;

/**
 * LISTENs on `channel` of the database at `url` (its `?schema=` does not matter: channels are per database) and calls
 * `onNotify` with each payload. `lost` is called once if the connection ends before `close()`.
 */
export type ListenPostgres = (
  url: string,
  channel: string,
  onNotify: (payload: string) => void,
  lost?: (why: string) => void,
) => Promise<{ close(): Promise<void> }>;

/** Opens a PostgreSQL database (`postgres://…`, optional `?schema=`); read-only handles refuse every write. */
export type OpenPostgres = (url: string, options?: { readonly readonly?: boolean }) => SqliteDb;

/**
 * Removes secrets before anything reaches a sink (files, the audit DB, blobs, stdout/stderr, exports). Built once
 * per process by the app (see `createRedactor` in audit/) and handed to every writer; redacting twice changes nothing.
 */
export interface Redactor {
  text(s: string): string;
  /** A copy of a JSON-like value with every string (keys too) redacted. */
  value<T>(v: T): T;
  /** `JSON.stringify(v, null, space)` with secrets removed, still valid JSON. */
  json(v: unknown, space?: number): string;
  /** UTF-8 text redacted; bytes that are not UTF-8 (binary files) are returned as they are. */
  bytes(b: Uint8Array): Uint8Array;
  /** Adds credentials learned later (the policy's `redaction` section, agents' key variables). */
  add(more: {
    readonly env?: Readonly<Record<string, string | undefined>>;
    readonly envNames?: readonly string[];
    readonly values?: readonly string[];
  }): void;
}
