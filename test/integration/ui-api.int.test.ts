import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeApp, type MsoApp } from '../../src/app/index.js';
import { openAuditLog } from '../../src/audit/index.js';
import {
  InboxItemSchema,
  NodeDetailSchema,
  RunCardSchema,
  RunGraphSchema,
  type InboxItem,
  type RunGraph,
} from '../../src/contracts/index.js';
import { nodePlatform } from '../../src/platform/index.js';
import { createUiHandler, startUi, type UiHandler } from '../../src/ui/index.js';
import { MARKUP_NAME, writeQuorumWorkflow } from '../helpers/ui.js';
import { auditStores, pgSchema } from '../helpers/pg.js';

const TOKEN = 'a'.repeat(40);
let dir: string;
let app: MsoApp;
let ui: UiHandler;
let runId: string;
/** The PostgreSQL store while the suite runs on it. */
let schema: ReturnType<typeof pgSchema> | null = null;
const platform = nodePlatform();
const quiet = { warn: () => undefined, info: () => undefined };

function req(
  path: string,
  init: RequestInit & { token?: string | null | undefined; host?: string } = {},
): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.token !== null) headers.set('x-mso-token', init.token ?? TOKEN);
  headers.set('host', init.host ?? '127.0.0.1:4317');
  return Promise.resolve(ui.fetch(new Request(`http://127.0.0.1:4317${path}`, { ...init, headers })));
}
const post = (path: string, body: unknown = {}, token?: string | null): Promise<Response> =>
  req(path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, token });
