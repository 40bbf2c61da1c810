import { spawn } from 'node:child_process';
import { readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REDIS, redisReachable } from '../helpers/distributed.js';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MSO_BIN, makeSandbox, type Sandbox } from '../helpers/cli.js';
import { auditStores, pgSchema } from '../helpers/pg.js';
import { makeStoreSandbox, type StoreSandbox } from '../helpers/store.js';
import { openPostgres } from '../../src/platform/node/postgres.js';

// The same CLI session against either audit store: the embedded SQLite file, or PostgreSQL through MSO_AUDIT_URL.
interface Summary {
  run_id: string;
  status: string;
  nodes: Record<string, number>;
  pending_human: string[];
  node_details: Record<string, { state: string; commit: string | null; tree_hash: string | null }>;
}
type Node = { id: string; command: string; max_retry?: number; merge_policy?: Record<string, unknown> };

/** Null when Redis answers (the distributed case needs it), else why not. */
const redisDown = await redisReachable();
if (redisDown) console.warn(`the distributed run on PostgreSQL is skipped: Redis at ${REDIS} is unreachable`);

const out = (id: string) => `mkdir -p outputs && echo ${id} > outputs/${id}.md`;
const DIAMOND = {
  nodes: ['a', 'b', 'c', 'd'].map((id) => ({ id, command: out(id) })),
  edges: [
    { from: 'a', to: 'b' },
    { from: 'a', to: 'c' },
    { from: 'b', to: 'd' },
    { from: 'c', to: 'd' },
  ],
};

async function workflow(sb: Sandbox, name: string, nodes: Node[], edges: Array<{ from: string; to: string }>) {
  const file = join(sb.dir, `${name}.yaml`);
  await writeFile(file, stringify({ name, nodes: nodes.map((n) => ({ label: n.id, ...n })), edges }));
  return file;
}

// The engine's behaviours (quorum and human decisions, a second coordinator refused, kill -9 and resume) run on both
// stores in engine.e2e, and replay's in replay.e2e; this file covers every reading command once per store.
describe.each(auditStores())('the CLI on the %s audit store', (store) => {
  let sb: StoreSandbox;
  const json = <T>(args: string[]) => sb.json<T>(args);
  beforeEach(async () => {
    sb = await makeStoreSandbox(store);
    expect((await sb.run(['init'])).code).toBe(0);
  });
  afterEach(async () => {
    await sb.cleanup();
  });

  it('runs shell nodes and answers status, timeline, logs, audit, observe, replay and diff from it', async () => {
    const wf = await workflow(sb, 'diamond', DIAMOND.nodes, DIAMOND.edges);
    const r = await json<Summary>(['run', '--workflow', wf]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.body).toMatchObject({ status: 'completed', nodes: { done: 4 } });
    const auditDb = join(sb.dir, 'workspace', '.mso-context', 'audit.db');
    expect(
      await stat(auditDb).then(
        () => 'file',
        () => 'none',
      ),
    ).toBe(store === 'sqlite' ? 'file' : 'none');
    const id = r.body.run_id;

    const status = await json<{ node_table: Array<{ node: string; state: string; agent: string; commit: string }> }>([
      'status',
      id,
    ]);
    expect(status.body.node_table.map((n) => [n.node, n.state, n.agent, n.commit])).toEqual(
      ['a', 'b', 'c', 'd'].map((n) => [n, 'done', 'shell', r.body.node_details[n]?.commit]),
    );
    const timeline = await json<{ entries: Array<{ kind: string; node: string | null }> }>(['timeline', id]);
    expect(timeline.body.entries.filter((e) => e.kind === 'commit').map((e) => e.node)).toEqual(
      expect.arrayContaining(['a', 'b', 'c', 'd']),
    );
    const logs = await json<{ entries: Array<{ node: string }> }>(['logs', id]);
    expect(new Set(logs.body.entries.map((e) => e.node))).toEqual(new Set(['a', 'b', 'c', 'd']));
    const stats = await json<{ events: { by_type: Record<string, number> }; attempts: { total: number } }>([
      'audit',
      'stats',
      '--run-id',
      id,
    ]);
    expect(stats.body.attempts.total).toBe(4);
    expect(stats.body.events.by_type['node.committed']).toBe(4);
    const tail = await json<{ events: Array<{ seq: number; type: string }> }>(['audit', 'tail', '--run-id', id]);
    expect(tail.body.events.map((e) => e.type)).toContain('run.cleanup');
    expect(await sb.rows(`SELECT count(*) AS n FROM attempts WHERE run_id = '${id}' AND status = 'success'`)).toEqual([
      { n: 4 },
    ]);
    const jsonl = await json<{ records: number }>(['audit', 'export', '--run-id', id, '--format', 'jsonl']);
    expect(jsonl.body.records).toBeGreaterThan(40);

    const provenance = await json<{ models_used: unknown[] }>(['runs', 'show', id, '--provenance']);
    expect(provenance.body.models_used).toEqual([{ agent: 'shell', model: null, calls: 4 }]);
    const observed = await json<{ results: Array<{ run_id: string; findings: unknown[] }> }>([
      'observe',
      '--run-id',
      id,
    ]);
    expect(observed.body.results[0]?.run_id).toBe(id);
    // Offline replay reads every recorded transcript back from the store's blobs.
    const replay = await json<{ identical: boolean; answered: number }>(['replay', id, '--offline']);
    expect(replay.body).toMatchObject({ identical: true, answered: 4 });
    const diff = await json<{ nodes: Array<{ node: string; a: { output_hash: string }; b: { output_hash: string } }> }>(
      ['diff', id, `${id}-replay`],
    );
    expect(diff.code).toBe(0);
    for (const n of diff.body.nodes) expect(n.a.output_hash, n.node).toBe(n.b.output_hash);
  }, 180_000);
});

