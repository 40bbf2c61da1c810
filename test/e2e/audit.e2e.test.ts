import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MSO_BIN } from '../helpers/cli.js';
import { auditStores } from '../helpers/pg.js';
import { makeStoreSandbox, type StoreSandbox } from '../helpers/store.js';

let sb: StoreSandbox;

const payload = {
  run_id: '20261121-msoal-x',
  artifact_uri: 'a',
  status: 'success',
  errors: [],
  warnings: [],
  next_actions: [],
  metadata: { schema_version: '1.0.0' },
};

// Every `mso audit` command, on the embedded SQLite file and on PostgreSQL (when MSO_TEST_PG_URL is set).
describe.each(auditStores())('mso audit (%s audit store)', (store) => {
  beforeEach(async () => {
    sb = await makeStoreSandbox(store);
  });
  afterEach(async () => {
    await sb.cleanup();
  });
  // On PostgreSQL, what only this file covers: CC-05 payloads, the read-only query session, --follow. A refused payload
  // is refused before the store is touched, and audit-store.e2e reads tail, stats and export from both stores.
  const sqliteOnly = store === 'postgres' ? it.skip : it;
  it('initialises, appends a payload (idempotently) and queries it back', async () => {
    const init = await sb.run(['audit', 'init']);
    expect(init.stdout).toMatch(
      store === 'sqlite' ? /^OK db=.*audit\.db schema=2\.0\.0/ : /^OK db=postgres:\/\/.*schema=2\.0\.0/,
    );
    const file = join(sb.dir, 'p.json');
    await writeFile(file, JSON.stringify(payload));
    const a = await sb.json<{ id: string; created: boolean }>(['audit', 'append', file]);
    expect(a.code).toBe(0);
    expect(a.body.id).toMatch(/^TASK-\d{8}-/);
    const b = await sb.json<{ id: string; created: boolean }>(['audit', 'append', file]);
    expect(b.body).toEqual({ ...a.body, created: false });
    const q = await sb.json<{ rows: unknown[] }>(['audit', 'query', 'SELECT id, status FROM audit_logs']);
    expect(q.body.rows).toEqual([{ id: a.body.id, status: 'success' }]);
  });
  sqliteOnly('refuses a bad payload with exit 2 and writes nothing', async () => {
    const file = join(sb.dir, 'bad.json');
    await writeFile(file, JSON.stringify({ ...payload, status: 'maybe' }));
    const r = await sb.json<{ error: { code: string; file: string; issues: Array<{ path: string }> } }>([
      'audit',
      'append',
      file,
    ]);
    expect(r.code).toBe(2);
    expect(r.body.error.code).toBe('MSO_INVALID_ARTIFACT');
    expect(r.body.error.file).toBe(file);
    expect(r.body.error.issues[0]?.path).toBe('status');
    await writeFile(file, '{ not json');
    expect((await sb.json(['audit', 'append', file])).code).toBe(2);
    const q = await sb.json<{ rows: Array<{ n: number }> }>(['audit', 'query', 'SELECT count(*) AS n FROM audit_logs']);
    expect(q.body.rows[0]?.n).toBe(0);
  });
  it('refuses writes through audit query with exit 2', async () => {
    const r = await sb.json(['audit', 'query', 'DELETE FROM audit_logs']);
    expect(r.code).toBe(2);
    expect(r.body).toMatchObject({ error: { code: 'MSO_AUDIT_READONLY' } });
  });
  sqliteOnly('records run lifecycle, shows it in tail and stats, and exports it as JSON Lines', async () => {
    const c = await sb.json<{ run_id: string }>(['runs', 'create', '--case-slug', 'audited']);
    await sb.run(['runs', 'finalize', c.body.run_id, '--status', 'failed', '--message', 'boom']);
    const tail = await sb.json<{ events: Array<{ type: string; payload: { status: string } }> }>([
      'audit',
      'tail',
      '--run-id',
      c.body.run_id,
    ]);
    expect(tail.body.events.map((e) => e.payload.status)).toEqual(['created', 'failed']);
    const stats = await sb.json<{ runs: Record<string, number>; events: { total: number } }>([
      'audit',
      'stats',
      '--run-id',
      c.body.run_id,
    ]);
    expect(stats.body.runs).toEqual({ failed: 1 });
    expect(stats.body.events.total).toBe(2);
    const out = join(sb.dir, 'run.jsonl');
    const exp = await sb.json<{ records: number }>([
      'audit',
      'export',
      '--run-id',
      c.body.run_id,
      '--format',
      'jsonl',
      '--out',
      out,
    ]);
    expect(exp.body.records).toBe(3);
    const missing = await sb.json(['audit', 'export', '--run-id', '20261121-msowd-nope']);
    expect(missing.code).toBe(2);
  });
  it('follows new events until interrupted', async () => {
    await sb.run(['audit', 'init']);
    const child = spawn(process.execPath, [MSO_BIN, 'audit', 'tail', '--follow', '--interval', '50'], {
      cwd: sb.cwd,
      env: sb.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    await new Promise((r) => setTimeout(r, 800));
    await sb.run(['runs', 'create', '--case-slug', 'followed']);
    const deadline = Date.now() + 20_000;
    while (!out.includes('run.status') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    expect(out).toContain('followed');
    expect(code).toBe(130);
  });
});
