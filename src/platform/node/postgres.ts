import { createRequire } from 'node:module';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import {
  AuditStoreUnavailableError,
  InvalidArgumentError,
  StorageFullError,
  redactUrl,
} from '../../contracts/index.js';
import type { OpenPostgres, SqliteDb, SqliteStatement } from '../ports.js';
import { bindPgParams, compilePgSql } from './pg-sql.js';
import { PG_WORKER_SOURCE } from './pg-worker-source.js';

/** How long one statement may take before the caller gives up on the worker (PostgreSQL's own timeouts act first). */
const CALL_TIMEOUT_MS = 300_000;

interface Reply {
  /** The request this answers. */
  readonly id?: number;
  readonly ok: boolean;
  readonly rows?: Record<string, unknown>[];
  readonly rowCount?: number;
  readonly error?: { message: string; code?: string; detail?: string };
}

// Connection-level failures: the store is down, unknown, or refused us (SQLSTATE classes 08, 28, 3D, 57P).
const UNAVAILABLE = /^(ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|ECONNRESET|EHOSTUNREACH|08|28|3D000|57P0)/;

function errorOf(url: string, e: NonNullable<Reply['error']>): Error {
  const code = e.code ?? '';
  if (UNAVAILABLE.test(code) || /Connection terminated|connection to PostgreSQL was lost/i.test(e.message)) {
    return new AuditStoreUnavailableError(url, e.message);
  }
  if (code === '53100') return new StorageFullError(url, e.message);
  return Object.assign(new Error(e.detail ? `${e.message} (${e.detail})` : e.message), { code });
}

interface Target {
  readonly url: string;
  readonly schema: string | null;
  /** `?synchronous_commit=on` waits for the server's disk on every commit; off by default (see openPostgres). */
  readonly syncCommit: boolean;
  readonly shown: string;
}

function parseTarget(raw: string): Target {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new InvalidArgumentError('audit.url', `${redactUrl(raw)} is not a URL (expected postgres://user@host/db)`);
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new InvalidArgumentError('audit.url', `${redactUrl(raw)} is not a postgres:// URL`);
  }
  const schema = u.searchParams.get('schema');
  if (schema !== null && !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
    throw new InvalidArgumentError('audit.url', `schema "${schema}" must be a plain identifier`);
  }
  u.searchParams.delete('schema');
  const sync = u.searchParams.get('synchronous_commit') ?? 'off';
  if (sync !== 'on' && sync !== 'off') {
    throw new InvalidArgumentError('audit.url', `synchronous_commit must be on or off, not "${sync}"`);
  }
  u.searchParams.delete('synchronous_commit');
  return { url: u.toString(), schema, syncCommit: sync === 'on', shown: redactUrl(raw) };
}

/** One connection: a worker thread owning a pg client, and the synchronous call into it. */
interface Connection {
  readonly key: string;
  call(req: Record<string, unknown>, inTx: boolean): Reply;
  end(): void;
}