const json = async <T>(r: Response | Promise<Response>): Promise<T> => (await (await r).json()) as T;

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe.each(auditStores())('the dashboard API on the %s audit store', (store) => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mso-ui-api-'));
    if (store === 'postgres') {
      await platform.preparePostgres?.();
      schema = pgSchema('mso_ui');
    }
    const env = {
      PATH: process.env['PATH'],
      HOME: join(dir, 'home'),
      ...(schema ? { MSO_AUDIT_URL: schema.url } : {}),
    };
    app = createNodeApp(
      { workspace: join(dir, 'workspace'), observation: join(dir, 'observation'), observer: 'tester' },
      env,
      dir,
      quiet,
      '0.0.0-test',
    );
    await app.workspace.init();
    // The folder is no git repository: the run starts from a new, empty one (init).
    const summary = await app.engine.run({ workflow: await writeQuorumWorkflow(dir), init: true });
    expect(summary.status).toBe('awaiting_human');
    runId = summary.run_id;
    const web = join(dir, 'web');
    await mkdir(join(web, 'assets'), { recursive: true });
    await writeFile(join(web, 'index.html'), '<!doctype html><title>mso</title>');
    await writeFile(join(web, 'assets', 'app.js'), 'console.log(1)');
    ui = await createUiHandler(app, {
      token: TOKEN,
      webRoot: web,
      version: '0.0.0-test',
      log: () => undefined,
      pollMs: 50,
    });
  }, 60_000);
  afterAll(async () => {
    await ui?.close();
    schema?.drop();
    schema = null;
    await rm(dir, { recursive: true, force: true });
  });

  describe(`mso ui API (${store}): security`, () => {
    it.each([
      ['GET', '/api/runs'],
      ['GET', `/api/runs/RUN/nodes/ok`],
      ['GET', '/api/inbox'],
      ['GET', '/api/events'],
      ['POST', '/api/runs/RUN/hitl/HITL-0001/approve'],
      ['POST', '/api/runs/RUN/cancel'],
      ['POST', '/api/runs/RUN/resume'],
      ['POST', '/api/runs'],
      ['POST', '/api/proposals/P-1/accept'],
      ['GET', '/api/runs/RUN/nodes/ok/logs'],
      ['GET', '/api/health'],
      ['POST', '/api/runs/RUN/rerun'],
      ['POST', '/api/runs/RUN/start'],
      ['POST', '/api/designs'],
    ])('refuses %s %s without the token, and with a wrong one (401), changing nothing', async (method, path) => {
      const url = path.replace('RUN', runId);
      for (const token of [null, 'b'.repeat(40), TOKEN.slice(1)]) {
        const r = await req(url, { method, token, ...(method === 'POST' ? { body: '{}' } : {}) });
        expect(r.status).toBe(401);
        expect(((await r.json()) as { error: { code: string } }).error.code).toBe('MSO_UI_TOKEN');
      }
      const item = (await app.dashboard.inbox()).find((i) => i.run_id === runId);
      expect(item?.status).toBe('pending');
    });
    it('does not take the token from a cookie or the query string', async () => {
      const r1 = await req('/api/runs', { token: null, headers: { cookie: `x-mso-token=${TOKEN}` } });
      const r2 = await req(`/api/runs?token=${TOKEN}`, { token: null });
      expect([r1.status, r2.status]).toEqual([401, 401]);
    });
    it('refuses a foreign Host header on a loopback bind (DNS rebinding), even with the token', async () => {
      expect((await req('/api/runs', { host: 'evil.example:4317' })).status).toBe(403);
      expect((await req('/', { host: 'evil.example' })).status).toBe(403);
      expect((await req('/api/runs', { host: 'localhost:4317' })).status).toBe(200);
    });
    it('serves the page without the token, with a strict content security policy', async () => {
      const r = await req('/', { token: null });
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toContain('text/html');
      expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(await (await req('/assets/app.js', { token: null })).text()).toBe('console.log(1)');
    });
    it.each([
      '/api/runs/..%2F..%2Fetc%2Fpasswd',
      '/api/runs/%2Fetc%2Fpasswd',
      '/api/runs/20261127-msowd-x%00',
      '/api/runs/RUN/nodes/..%2F..%2Fmanifest.json',
      '/api/runs/RUN/nodes/..',
      '/api/runs/RUN/timeline/../../x',
      '/api/runs/..%2Fx/tickets',
    ])('refuses the crafted id in %s with 400 (or 404), never serving a file', async (path) => {
      const r = await req(path.replace('RUN', runId));
      expect([400, 404]).toContain(r.status);
      const text = await r.text();
      expect(text).not.toContain('root:');
      expect(text).not.toContain('"status":"awaiting_human"');
      if (r.status === 400) expect(JSON.parse(text).error.code).toBe('MSO_INVALID_ARGUMENT');
    });
    it('answers 400 for a crafted item or proposal id in a decision, and records nothing', async () => {
      const bad = await post(`/api/runs/${runId}/hitl/..%2F..%2Fmanifest/approve`, { note: 'x' });
      expect(bad.status).toBe(400);
      expect((await post('/api/proposals/..%2Fx/accept')).status).toBe(400);
      expect((await req('/api/proposals/..%2F..%2Fpolicy')).status).toBe(400);
      expect((await req('/api/proposals/IP-20990101-001')).status).toBe(404);
      expect((await post(`/api/runs/..%2F${runId}/cancel`)).status).toBe(400);
      const item = (await app.dashboard.inbox()).find((i) => i.run_id === runId);
      expect(item?.status).toBe('pending');
    });
    it.each([
      '/../package.json',
      '/assets/..%2F..%2Fpackage.json',
      '/index.html/..%2F..%2Fpackage.json',
      '/etc/passwd',
    ])('serves no file outside the built page for %s', async (path) => {
      const r = await req(path, { token: null });
      expect(r.status).toBe(404);
      expect(await r.text()).not.toContain('"name": "mso"');
    });
    it('refuses a bad body, status filter and an unknown run with clear errors', async () => {
      const notJson = await req(`/api/runs/${runId}/hitl/HITL-0001/approve`, { method: 'POST', body: 'nope' });
      expect(notJson.status).toBe(400);
      expect((await post(`/api/runs/${runId}/hitl/HITL-0001/approve`, { note: 5 })).status).toBe(400);
      expect((await post(`/api/runs/${runId}/hitl/HITL-0001/approve`, { note: 'x'.repeat(5000) })).status).toBe(400);
      expect((await req('/api/runs?status=weird')).status).toBe(400);
      expect((await req('/api/runs/20261127-msowd-missing')).status).toBe(404);
      expect((await post('/api/runs', { workflow: '../../etc/passwd.yaml' })).status).toBe(400);
      expect((await post('/api/runs', { goal: 'a', workflow: 'b.yaml' })).status).toBe(400);
      expect((await req('/api/nothing-here')).status).toBe(404);
    });
    it('refuses to start on a non-loopback host without a token', async () => {
      await expect(
        startUi(app, { host: '0.0.0.0', port: 0, version: 'x', log: () => undefined }),
      ).rejects.toMatchObject({
        code: 'MSO_USAGE',
      });
      await expect(
        startUi(app, { host: '0.0.0.0', port: 0, token: 'short', version: 'x', log: () => undefined }),
      ).rejects.toMatchObject({ code: 'MSO_USAGE' });
    });
  });

  describe(`mso ui API (${store}): reads`, () => {
    it('lists runs with progress, cost, duration and pending human items; filters by status', async () => {
      const { runs } = await json<{ runs: unknown[] }>(req('/api/runs'));
      const card = RunCardSchema.parse(runs.find((r) => (r as { run_id: string }).run_id === runId));
      expect(card).toMatchObject({
        status: 'awaiting_human',
        nodes_total: 4,
        nodes_done: 2,
        nodes_failed: 1,
        pending_human: 1,
      });
      expect((await json<{ runs: unknown[] }>(req('/api/runs?status=completed'))).runs).toEqual([]);
    });
    it('gives the DAG with states, the merge quorum and the node waiting for a person', async () => {
      const g = RunGraphSchema.parse(await json(req(`/api/runs/${runId}`)));
      const node = (id: string) => g.nodes.find((n) => n.id === id);
      expect(g.edges).toHaveLength(4);
      expect(node('join')).toMatchObject({
        type: 'merge',
        merge: { strategy: 'score_weighted', quorum: 2 },
        waiting_on_human: true,
      });
      expect(node('broken')?.state).toBe('failed');
      expect(node('ok')?.ticket?.status).toBe('done');
      expect(g.pending[0]).toMatchObject({ id: 'HITL-0001', kind: 'quorum_missed' });
    });
    it("gives a node's commit, tree hash and diff, with a markup file name as plain JSON text", async () => {
      const r = await req(`/api/runs/${runId}/nodes/ok`);
      expect(r.headers.get('content-type')).toContain('application/json');
      const d = NodeDetailSchema.parse(await r.json());
      expect(d.commit).toMatch(/^[0-9a-f]{40}$/);
      expect(d.tree_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(d.files).toContain(`outputs/${MARKUP_NAME}`);
      expect(d.diff).toContain(`+++ b/outputs/${MARKUP_NAME}`);
      expect(d.diff).toContain('+<script>alert(2)</script>');
      expect(d.attempts[0]).toMatchObject({ agent: 'shell', status: 'success' });
    });
    it("gives a failed node's error and its gate's output", async () => {
      const d = NodeDetailSchema.parse(await json(req(`/api/runs/${runId}/nodes/broken`)));
      expect(d.failures[0]).toMatchObject({ error_class: 'gate_failed' });
      expect(d.gates[0]).toMatchObject({ status: 'failure', exit_code: 4 });
      expect(d.gates[0]?.message).toContain('gate says no: 3 tests failed');
      expect((await req(`/api/runs/${runId}/nodes/nope`)).status).toBe(404);
    });
    it('gives the timeline, the tickets and the proposals', async () => {
      const t = await json<{ entries: Array<{ kind: string; node: string | null }> }>(
        req(`/api/runs/${runId}/timeline`),
      );
      expect(t.entries.some((e) => e.kind === 'human' && e.node === 'join')).toBe(true);
      const k = await json<{ tickets: Array<{ node_id: string; status: string }> }>(req(`/api/runs/${runId}/tickets`));
      expect(k.tickets.map((x) => x.node_id).sort()).toEqual(['broken', 'join', 'ok', 'root']);
      expect(Array.isArray((await json<{ proposals: unknown[] }>(req('/api/proposals'))).proposals)).toBe(true);
    });
  });

  describe(`mso ui API (${store}): live events and decisions`, () => {
    it('streams audit events appended by another connection as Server-Sent Events', async () => {
      const res = await req('/api/events');
      expect(res.headers.get('content-type')).toContain('text/event-stream');
      const reader = (res.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
      let text = '';
      while (!text.includes('event: hello')) text += (await reader.read()).value ?? '';
      const ws = await app.open(false);
      const other = openAuditLog(platform, {
        file: ws.layout.auditDb,
        blobsDir: ws.layout.blobsDir,
        url: schema?.url,
      });
      const seq = other.appendEvent({ runId, type: 'test.ping', payload: {} });
      other.close();
      while (!text.includes(`"seq":${seq}`)) text += (await reader.read()).value ?? '';
      expect(text).toMatch(/event: audit\ndata: \[.*"type":"test.ping"/);
      await reader.cancel();
    });
    it('approves from the inbox as mso approve records it, then resumes the run to its end', async () => {
      const { items } = await json<{ items: InboxItem[] }>(req('/api/inbox'));
      const item = InboxItemSchema.parse(items.find((i) => i.run_id === runId));
      expect(item).toMatchObject({ id: 'HITL-0001', run_status: 'awaiting_human' });
      const r = await post(`/api/runs/${runId}/hitl/HITL-0001/approve`, { note: 'one branch is enough' });
      expect(r.status).toBe(200);
      expect(await r.json()).toMatchObject({
        changed: true,
        resume: true,
        resumed: true,
        item: { status: 'approved' },
      });
      const g = await until('the run to finish', async () => {
        const x = await json<RunGraph>(req(`/api/runs/${runId}`));
        return ['completed', 'failed'].includes(x.run.status) ? x : undefined;
      });
      expect(g.nodes.find((n) => n.id === 'join')?.state).toBe('done');
      const decided = await app.audit.query(
        "SELECT approved_by, decision_content FROM decisions WHERE title LIKE 'HITL-0001 approved%'",
      );
      expect(decided.rows).toEqual([{ approved_by: 'tester', decision_content: 'one branch is enough' }]);
      // A second approval changes nothing and resumes nothing.
      expect(await json(post(`/api/runs/${runId}/hitl/HITL-0001/approve`, {}))).toMatchObject({
        changed: false,
        resumed: false,
      });
      expect((await json<{ items: InboxItem[] }>(req('/api/inbox'))).items).toEqual([]);
    }, 60_000);
    it('refuses to cancel a finished run (409) and records no request', async () => {
      // Its body is checked first: a reason must be text, and no other field is taken.
      expect((await post(`/api/runs/${runId}/cancel`, { reason: 5 })).status).toBe(400);
      expect((await post(`/api/runs/${runId}/cancel`, { why: 'x' })).status).toBe(400);
      const r = await post(`/api/runs/${runId}/cancel`, { reason: 'not needed' });
      expect(r.status).toBe(409);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('MSO_RUN_INVALID_TRANSITION');
      const rows = await app.audit.query(
        `SELECT count(*) AS n FROM events WHERE run_id = '${runId}' AND type = 'run.cancel_requested'`,
      );
      expect(rows.rows).toEqual([{ n: 0 }]);
    });
    it('starts a new run from a workflow file inside the working directory; it appears in the list', async () => {
      const before = (await json<{ runs: unknown[] }>(req('/api/runs'))).runs.length;
      await writeQuorumWorkflow(dir, 'second');
      // No repository around the server: refused at once, naming the way out, and nothing started.
      const refused = await post('/api/runs', { workflow: 'second.yaml' });
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(
        /not inside a git repository: pass --init \(MCP and dashboard: init\)/,
      );
      expect((await json<{ runs: unknown[] }>(req('/api/runs'))).runs.length).toBe(before);
      expect((await post('/api/runs', { workflow: 'second.yaml', init: 'yes' })).status).toBe(400);
      const started = await post('/api/runs', { workflow: 'second.yaml', init: true });
      expect(started.status).toBe(202);
      // Answered with the new run's id, for a caller to follow it.
      const { run_id: startedId } = (await started.json()) as { run_id: string };
      expect(startedId).toMatch(/second/);
      const runs = await until('the new run', async () => {
        const r = (await json<{ runs: Array<{ run_id: string; status: string }> }>(req('/api/runs'))).runs;
        return r.length > before && r.some((x) => x.run_id.includes('second') && x.status === 'awaiting_human')
          ? r
          : undefined;
      });
      expect(runs).toHaveLength(before + 1);
      // An active run that no live coordinator holds shows as interrupted (resumable). Its coordinator, this process's
      // job, lets go of the run just after recording that it waits for a person.
      const second = runs.find((x) => x.run_id.includes('second'))?.run_id as string;
      expect(second).toBe(startedId);
      await until('the coordinator let go', async () =>
        RunGraphSchema.parse(await json(req(`/api/runs/${second}`))).coordinator_alive ? undefined : true,
      );
      await (await app.open(false)).runs.setStatus(second, 'active');
      const g = RunGraphSchema.parse(await json(req(`/api/runs/${second}`)));
      expect(g.run.status).toBe('interrupted');
      expect(g.coordinator_alive).toBe(false);
    }, 60_000);
  });
});
