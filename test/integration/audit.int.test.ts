import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp, resolveSettings } from '../../src/app/index.js';
import {
  blobPath,
  createBlobReader,
  migrate,
  openAuditLog,
  openAuditReader,
  ROW_BLOB_MAX,
  runReadOnlyQuery,
  SEED_MARKER,
} from '../../src/audit/index.js';
import { nodePlatform } from '../../src/platform/index.js';
import { buildLegacyDb } from '../fixtures/mso-legacy-db.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { auditStores, pgSchema } from '../helpers/pg.js';

const deps = nodePlatform();
let dir: string;
/** Set while a suite runs against PostgreSQL: the log then lives in a fresh schema instead of `dir/audit.db`. */
let pgUrl: string | undefined;
const open = (env: Record<string, string> = {}) =>
  openAuditLog(deps, { file: join(dir, 'audit.db'), blobsDir: join(dir, 'blobs'), env, url: pgUrl });
const count = (log: { db: { prepare(s: string): { get(): unknown } } }, table: string): number =>
  (log.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
const payload = (over: Record<string, unknown> = {}) => ({
  run_id: '20261121-msoal-x',
  artifact_uri: 'workspace/x',
  status: 'success',
  errors: [],
  warnings: [],
  next_actions: [],
  metadata: { schema_version: '1.0.0' },
  ...over,
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mso-audit-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('schema and migrations', () => {
  it('creates the MSO tables, FTS indexes, triggers, views and execution tables on a fresh file', () => {
    const log = open();
    const names = (type: string) =>
      (log.db.prepare('SELECT name FROM sqlite_master WHERE type = ?').all(type) as Array<{ name: string }>).map(
        (r) => r.name,
      );
    expect(names('table')).toEqual(
      expect.arrayContaining([
        'audit_logs',
        'decisions',
        'evidence',
        'impacts',
        'tags',
        'decision_tags',
        'document_references',
        'user_feedback',
        'node_snapshots',
        'suggestion_history',
        '_skill_meta',
        'runs',
        'events',
        'attempts',
        'agent_calls',
        'breaker_events',
        'blobs',
        'run_leases',
        'audit_logs_fts',
        'decisions_fts',
        'node_snapshots_fts',
      ]),
    );
    expect(names('view')).toEqual(
      expect.arrayContaining([
        'v_open_followups',
        'v_snapshot_lineage',
        'v_work_type_distribution',
        'v_pattern_candidates',
        'v_file_hotspots',
        'v_document_frequency',
      ]),
    );
    expect(names('trigger')).toEqual(
      expect.arrayContaining(['user_feedback_ai', 'events_append_only_update', 'audit_logs_fts_ai']),
    );
    expect(log.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(log.db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(log.schema.applied).toEqual([
      '001_mso_compat_1_5',
      '002_execution_tables',
      '003_breaker_state',
      '004_drop_events_type_index',
      '005_events_plain_rowid',
      '006_run_leases',
      '007_blob_bytes_in_rows',
    ]);
    log.close();
    const again = open();
    expect(again.schema.applied).toEqual([]);
    again.close();
  });
  it('dates and reports the migrations of a copy of the build’s empty database at its first opening, once', async () => {
    // What scripts/bundle.mjs makes, copied into place as seedSqlite does; its maker may have stopped right after.
    const made = new Database(join(dir, 'seed.db'));
    made.pragma('journal_mode = WAL');
    migrate(made as unknown as Parameters<typeof migrate>[0], new Date(0).toISOString());
    made.prepare('INSERT INTO _skill_meta (k, v) VALUES (?, ?)').run(SEED_MARKER, '1');
    made.close();
    await copyFile(join(dir, 'seed.db'), join(dir, 'audit.db'));
    const since = new Date().toISOString();
    const log = open();
    expect(log.schema).toMatchObject({
      from: null,
      applied: expect.arrayContaining(['001_mso_compat_1_5', '006_run_leases']),
    });
    expect(log.schema.applied).toHaveLength(7);
    const dates = log.db.prepare('SELECT applied_at AS at FROM _mso_migrations').all() as Array<{ at: string }>;
    for (const d of dates) expect(d.at >= since).toBe(true);
    expect(log.db.prepare('SELECT v FROM _skill_meta WHERE k = ?').get(SEED_MARKER)).toBeUndefined();
    log.close();
    const again = open();
    expect(again.schema).toMatchObject({ from: '2.0.0', applied: [] });
    again.close();
  });
  it('rebuilds an AUTOINCREMENT events table (005) keeping every row and seq, and stays append-only', () => {
    const file = join(dir, 'audit.db');
    const first = open();
    first.appendEvents([
      { runId: 'r1', type: 'a', payload: { n: 1 } },
      { runId: 'r1', type: 'b', nodeId: 'x', payload: { n: 2 } },
    ]);
    first.close();
    // Put the table back the way 002 made it, as a database from before 005 has it.
    const raw = new Database(file);
    raw.exec(`ALTER TABLE events RENAME TO events_old;
      CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_key TEXT NOT NULL UNIQUE, at TEXT NOT NULL,
        run_id TEXT NOT NULL, type TEXT NOT NULL, node_id TEXT, ticket_id TEXT, attempt_id TEXT,
        payload TEXT NOT NULL DEFAULT '{}');
      INSERT INTO events SELECT * FROM events_old;
      DROP TABLE events_old;
      DELETE FROM _mso_migrations WHERE name = '005_events_plain_rowid';`);
    raw.close();
    const log = open();
    expect(log.schema.applied).toEqual(['005_events_plain_rowid']);
    const sql = (log.db.prepare("SELECT sql FROM sqlite_master WHERE name = 'events'").get() as { sql: string }).sql;
    expect(sql).not.toMatch(/AUTOINCREMENT/);
    expect(log.db.prepare('SELECT seq, type, node_id FROM events ORDER BY seq').all()).toEqual([
      { seq: 1, type: 'a', node_id: null },
      { seq: 2, type: 'b', node_id: 'x' },
    ]);
    expect(log.appendEvent({ runId: 'r1', type: 'c' })).toBe(3);
    expect(() => log.db.exec('DELETE FROM events')).toThrow(/append-only/);
    expect(() => log.db.exec("UPDATE events SET type = 'z'")).toThrow(/append-only/);
    log.close();
  });
  it.each(['1.4.0', '1.5.0'] as const)('upgrades an MSO %s database in place without losing a row', (version) => {
    const file = join(dir, 'audit.db');
    buildLegacyDb(file, version);
    const log = open();
    expect(log.schema.from).toBe(version);
    expect(count(log, 'audit_logs')).toBe(5);
    expect(count(log, 'decisions')).toBe(1);
    expect(count(log, 'evidence')).toBe(1);
    expect(count(log, 'node_snapshots')).toBe(1);
    expect(count(log, 'document_references')).toBe(1);
    if (version === '1.5.0') expect(count(log, 'suggestion_history')).toBe(1);
    const hits = log.db.prepare("SELECT id FROM audit_logs_fts WHERE audit_logs_fts MATCH 'onboarding'").all();
    expect(hits).toHaveLength(5);
    const cols = (log.db.prepare('PRAGMA table_info(audit_logs)').all() as Array<{ name: string }>).map((c) => c.name);
    expect(cols).toEqual(expect.arrayContaining(['work_type', 'intent', 'files_affected', 'run_id', 'payload_hash']));
    expect(log.db.prepare("SELECT v FROM _skill_meta WHERE k = 'schema_version'").get()).toEqual({ v: '2.0.0' });
    // MSO's own queries keep working on the upgraded file.
    expect(log.db.prepare('SELECT * FROM v_work_type_distribution').all()).toEqual([]);
    const id = log.appendPayload(payload({ work_type: 'execution', intent: 'check onboarding upgrade' })).id;
    expect(log.db.prepare("SELECT id FROM audit_logs_fts WHERE audit_logs_fts MATCH 'upgrade'").all()).toEqual([
      { id },
    ]);
    log.close();
  });
});

describe.each(auditStores())('writes (%s)', (store) => {
  let schema: ReturnType<typeof pgSchema> | null = null;
  beforeEach(async () => {
    if (store === 'postgres') {
      await deps.preparePostgres?.();
      pgUrl = (schema = pgSchema()).url;
    }
  });
  afterEach(() => {
    pgUrl = undefined;
    schema?.drop();
    schema = null;
  });
  it('appends events idempotently by key and refuses a key reused with other content', () => {
    const log = open();
    const a = log.appendEvent({ runId: 'r', type: 'node.started', nodeId: 'T1', key: 'k1', payload: { n: 1 } });
    expect(log.appendEvent({ runId: 'r', type: 'node.started', nodeId: 'T1', key: 'k1', payload: { n: 1 } })).toBe(a);
    expect(() =>
      log.appendEvent({ runId: 'r', type: 'node.started', nodeId: 'T1', key: 'k1', payload: { n: 2 } }),
    ).toThrow(expect.objectContaining({ code: 'MSO_AUDIT_KEY_CONFLICT', fields: ['payload'] }));
    const b = log.appendEvent({ runId: 'r', type: 'node.started', payload: {} });
    expect(b).toBeGreaterThan(a);
    expect(() => log.db.exec('UPDATE events SET type = 1')).toThrow(/append-only/);
    expect(() => log.db.exec('DELETE FROM events')).toThrow(/append-only/);
    log.close();
  });
  it('never overwrites history: an identical payload returns its id, a reused task id gets a new row', () => {
    const log = open();
    const first = log.appendPayload(payload({ task_id: 'TASK-0001' }));
    expect(log.appendPayload(payload({ task_id: 'TASK-0001' }))).toEqual({ ...first, created: false });
    const second = log.appendPayload(payload({ task_id: 'TASK-0001', status: 'fail' }));
    expect(second.id).toBe('TASK-0001-R2');
    const rows = log.db.prepare('SELECT id, status, transition_repeated FROM audit_logs ORDER BY id').all();
    expect(rows).toEqual([
      { id: 'TASK-0001', status: 'success', transition_repeated: 0 },
      { id: 'TASK-0001-R2', status: 'fail', transition_repeated: 1 },
    ]);
    const generated = [log.appendPayload(payload({ notes: 'a' })).id, log.appendPayload(payload({ notes: 'b' })).id];
    expect(new Set(generated).size).toBe(2);
    log.close();
  });
  it.each([
    [{ status: 'exploded' }, 'status'],
    [{ run_id: undefined }, 'run_id'],
    [{ errors: 'none' }, 'errors'],
    [{ metadata: {} }, 'metadata.schema_version'],
  ])('refuses a bad payload %j naming %s, and writes nothing', (over, path) => {
    const log = open();
    const before = count(log, 'audit_logs');
    expect(() => log.appendPayload(payload(over as Record<string, unknown>), 'p.json')).toThrow(
      expect.objectContaining({
        code: 'MSO_INVALID_ARTIFACT',
        issues: expect.arrayContaining([expect.objectContaining({ path })]),
      }),
    );
    expect(count(log, 'audit_logs')).toBe(before);
    log.close();
  });
  it('writes snapshots and decisions carried by a payload, all or nothing', () => {
    const log = open();
    log.appendPayload(
      payload({
        node_snapshot: { node_id: 'T1', node_type: 'commit', tree_hash_ref: 'a'.repeat(64), status: 'committed' },
        decisions: [{ title: 'merge T2 into T3', decision_content: 'approved' }],
      }),
    );
    expect(
      log.db
        .prepare(
          'SELECT node_id, status, CASE WHEN related_audit_id IS NOT NULL THEN 1 ELSE 0 END AS linked FROM node_snapshots',
        )
        .all(),
    ).toEqual([{ node_id: 'T1', status: 'committed', linked: 1 }]);
    expect(count(log, 'decisions')).toBe(1);
    expect(() =>
      log.appendPayload(
        payload({ notes: 'x', node_snapshot: { node_id: 'T1', node_type: 'octopus', status: 'committed' } }),
      ),
    ).toThrow();
    expect(count(log, 'audit_logs')).toBe(1);
    if (store === 'postgres') return log.close(); // the user-feedback trigger is SQLite's (schema-pg.ts)
    log.db
      .prepare("INSERT INTO user_feedback (id, date, feedback_text) VALUES ('FB-1', '2026-11-21', 'too slow')")
      .run();
    expect(log.db.prepare("SELECT title FROM decisions WHERE id = 'DEC-FB-1'").get()).toEqual({
      title: '[AUTO] user feedback decision: FB-1',
    });
    log.close();
  });
  it('fingerprints failed attempts so repeats across runs share one fingerprint', () => {
    const log = open();
    const base = {
      stage: 'execution',
      persona: 'quill',
      provider: 'openai',
      model: 'm',
      status: 'failure' as const,
      errorClass: 'timeout',
    };
    const a = log.recordAttempt({
      ...base,
      attemptId: 'A1',
      runId: '20261121-msowd-a',
      errorMessage: 'no output for 30000 ms in /tmp/a/wt',
    });
    const b = log.recordAttempt({
      ...base,
      attemptId: 'A2',
      runId: '20261122-msowd-b',
      errorMessage: 'no output for 45000 ms in /tmp/b/wt',
    });
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(
      log.recordAttempt({ ...base, attemptId: 'A3', runId: 'r', status: 'success', errorClass: null }).fingerprint,
    ).toBeNull();
    log.close();
  });
});

describe('redaction', () => {
  it('keeps secrets from the environment and from agent output out of the database file and blobs', async () => {
    const secret = 'sk-live-THISISASECRETVALUE1234567890';
    const envSecret = 'hunter2-database-password-42';
    const log = open({ DB_PASSWORD: envSecret, OPENAI_API_KEY: secret });
    log.appendEvent({
      runId: 'r',
      type: 'agent.output',
      payload: { text: `the key is ${secret}`, env: `DB_PASSWORD=${envSecret}` },
    });
    // Every column a caller gives, not only the payload; one at a time and in a batch (multi-row inserts).
    const leaky = { nodeId: `node ${secret}`, ticketId: `ticket ${envSecret}`, attemptId: `attempt ${secret}` };
    log.appendEvent({ runId: `run ${envSecret}`, type: `type ${secret}`, key: `key ${secret}`, ...leaky });
    log.appendEvents(
      Array.from({ length: 40 }, (_, i) => ({
        runId: 'r',
        type: 't',
        at: `at ${secret}`,
        key: `k${i} ${envSecret}`,
        ...leaky,
      })),
    );
    log.recordAttempt({
      attemptId: 'A1',
      runId: 'r',
      status: 'failure',
      errorClass: 'auth',
      errorMessage: `401 for Bearer ${secret}`,
    });
    log.appendPayload(payload({ notes: `leaked ${envSecret}` }));
    const hash = await log.putBlob(
      `transcript: export OPENAI_API_KEY=${secret}\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----\n`,
    );
    expect((await log.getBlob(hash)).toString()).toContain('[REDACTED');
    log.close();
    const files = [join(dir, 'audit.db'), join(dir, 'audit.db-wal')];
    for (const f of files) {
      const bytes = await readFile(f).catch(() => Buffer.alloc(0));
      expect(bytes.includes(secret), f).toBe(false);
      expect(bytes.includes(envSecret), f).toBe(false);
      expect(bytes.includes('b3BlbnNzaC1rZXk'), f).toBe(false);
    }
    // The blob is kept in its row: its bytes as stored, read back whole.
    const db = new Database(join(dir, 'audit.db'), { readonly: true });
    const stored = db.prepare('SELECT data FROM blobs WHERE hash = ?').get(hash) as { data: Buffer };
    db.close();
    expect(stored.data.toString()).toContain('[REDACTED');
    for (const s of [secret, envSecret, 'b3BlbnNzaC1rZXk']) expect(stored.data.includes(s)).toBe(false);
    // A blob this small is kept in its row (checked with the database file above); any blob file is checked too.
    const blobFiles = await readdir(join(dir, 'blobs'), { recursive: true, withFileTypes: true }).catch(() => []);
    for (const e of blobFiles.filter((x) => x.isFile())) {
      const bytes = await readFile(join(e.parentPath, e.name));
      expect(bytes.includes(secret)).toBe(false);
      expect(bytes.includes('b3BlbnNzaC1rZXk')).toBe(false);
    }
  });
});

describe('blobs (SQLite)', () => {
  const files = async (): Promise<string[]> =>
    (await readdir(join(dir, 'blobs'), { recursive: true, withFileTypes: true }).catch(() => []))
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name));

  it('keeps a small blob in its row and a large one in a file, each verified on read, and says which was altered', async () => {
    const log = open();
    const text = '{"request":"a node’s instructions"}';
    const small = await log.putBlob(text, 'application/json');
    const large = await log.putBlob('x'.repeat(ROW_BLOB_MAX + 1), 'text/plain');
    expect(await log.putBlob(text)).toBe(small);
    expect((await log.getBlob(small)).toString()).toBe(text);
    expect((await log.getBlob(large)).length).toBe(ROW_BLOB_MAX + 1);
    // The small one made no file: the only file is the large one's, and its row holds no bytes.
    expect(await files()).toEqual([blobPath(join(dir, 'blobs'), large)]);
    const rows = log.db.prepare('SELECT hash, size, data IS NOT NULL AS inrow FROM blobs ORDER BY size').all();
    expect(rows).toEqual([
      { hash: small, size: Buffer.byteLength(text), inrow: 1 },
      { hash: large, size: ROW_BLOB_MAX + 1, inrow: 0 },
    ]);
    log.db.prepare("UPDATE blobs SET data = CAST('altered' AS BLOB) WHERE hash = ?").run(small);
    expect(await log.inspectBlob(small)).toMatchObject({
      intact: false,
      path: `${join(dir, 'audit.db')}#blobs/${small}`,
    });
    await expect(log.getBlob(small)).rejects.toMatchObject({ code: 'MSO_BLOB_CORRUPT' });
    await expect(log.getBlob('0'.repeat(64))).rejects.toMatchObject({ code: 'MSO_NOT_FOUND' });
    log.close();
  });

  it('reads the blob files of a database an older mso wrote, and keeps new small blobs in rows once migrated', async () => {
    // An older mso: its blobs table has no bytes column and every blob is a file.
    const log = open();
    const hash = await log.putBlob('x'.repeat(ROW_BLOB_MAX + 10));
    log.close();
    const old = new Database(join(dir, 'audit.db'));
    old.exec("ALTER TABLE blobs DROP COLUMN data; DELETE FROM _mso_migrations WHERE name = '007_blob_bytes_in_rows'");
    old.close();
    const reader = openAuditReader(deps, join(dir, 'audit.db'));
    const blobs = createBlobReader(deps, { db: reader.raw, blobsDir: join(dir, 'blobs'), where: 'audit.db' });
    expect((await blobs.getBlob(hash)).length).toBe(ROW_BLOB_MAX + 10);
    await reader.close();
    const again = open();
    expect(again.schema.applied).toEqual(['007_blob_bytes_in_rows']);
    const small = await again.putBlob('small');
    expect((await files()).length).toBe(1);
    expect((await again.getBlob(small)).toString()).toBe('small');
    again.close();
  });
});

describe('read-only queries', () => {
  it.each([
    'DELETE FROM events',
    "INSERT INTO tags (name) VALUES ('x')",
    'DROP TABLE runs',
    'PRAGMA user_version = 3',
    "ATTACH DATABASE 'x.db' AS x",
  ])('refuses %s', (text) => {
    open().close();
    const reader = openAuditReader(deps, join(dir, 'audit.db'));
    expect(() => runReadOnlyQuery(reader, text)).toThrow(expect.objectContaining({ code: 'MSO_AUDIT_READONLY' }));
    void reader.close();
  });
  it('answers a SELECT', () => {
    const log = open();
    log.appendEvent({ runId: 'r', type: 't' });
    log.close();
    const reader = openAuditReader(deps, join(dir, 'audit.db'));
    expect(runReadOnlyQuery(reader, 'SELECT count(*) AS n FROM events').rows).toEqual([{ n: 1 }]);
    void reader.close();
  });
});

describe('OTLP export', () => {
  it('is received by a loopback collector as GenAI spans', async () => {
    const bodies: unknown[] = [];
    const server = createServer((req, res) => {
      let data = '';
      req.on('data', (c: Buffer) => (data += c.toString()));
      req.on('end', () => {
        if (req.url === '/v1/traces' && req.method === 'POST') bodies.push(JSON.parse(data));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const settings = resolveSettings(
        { workspace: join(dir, 'ws'), observation: join(dir, 'obs'), observer: 't' },
        {},
        dir,
      );
      const app = createApp(
        { ...deps, logger: { warn: () => {}, info: () => {} }, env: {}, version: '9.9.9' },
        settings,
      );
      const run = await app.runs.create({ skillKey: 'msowd', caseSlug: 'otlp' });
      const ws = await app.open();
      const log = openAuditLog(deps, { file: ws.layout.auditDb, blobsDir: ws.layout.blobsDir });
      log.recordAttempt({
        attemptId: 'A1',
        runId: run.run_id,
        nodeId: 'T1',
        persona: 'quill',
        agent: 'claude-code',
        provider: 'anthropic',
        model: 'm-1',
        status: 'success',
        startedAt: '2026-11-21T10:00:00.000Z',
        endedAt: '2026-11-21T10:00:02.000Z',
        inputTokens: 100,
        outputTokens: 20,
        costUsd: 0.01,
        costSource: 'reported',
      });
      log.recordAttempt({
        attemptId: 'A2',
        runId: run.run_id,
        nodeId: 'T2',
        persona: 'lens',
        status: 'timeout',
        errorClass: 'timeout',
        errorMessage: 'no output',
        startedAt: '2026-11-21T10:00:02.000Z',
        endedAt: '2026-11-21T10:00:05.000Z',
      });
      log.recordAgentCall({
        callId: 'C1',
        attemptId: 'A1',
        runId: run.run_id,
        kind: 'llm',
        provider: 'anthropic',
        model: 'm-1',
        status: 'success',
        startedAt: '2026-11-21T10:00:00.100Z',
        endedAt: '2026-11-21T10:00:01.900Z',
        inputTokens: 100,
        outputTokens: 20,
      });
      log.close();
      const r = await app.audit.export({ runId: run.run_id, format: 'otlp', endpoint: `http://127.0.0.1:${port}` });
      expect(r.http_status).toBe(200);
      expect(bodies).toHaveLength(1);
      const spans = (
        bodies[0] as {
          resourceSpans: Array<{
            scopeSpans: Array<{
              spans: Array<{
                name: string;
                spanId: string;
                parentSpanId?: string;
                attributes: Array<{ key: string; value: Record<string, unknown> }>;
                status: { code: number };
              }>;
            }>;
          }>;
        }
      ).resourceSpans[0]!.scopeSpans[0]!.spans;
      expect(spans.map((s) => s.name)).toEqual([
        'invoke_workflow',
        'invoke_agent quill',
        'invoke_agent lens',
        'chat m-1',
      ]);
      const attr = (s: (typeof spans)[number], k: string) => s.attributes.find((a) => a.key === k)?.value;
      expect(attr(spans[1]!, 'gen_ai.usage.input_tokens')).toEqual({ intValue: '100' });
      expect(attr(spans[1]!, 'gen_ai.request.model')).toEqual({ stringValue: 'm-1' });
      expect(attr(spans[2]!, 'error.type')).toEqual({ stringValue: 'timeout' });
      expect(spans[2]!.status.code).toBe(2);
      expect(spans[3]!.parentSpanId).toBe(spans[1]!.spanId);
      expect(spans[1]!.parentSpanId).toBe(spans[0]!.spanId);
    } finally {
      server.close();
    }
  });
});

describe('durability', () => {
  it('keeps every committed event and passes integrity_check after the writer is SIGKILLed', async () => {
    const file = join(dir, 'audit.db');
    open().close();
    const child = spawn(
      process.execPath,
      [join(REPO_ROOT, 'test', 'fixtures', 'audit-writer.mjs'), file, join(dir, 'blobs')],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const committed: number[] = [];
    let buf = '';
    await new Promise<void>((resolveKill) => {
      child.stdout.on('data', (chunk: Buffer) => {
        buf += chunk.toString();
        const lines = buf.split('\n');
        buf = lines.pop() ?? '';
        for (const l of lines) if (l) committed.push(Number(l));
        if (committed.length >= 300 && !child.killed) {
          child.kill('SIGKILL');
          resolveKill();
        }
      });
    });
    await new Promise((r) => child.once('exit', r));
    const db = new Database(file);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const have = new Set((db.prepare('SELECT seq FROM events').all() as Array<{ seq: number }>).map((r) => r.seq));
    const missing = committed.filter((s) => !have.has(s));
    expect(missing).toEqual([]);
    expect(have.size).toBeGreaterThanOrEqual(committed.length);
    db.close();
  });
});