describe.skipIf(auditStores().length < 2)('mso audit migrate --to postgres://', () => {
  let sb: Sandbox;
  let schema: ReturnType<typeof pgSchema>;
  beforeEach(async () => {
    sb = await makeSandbox();
    schema = pgSchema('mso_mig');
    expect((await sb.run(['init'])).code).toBe(0);
  });
  afterEach(async () => {
    schema.drop();
    await sb.cleanup();
  });
  interface Migrated {
    ok: boolean;
    tables: Array<{ table: string; rows: number; target_rows: number; sha256: string; target_sha256: string }>;
    blobs: { copied: number; missing: string[]; corrupt: string[] };
  }

  it('copies an SQLite log with its blobs, verified per table, and the CLI then reads the same run from PostgreSQL', async () => {
    // Node `a` writes 100 KB: its recorded patch is a blob kept as a file; the other blobs are kept in their rows.
    const big = 'mkdir -p outputs && head -c 100000 /dev/zero | tr "\\0" x > outputs/a.md';
    const nodes = DIAMOND.nodes.map((n) => (n.id === 'a' ? { ...n, command: big } : n));
    const wf = await workflow(sb, 'diamond', nodes, DIAMOND.edges);
    const r = await sb.json<Summary>(['run', '--workflow', wf]);
    expect(r.body.status).toBe('completed');
    const id = r.body.run_id;
    const blobFiles = (
      await readdir(join(sb.dir, 'workspace', '.mso-context', 'blobs'), { recursive: true, withFileTypes: true })
    ).filter((e) => e.isFile());
    expect(blobFiles.length).toBeGreaterThanOrEqual(1);
    const before = await sb.json<{ entries: unknown[] }>(['timeline', id]);
    const statsBefore = await sb.json<Record<string, unknown>>(['audit', 'stats', '--run-id', id]);

    const m = await sb.json<Migrated>(['audit', 'migrate', '--to', schema.url]);
    expect(m.code, m.stderr).toBe(0);
    expect(m.body.ok).toBe(true);
    const events = m.body.tables.find((t) => t.table === 'events');
    expect(events?.rows).toBeGreaterThan(40);
    for (const t of m.body.tables) {
      expect(t.target_rows, t.table).toBe(t.rows);
      expect(t.target_sha256, t.table).toBe(t.sha256);
    }
    expect(m.body.blobs).toMatchObject({ missing: [], corrupt: [] });
    expect(m.body.blobs.copied).toBeGreaterThanOrEqual(4);

    const pg = { env: { MSO_AUDIT_URL: schema.url } };
    expect((await sb.json<{ entries: unknown[] }>(['timeline', id], pg)).body).toEqual(before.body);
    expect((await sb.json<Record<string, unknown>>(['audit', 'stats', '--run-id', id], pg)).body).toEqual(
      statsBefore.body,
    );
    // Transcripts now come from the store's blobs: remove the files to prove it.
    await rm(join(sb.dir, 'workspace', '.mso-context', 'blobs'), { recursive: true, force: true });
    const replay = await sb.json<{ identical: boolean; answered: number }>(['replay', id, '--offline'], pg);
    expect(replay.body).toMatchObject({ identical: true, answered: 4 });
    // New events continue the copied sequence.
    const tail = await sb.json<{ events: Array<{ seq: number }> }>(['audit', 'tail', '--limit', '1'], pg);
    expect(tail.body.events[0]?.seq).toBeGreaterThan(events?.rows ?? 0);

    const again = await sb.json<{ error: { code: string; message: string } }>(['audit', 'migrate', '--to', schema.url]);
    expect(again.code).toBe(1);
    expect(again.body.error.code).toBe('MSO_AUDIT_COPY');
    expect(again.body.error.message).toMatch(/already holds events/);
  });

  it('fails with the differing table named when what the store kept is not what was copied', async () => {
    const wf = await workflow(sb, 'diamond', DIAMOND.nodes, DIAMOND.edges);
    expect((await sb.json<Summary>(['run', '--workflow', wf])).body.status).toBe('completed');
    expect((await sb.run(['audit', 'init'], { env: { MSO_AUDIT_URL: schema.url } })).code).toBe(0);
    // A store that rewrites what it is given (a trigger here; a lossy column type or a broken proxy in life).
    const db = openPostgres(schema.url);
    db.exec(`CREATE FUNCTION mangle() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.stage := 'mangled'; RETURN NEW; END $$;
      CREATE TRIGGER mangle BEFORE INSERT ON attempts FOR EACH ROW WHEN (NEW.node_id = 'b') EXECUTE FUNCTION mangle()`);
    db.close();
    const m = await sb.json<{ error: { code: string; message: string; report: Migrated } }>([
      'audit',
      'migrate',
      '--to',
      schema.url,
    ]);
    expect(m.code).toBe(1);
    expect(m.body.error.code).toBe('MSO_AUDIT_COPY');
    expect(m.body.error.message).toMatch(/verification failed for attempts/);
  });
});