function connect(target: Target, readonly: boolean): Connection {
  const setup: string[] = [];
  if (target.schema) {
    // CREATE SCHEMA IF NOT EXISTS is not safe against itself: two connections creating the same new schema at once
    // fail one of them on pg_namespace's unique index. The loser finds the schema there, which is all it wanted.
    if (!readonly)
      setup.push(
        `DO $$ BEGIN CREATE SCHEMA IF NOT EXISTS "${target.schema}"; EXCEPTION WHEN unique_violation OR duplicate_schema THEN NULL; END $$`,
      );
    setup.push(`SET search_path TO "${target.schema}"`);
  }
  if (readonly) setup.push('SET default_transaction_read_only = on');
  if (!target.syncCommit) setup.push('SET synchronous_commit = off');
  const flagBuf = new SharedArrayBuffer(4);
  const flag = new Int32Array(flagBuf);
  const { port1, port2 } = new MessageChannel();
  const pgPath = createRequire(import.meta.url).resolve('pg');
  const worker = new Worker(PG_WORKER_SOURCE, {
    eval: true,
    workerData: { url: target.url, pgPath, flag: flagBuf, port: port2, setup },
    transferList: [port2 as unknown as MessagePort],
  });
  // Neither keeps the process alive: a CLI command ends when its work does, open connections or not.
  worker.unref();
  port1.unref();
  let ended = false;
  let sent = 0;
  /** The answer to request `id` when it has come (null), and whether any answer was queued (earlier ones dropped). */
  const answerTo = (id: number): { reply: Reply | null; any: boolean } => {
    let any = false;
    for (let got = receiveMessageOnPort(port1); got; got = receiveMessageOnPort(port1)) {
      any = true;
      const reply = got.message as Reply;
      if (reply.id === id) return { reply, any };
    }
    return { reply: null, any };
  };
  const call = (req: Record<string, unknown>, inTx: boolean): Reply => {
    if (ended) throw new Error(`the audit store ${target.shown} is closed`);
    // Each answer names its request, so a statement is never handed another's answer (a key conflict on every column,
    // seen twice on PostgreSQL under load, reads as an insert and a lookup each given an earlier statement's).
    const id = ++sent;
    Atomics.store(flag, 0, 0);
    port1.postMessage({ ...req, inTx, id });
    let reply: Reply | null = null;
    while (reply === null) {
      if (Atomics.wait(flag, 0, 0, CALL_TIMEOUT_MS) === 'timed-out')
        throw new AuditStoreUnavailableError(target.shown, `no answer within ${CALL_TIMEOUT_MS / 1000} s`);
      const woke = answerTo(id);
      if (!woke.any) throw new AuditStoreUnavailableError(target.shown, 'the connection worker stopped');
      reply = woke.reply;
      if (reply !== null) break;
      // Woken by an earlier request's answer: wait again, unless this one came meanwhile (the worker posts an answer
      // before it raises the flag).
      Atomics.store(flag, 0, 0);
      reply = answerTo(id).reply;
    }
    if (!reply.ok) throw errorOf(target.shown, reply.error ?? { message: 'unknown error' });
    return reply;
  };
  return {
    key: `${readonly ? 'ro' : 'rw'} ${target.url} ${target.schema ?? ''} ${target.syncCommit}`,
    call,
    end() {
      if (ended) return;
      try {
        call({ op: 'close' }, false);
      } catch {
        // Closing a connection that already failed: nothing left to release.
      } finally {
        ended = true;
        port1.close();
        void worker.terminate();
      }
    },
  };
}

