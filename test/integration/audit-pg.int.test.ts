import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { auditStats, openAuditLog, openAuditReader, readEvents, runReadOnlyQuery } from '../../src/audit/index.js';
import { nodePlatform } from '../../src/platform/index.js';
import { createPostgresOpener } from '../../src/platform/node/postgres.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { PG_URL, pgSchema, pgUnavailable } from '../helpers/pg.js';

// What only the PostgreSQL store has to prove: blobs in the database, its read-only session, typed numbers from
// aggregates, a clear error when it is down, and one lease winner among processes racing on another machine's store.
const deps = nodePlatform();
let dir: string;
let schema: ReturnType<typeof pgSchema>;
const open = () => openAuditLog(deps, { file: join(dir, 'audit.db'), blobsDir: join(dir, 'blobs'), url: schema.url });

describe.skipIf(pgUnavailable() !== null)('the PostgreSQL audit store', () => {
  beforeAll(async () => {
    await deps.preparePostgres?.();
  });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mso-auditpg-'));
    schema = pgSchema();
  });
  afterEach(async () => {
    schema.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('migrates once: the same named migrations as SQLite, and a second open applies nothing', () => {
    const first = open();
    expect(first.schema.applied).toEqual([
      '001_mso_compat_1_5',
      '002_execution_tables',
      '003_breaker_state',
      '004_drop_events_type_index',
      '005_events_plain_rowid',
      '006_run_leases',
      '007_blob_bytes_in_rows',
    ]);
    first.close();
    const again = open();
    expect(again.schema).toMatchObject({ from: '2.0.0', applied: [] });
    expect(again.file).toBe(schema.url);
    again.close();
  });

  it('keeps blobs in the database (no file), verifies them on read, and reports an altered one', async () => {
    const log = open();
    const hash = await log.putBlob('transcript line\n', 'text/plain');
    expect((await log.getBlob(hash)).toString()).toBe('transcript line\n');
    expect(await log.putBlob('transcript line\n')).toBe(hash);
    expect(await readdir(join(dir)).catch(() => [])).not.toContain('blobs');
    log.db.prepare("UPDATE blobs SET data = convert_to('altered', 'UTF8') WHERE hash = ?").run(hash);
    expect((await log.inspectBlob(hash)).intact).toBe(false);
    await expect(log.getBlob(hash)).rejects.toMatchObject({ code: 'MSO_BLOB_CORRUPT' });
    await expect(log.getBlob('0'.repeat(64))).rejects.toMatchObject({ code: 'MSO_NOT_FOUND' });
    log.close();
  });

  it('appends a batch in order with multi-row inserts: a repeated key once, a conflicting one refuses the whole batch', () => {
    const log = open();
    const first = log.appendEvent({ runId: 'r', type: 'a', key: 'k0' });
    const seqs = log.appendEvents([
      { runId: 'r', type: 'b', key: 'k1' },
      { runId: 'r', type: 'a', key: 'k0' },
      { runId: 'r', type: 'c', key: 'k2', payload: { n: 1 } },
      { runId: 'r', type: 'c', key: 'k2', payload: { n: 1 } },
      ...Array.from({ length: 1_500 }, (_, i) => ({ runId: 'r', type: 'bulk', payload: { i } })),
    ]);
    // Order kept; a key seen before gives the stored seq (PostgreSQL's sequence may skip values, never repeat one).
    const [k1, k0, k2, k2again] = seqs as [number, number, number, number];
    expect([k0, k2again]).toEqual([first, k2]);
    expect(first < k1 && k1 < k2).toBe(true);
    const bulk = seqs.slice(4);
    expect(bulk.every((v, i) => v > (i === 0 ? k2 : (bulk[i - 1] as number)))).toBe(true);
    expect(new Set(bulk).size).toBe(1_500);
    const before = (log.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
    expect(() =>
      log.appendEvents([
        { runId: 'r', type: 'd', key: 'k3' },
        { runId: 'r', type: 'other', key: 'k1' },
      ]),
    ).toThrow(expect.objectContaining({ code: 'MSO_AUDIT_KEY_CONFLICT' }));
    expect(log.db.prepare('SELECT count(*) AS n FROM events').get()).toEqual({ n: before });
    log.close();
  });

  it('keeps a streamed (spilled) blob in the database too, readable once its file is gone', async () => {
    const log = open();
    const st = log.openBlobStream('text/plain');
    for (let i = 0; i < 50; i++) st.write(Buffer.from(`line ${i} of a long agent output\n`));
    const b = await st.end();
    await rm(join(dir, 'blobs'), { recursive: true, force: true });
    const bytes = await log.getBlob(b.hash);
    expect(bytes.length).toBe(b.size);
    expect(bytes.toString()).toContain('line 49 of a long agent output');
    log.close();
  });

  it('rolls a failed transaction back whole', () => {
    const log = open();
    expect(() =>
      log.transaction(() => {
        log.appendEvent({ runId: 'r', type: 'a' });
        throw new Error('boom');
      }),
    ).toThrow('boom');
    log.appendEvent({ runId: 'r', type: 'b' });
    expect(log.db.prepare('SELECT type FROM events').all()).toEqual([{ type: 'b' }]);
    log.close();
  });

  it('answers readers with numbers (not int8 strings) and refuses writes in its read-only session', async () => {
    const log = open();
    log.appendEvents([
      { runId: 'r', type: 'node.state', payload: { state: 'running' } },
      { runId: 'r', type: 'node.state', payload: { state: 'done' } },
    ]);
    log.recordAttempt({ attemptId: 'A1', runId: 'r', status: 'success', durationMs: 40, costUsd: 0.25 });
    log.close();
    const reader = openAuditReader(deps, join(dir, 'audit.db'), { url: schema.url });
    expect(runReadOnlyQuery(reader, 'SELECT count(*) AS n, sum(seq) AS s FROM events').rows).toEqual([{ n: 2, s: 3 }]);
    expect(() => runReadOnlyQuery(reader, 'DELETE FROM events')).toThrow(
      expect.objectContaining({ code: 'MSO_AUDIT_READONLY' }),
    );
    expect(() => runReadOnlyQuery(reader, 'SELECT * FROM events FOR UPDATE')).toThrow(
      expect.objectContaining({ code: 'MSO_AUDIT_READONLY' }),
    );
    expect((await readEvents(reader, { runId: 'r' })).map((e) => e.payload)).toEqual([
      { state: 'running' },
      { state: 'done' },
    ]);
    const stats = await auditStats(reader, 'r');
    expect(stats.events).toEqual({ total: 2, by_type: { 'node.state': 2 } });
    expect(stats.attempts).toMatchObject({ total: 1, duration_ms: { max: 40 } });
    expect(stats.cost.usd).toBe(0.25);
    await reader.close();
  });

  it('names the store (without its password) when it cannot be reached, and refuses a URL that is not postgres://', () => {
    expect(() =>
      openAuditLog(deps, { file: 'x', blobsDir: 'y', url: 'postgres://root:s3cret-pass@127.0.0.1:1/test' }),
    ).toThrow(
      expect.objectContaining({
        code: 'MSO_AUDIT_STORE_UNAVAILABLE',
        message: expect.stringContaining('postgres://root:***@127.0.0.1:1/test'),
      }),
    );
    expect(() => openAuditLog(deps, { file: 'x', blobsDir: 'y', url: 'mysql://h/db' })).toThrow(
      expect.objectContaining({ code: 'MSO_INVALID_ARGUMENT' }),
    );
  });

  it("reuses a closed handle's connection in the same process, after rolling back what it left open", () => {
    const openPg = createPostgresOpener();
    open().close();
    const a = openPg(schema.url);
    const pid = (a.prepare('SELECT pg_backend_pid() AS p').get() as { p: number }).p;
    a.exec('BEGIN IMMEDIATE');
    a.prepare(
      "INSERT INTO runs (run_id, status, created_at, updated_at) VALUES ('left-open', 'active', 'x', 'x')",
    ).run();
    a.close();
    const b = openPg(schema.url);
    expect((b.prepare('SELECT pg_backend_pid() AS p').get() as { p: number }).p).toBe(pid);
    expect(b.inTransaction).toBe(false);
    expect(b.prepare('SELECT count(*) AS n FROM runs').get()).toEqual({ n: 0 });
    expect(b.prepare('SHOW synchronous_commit').get()).toEqual({ synchronous_commit: 'off' });
    b.close();
    const durable = openPg(`${schema.url}&synchronous_commit=on`);
    expect(durable.prepare('SHOW synchronous_commit').get()).toEqual({ synchronous_commit: 'on' });
    durable.close();
  });

  it('opens a new schema while another connection is creating it (the loser of CREATE SCHEMA goes on)', async () => {
    // Another process's CREATE SCHEMA, not committed yet: ours waits on it, then finds the schema made.
    const { Client } = createRequire(import.meta.url)('pg') as {
      Client: new (url: string) => {
        connect(): Promise<void>;
        query(sql: string): Promise<{ rows: Array<Record<string, unknown>> }>;
        end(): Promise<void>;
      };
    };
    const other = new Client(PG_URL);
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query(`CREATE SCHEMA "${schema.schema}"`);
      const child = spawn(
        process.execPath,
        [join(REPO_ROOT, 'test/fixtures/lease-acquire.mjs'), schema.url, 'run-new'],
        {
          stdio: ['pipe', 'pipe', 'pipe'],
          env: { PATH: process.env['PATH'] ?? '' },
        },
      );
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number | null>((res) => child.once('exit', res));
      // Commit only once its CREATE SCHEMA waits on ours: that is the moment two creators meet.
      for (let i = 0; i < 300; i++) {
        const waiting = await other.query(
          "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%CREATE SCHEMA%'",
        );
        if (waiting.rows.length > 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await other.query('COMMIT');
      await new Promise<void>((res) => {
        const done = (): void => (out.includes('\n') ? res() : void setTimeout(done, 20));
        done();
      });
      child.stdin.end();
      expect(await exited, out).toBe(0);
      expect(JSON.parse(out.split('\n')[0] as string), out).toMatchObject({ won: true });
    } finally {
      await other.end();
    }
  });
  it('gives a run lease to exactly one of several processes racing for it', async () => {
    open().close();
    const racers = Array.from({ length: 4 }, () =>
      spawn(process.execPath, [join(REPO_ROOT, 'test/fixtures/lease-acquire.mjs'), schema.url, 'run-race'], {
        stdio: ['pipe', 'pipe', 'inherit'],
        env: { PATH: process.env['PATH'] ?? '' },
      }),
    );
    const exited = racers.map((p) => new Promise((res) => p.once('exit', res)));
    const outcomes = await Promise.all(
      racers.map(
        (p) =>
          new Promise<{ won: boolean; code?: string }>((res) => {
            let buf = '';
            p.stdout.on('data', (d: Buffer) => {
              buf += d.toString();
              if (buf.includes('\n')) res(JSON.parse(buf) as { won: boolean; code?: string });
            });
            p.once('exit', (code) => res({ won: false, code: `exited ${code} before answering: ${buf}` }));
          }),
      ),
    );
    for (const p of racers) p.stdin.end();
    await Promise.all(exited);
    expect(outcomes.filter((o) => o.won)).toHaveLength(1);
    expect(outcomes.filter((o) => !o.won).map((o) => o.code)).toEqual(Array(3).fill('MSO_RUN_BUSY'));
  });
});