describe.skipIf(auditStores().length < 2 || redisDown !== null)('a distributed run on the PostgreSQL store', () => {
  let sb: Sandbox;
  let schema: ReturnType<typeof pgSchema>;
  let worker: ReturnType<typeof spawn> | null = null;
  beforeEach(async () => {
    sb = await makeSandbox();
    schema = pgSchema('mso_dist');
    sb.env['MSO_AUDIT_URL'] = schema.url;
    expect((await sb.run(['init'])).code).toBe(0);
  });
  afterEach(async () => {
    if (worker && worker.exitCode === null) {
      worker.kill('SIGTERM');
      await new Promise((res) => worker?.once('exit', res));
    }
    schema.drop();
    await sb.cleanup();
  });

  it('records the coordinator and a worker in one store: the run, its jobs and a status read from it', async () => {
    const redis = REDIS;
    const prefix = `mso-pg-${process.pid}-${Date.now().toString(36)}`;
    // The worker has a workspace of its own (another machine, as far as mso can tell) and the same store.
    const wws = join(sb.dir, 'ws-w1');
    worker = spawn(process.execPath, [MSO_BIN, 'worker', '--redis', redis, '--queue-prefix', prefix, '--name', 'w1'], {
      env: { ...sb.env, MSO_WORKSPACE_ROOT: wws, MSO_OBSERVATION_ROOT: join(wws, 'obs') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    worker.stderr?.on('data', (c: Buffer) => (log += c.toString()));
    for (let i = 0; i < 300 && !log.includes('worker w1 ready') && worker.exitCode === null; i++) {
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(log).toContain('worker w1 ready');
    const wf = await workflow(sb, 'diamond', DIAMOND.nodes, DIAMOND.edges);
    const r = await sb.json<Summary>([
      'run',
      '--workflow',
      wf,
      '--backend',
      'distributed',
      '--redis',
      redis,
      '--queue-prefix',
      prefix,
    ]);
    expect(r.body, r.stderr).toMatchObject({ status: 'completed', nodes: { done: 4 } });
    const rows = (
      await sb.json<{ rows: Array<{ type: string; n: number }> }>([
        'audit',
        'query',
        `SELECT type, count(*) AS n FROM events WHERE run_id = '${r.body.run_id}' AND type IN ('node.committed', 'node.job_applied') GROUP BY type ORDER BY type`,
      ])
    ).body.rows;
    expect(rows.find((x) => x.type === 'node.committed')?.n).toBe(4);
    expect(rows.find((x) => x.type === 'node.job_applied')?.n).toBeGreaterThan(0);
    expect(
      await stat(join(sb.dir, 'workspace', '.mso-context', 'audit.db')).then(
        () => 1,
        () => 0,
      ),
    ).toBe(0);
    expect(
      await stat(join(wws, '.mso-context', 'audit.db')).then(
        () => 1,
        () => 0,
      ),
    ).toBe(0);
  }, 180_000);
});