/** The synchronous port over one connection; `release` gets it back when closed (clean: not inside a transaction). */
function portOver(conn: Connection, target: Target, release: (conn: Connection, clean: boolean) => void): SqliteDb {
  let inTransaction = false;
  let closed = false;
  const call = (req: Record<string, unknown>): Reply => {
    if (closed) throw new Error(`the audit store ${target.shown} is closed`);
    return conn.call(req, inTransaction);
  };
  function exec(sql: string): void {
    const t = sql.trim().replace(/;$/, '');
    if (/^BEGIN\b/i.test(t)) {
      const immediate = /^BEGIN\s+(IMMEDIATE|EXCLUSIVE)$/i.test(t);
      call({ op: 'exec', sql: 'BEGIN' });
      inTransaction = true;
      if (immediate) {
        try {
          call({ op: 'query', sql: "SELECT pg_advisory_xact_lock(hashtext('mso:' || current_schema()))", params: [] });
        } catch (e) {
          exec('ROLLBACK');
          throw e;
        }
      }
      return;
    }
    if (/^(COMMIT|END|ROLLBACK)$/i.test(t)) {
      try {
        call({ op: 'exec', sql: t });
      } finally {
        inTransaction = false;
      }
      return;
    }
    call({ op: 'exec', sql });
  }

  function prepare(sql: string): SqliteStatement {
    const c = compilePgSql(sql);
    const query = (params: unknown[]): Reply => call({ op: 'query', sql: c.text, params: bindPgParams(c, params) });
    return {
      reader: c.reader,
      readonly: c.reader && c.returning === null && !/\b(INSERT|UPDATE|DELETE)\b/i.test(c.text),
      run(...params) {
        const r = query(params);
        const key = c.returning ? r.rows?.[0]?.[c.returning] : undefined;
        return { changes: r.rowCount ?? 0, lastInsertRowid: typeof key === 'number' ? key : 0 };
      },
      get: (...params) => query(params).rows?.[0],
      all: (...params) => query(params).rows ?? [],
      iterate: (...params) => (query(params).rows ?? [])[Symbol.iterator](),
    };
  }

  const db: SqliteDb = {
    name: target.shown,
    dialect: 'postgres',
    get inTransaction() {
      return inTransaction;
    },
    prepare,
    exec,
    pragma(text) {
      // SQLite's file-level settings have no meaning here; query_only is the read-only session.
      if (/^\s*query_only\s*=\s*(on|1|true)\s*$/i.test(text)) exec('SET default_transaction_read_only = on');
      return undefined;
    },
    close() {
      if (closed) return;
      let clean = !inTransaction;
      if (inTransaction) {
        try {
          exec('ROLLBACK');
          clean = true;
        } catch {
          clean = false;
        }
      }
      closed = true;
      release(conn, clean);
    },
  };
  return db;
}

function open(target: Target, readonly: boolean, conn: Connection, release: (c: Connection, clean: boolean) => void) {
  // A first statement now, so an unreachable store is reported where it is opened rather than at the first write.
  try {
    conn.call({ op: 'query', sql: 'SELECT 1', params: [] }, false);
  } catch (e) {
    conn.end();
    throw e;
  }
  return portOver(conn, target, release);
}

/**
 * Opens a PostgreSQL database behind the synchronous port: one connection, owned by a worker thread; the caller
 * blocks (Atomics.wait) until each statement is answered, so "committed when it returns" holds as with SQLite.
 * `?schema=name` keeps mso's tables in that schema (created when missing). `BEGIN IMMEDIATE` takes a transaction
 * advisory lock per schema: like SQLite's write lock, one such transaction at a time across every process. `pg` is
 * loaded only inside the worker, so the CLI's start-up never pays for it. Closing ends the connection.
 * Commits do not wait for the server's disk (`synchronous_commit = off`, as SQLite's `synchronous = NORMAL` here): a
 * crash of any mso process loses nothing committed, a crash of the server may lose its last fraction of a second,
 * never consistency. `?synchronous_commit=on` waits for the disk on every commit.
 */
export const openPostgres: OpenPostgres = (raw, options = {}) => {
  const target = parseTarget(raw);
  const readonly = options.readonly ?? false;
  return open(target, readonly, connect(target, readonly), (c) => c.end());
};

/**
 * {@link openPostgres} with the connections of closed handles kept for the next open of the same store in this
 * process (a command opens the audit log many times: each open then costs one round trip, not a thread and a login).
 * A handle closed inside a transaction is rolled back first; one that cannot be, is ended.
 */
export function createPostgresOpener(): OpenPostgres {
  const idle = new Map<string, Connection[]>();
  const release = (c: Connection, clean: boolean): void => {
    if (!clean) return c.end();
    idle.set(c.key, [...(idle.get(c.key) ?? []), c]);
  };
  return (raw, options = {}) => {
    const target = parseTarget(raw);
    const readonly = options.readonly ?? false;
    const key = `${readonly ? 'ro' : 'rw'} ${target.url} ${target.schema ?? ''} ${target.syncCommit}`;
    const kept = idle.get(key)?.pop();
    return open(target, readonly, kept ?? connect(target, readonly), release);
  };
}
