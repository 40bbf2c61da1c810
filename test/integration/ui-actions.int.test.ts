import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeApp, type MsoApp } from '../../src/app/index.js';
import { openAuditLog } from '../../src/audit/index.js';
import { RunGraphSchema, type RunGraph } from '../../src/contracts/index.js';
import { nodePlatform } from '../../src/platform/index.js';
import { startUi, type UiServer } from '../../src/ui/index.js';

// The dashboard's actions and live plumbing over a real HTTP server: designed runs started from the page, failed
// nodes run again, a node's transcript, layouts, and event streams that release everything when clients go away.
const TOKEN = 'c'.repeat(40);
let dir: string;
let app: MsoApp;
let ui: UiServer;

const call = (path: string, init: RequestInit = {}): Promise<Response> =>
  fetch(new URL(path, ui.url), { ...init, headers: { 'x-mso-token': TOKEN, ...(init.headers ?? {}) } });
const post = (path: string, body: unknown = {}): Promise<Response> =>
  call(path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
const json = async <T>(r: Response | Promise<Response>): Promise<T> => (await (await r).json()) as T;
const graph = async (runId: string, q = ''): Promise<RunGraph> =>
  RunGraphSchema.parse(await json(call(`/api/runs/${runId}${q}`)));

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}
const ended = (runId: string): Promise<RunGraph> =>
  until(`${runId} to end`, async () => {
    const g = await graph(runId);
    return ['completed', 'failed', 'awaiting_human', 'cancelled'].includes(g.run.status) ? g : undefined;
  });

/** An app whose working directory, workspace, observation space and HOME are all in `folder`, initialised. */
async function appIn(folder: string): Promise<MsoApp> {
  const a = createNodeApp(
    { workspace: join(folder, 'workspace'), observation: join(folder, 'observation'), observer: 'tester' },
    { PATH: process.env['PATH'], HOME: join(folder, 'home') },
    folder,
    { warn: () => undefined, info: () => undefined },
    '0.0.0-test',
  );
  await a.workspace.init();
  return a;
}

/** Makes `folder` a git repository with one empty commit. */
function gitRepoIn(folder: string): void {
  for (const args of [
    ['init', '-q', '-b', 'main'],
    ['commit', '-q', '--allow-empty', '-m', 'base'],
  ])
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: folder });
}

/** A second server over an app in `folder` (see appIn), with a POST helper; close its `server` when done. */
async function serverIn(folder: string): Promise<{
  other: MsoApp;
  server: UiServer;
  at(path: string, body?: unknown): Promise<Response>;
}> {
  const other = await appIn(folder);
  const server = await startUi(other, { port: 0, token: TOKEN, version: '0.0.0-test', log: () => undefined });
  const at = (path: string, body: unknown = {}): Promise<Response> =>
    fetch(new URL(path, server.url), {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'x-mso-token': TOKEN, 'content-type': 'application/json' },
    });
  return { other, server, at };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mso-ui-actions-'));
  // The server's folder is a git repository (mso runs nowhere else unless asked to init one).
  gitRepoIn(dir);
  app = await appIn(dir);
  ui = await startUi(app, { port: 0, token: TOKEN, version: '0.0.0-test', log: () => undefined, pollMs: 50 });
}, 60_000);
afterAll(async () => {
  await ui?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('mso ui API: a designed run is reviewed, then started', () => {
  it('designs without starting, lays the DAG out on request, and starts it as mso resume does', async () => {
    await writeFile(
      join(dir, 'pair.yaml'),
      stringify({
        name: 'pair',
        nodes: [
          { id: 'a', label: 'a', command: 'echo a > a.md' },
          { id: 'b', label: 'b', command: 'echo b > b.md', gates: ['test -f b.md'] },
        ],
        edges: [{ from: 'a', to: 'b' }],
      }),
    );
    const r = await post('/api/designs', { workflow: 'pair.yaml' });
    expect(r.status).toBe(201);
    const { run_id } = await json<{ run_id: string }>(r);
    const designed = await graph(run_id);
    expect(designed.run.started).toBe(false);
    expect(designed.nodes.map((n) => [n.id, n.state, n.gates])).toEqual([
      ['a', 'pending', 0],
      ['b', 'pending', 1],
    ]);
    expect(designed.layout).toBeUndefined();
    // Shell commands cost nothing: the estimate is known and zero.
    expect(designed.estimate).toEqual({ usd: 0, nodes_without_history: 0 });
    const laid = await graph(run_id, '?layout=1');
    expect(laid.layout?.key).toBe(laid.topology);
    const [a, b] = laid.layout?.positions ?? [];
    expect(a?.[0]).toBe('a');
    // Top to bottom: the child is below its parent.
    expect((b?.[2] ?? 0) > (a?.[2] ?? 0)).toBe(true);
    // Nothing ran yet: no attempt, no worktree.
    expect((await app.audit.query(`SELECT count(*) AS n FROM attempts WHERE run_id = '${run_id}'`)).rows).toEqual([
      { n: 0 },
    ]);

    expect((await post(`/api/runs/${run_id}/start`)).status).toBe(202);
    const done = await ended(run_id);
    expect(done.run.status).toBe('completed');
    expect(done.nodes.map((n) => n.state)).toEqual(['done', 'done']);
    // Only a designed run starts; a bad workflow path is refused before anything is written.
    const again = await post(`/api/runs/${run_id}/start`);
    expect(again.status).toBe(400);
    const outside = await post('/api/designs', { workflow: '../outside.yaml' });
    expect(outside.status).toBe(400);
    // The reason is where the file is, not its name.
    expect(((await outside.json()) as { error: { message: string } }).error.message).toMatch(
      /outside .*: the dashboard reads workflow files only inside the folder it was started in/,
    );
    expect((await post('/api/designs', { workflow: 'plan.txt' })).status).toBe(400);
    expect(done.estimate).toBeNull();
  }, 60_000);
  it('estimates nothing for an agent that never ran here, and says so', async () => {
    await writeFile(
      join(dir, 'agentic.yaml'),
      stringify({
        name: 'agentic',
        nodes: [
          { id: 'plan', label: 'plan', command: 'echo p > p.md' },
          { id: 'write', label: 'write', agent: 'claude-code' },
        ],
        edges: [{ from: 'plan', to: 'write' }],
      }),
    );
    const { run_id } = await json<{ run_id: string }>(post('/api/designs', { workflow: 'agentic.yaml' }));
    expect((await graph(run_id)).estimate).toEqual({ usd: 0, nodes_without_history: 1 });
  });
  it('refuses to start a designed run no agent can do, as mso resume does, unless a person may do it', async () => {
    // A server of its own whose policy names an agent that cannot run here (its program does not exist).
    const folder = await mkdtemp(join(tmpdir(), 'mso-ui-manual-'));
    gitRepoIn(folder);
    const { other, server, at } = await serverIn(folder);
    try {
      await writeFile(
        join(folder, 'workspace', '.mso-context', 'config', 'policy.yaml'),
        'agents:\n  ghost: { kind: claude-code, command: /nonexistent/ghost }\n',
      );
      await writeFile(
        join(folder, 'ghostly.yaml'),
        stringify({ name: 'ghostly', nodes: [{ id: 'w', label: 'w', agent: 'ghost' }] }),
      );
      const { run_id } = await json<{ run_id: string }>(at('/api/designs', { workflow: 'ghostly.yaml' }));
      const refused = await at(`/api/runs/${run_id}/start`);
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('MSO_NO_USABLE_AGENT');
      expect((await at(`/api/runs/${run_id}/start`, { allow_manual: 'yes' })).status).toBe(400);
      expect((await at(`/api/runs/${run_id}/start`, { allow_manual: true })).status).toBe(202);
      const waiting = await until('the started run to wait for a person', async () => {
        const st = (await other.engine.status(run_id)) as { status?: string };
        return st.status === 'awaiting_human' ? st : undefined;
      });
      expect(waiting.status).toBe('awaiting_human');
      // A run made and started at once (POST /api/runs) takes the same opt-in, as mso run --allow-manual does.
      const direct = await at('/api/runs', { workflow: 'ghostly.yaml' });
      expect(direct.status).toBe(400);
      expect(((await direct.json()) as { error: { code: string } }).error.code).toBe('MSO_NO_USABLE_AGENT');
      expect((await at('/api/runs', { workflow: 'ghostly.yaml', allow_manual: 1 })).status).toBe(400);
      expect((await at('/api/designs', { workflow: 'ghostly.yaml', allow_manual: true })).status).toBe(400);
      const before = new Set((await other.runs.list()).map((r) => r.run_id));
      // A misspelt field is refused by name, as the CLI refuses an unknown flag, and nothing starts.
      const misspelt = await at('/api/runs', { workflow: 'ghostly.yaml', allow_manaul: true });
      expect(misspelt.status).toBe(400);
      expect(((await misspelt.json()) as { error: { message: string } }).error.message).toMatch(
        /allow_manaul.*is not a field of this request \(it takes goal, workflow, init, allow_manual\)/,
      );
      const extra = await at(`/api/runs/${run_id}/resume`, { now: true });
      expect(extra.status).toBe(400);
      expect(((await extra.json()) as { error: { message: string } }).error.message).toMatch(/now.*it takes none/);
      expect((await other.runs.list()).map((r) => r.run_id).filter((r) => !before.has(r))).toEqual([]);
      expect((await at('/api/runs', { workflow: 'ghostly.yaml', allow_manual: true })).status).toBe(202);
      await until('the direct run to wait for a person', async () => {
        for (const r of await other.runs.list()) if (!before.has(r.run_id) && r.status === 'awaiting_human') return r;
        return undefined;
      });
    } finally {
      await server.close();
      await rm(folder, { recursive: true, force: true });
    }
  }, 60_000);
  it('refuses to start a designed run outside a repository unless asked to init one, then starts it', async () => {
    // A second server whose folder is no git repository: the designed run has nothing to branch from.
    const bare = await mkdtemp(join(tmpdir(), 'mso-ui-bare-'));
    const { other, server, at } = await serverIn(bare);
    try {
      await writeFile(
        join(bare, 'one.yaml'),
        stringify({ name: 'one', nodes: [{ id: 'a', label: 'a', command: 'echo a > a.md' }], edges: [] }),
      );
      const { run_id } = await json<{ run_id: string }>(at('/api/designs', { workflow: 'one.yaml' }));
      const refused = await at(`/api/runs/${run_id}/start`);
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/--init/);
      expect((await at(`/api/runs/${run_id}/start`, { init: 'yes' })).status).toBe(400);
      // Nothing ran: the run is still only designed.
      expect(
        (await other.audit.query(`SELECT count(*) AS n FROM events WHERE run_id = '${run_id}' AND type = 'node.state'`))
          .rows,
      ).toEqual([{ n: 0 }]);
      expect((await at(`/api/runs/${run_id}/start`, { init: true })).status).toBe(202);
      const done = await until('the started run to end', async () => {
        const s = (await other.engine.status(run_id)) as { status?: string };
        return ['completed', 'failed'].includes(s.status ?? '') ? s : undefined;
      });
      expect(done.status).toBe('completed');
    } finally {
      await server.close();
      await rm(bare, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('mso ui API: re-run failed nodes', () => {
  it('runs the failed node and its descendants again as a new linked run, as mso rerun --failed does', async () => {
    const fixed = join(dir, 'fixed');
    await writeFile(
      join(dir, 'flaky.yaml'),
      stringify({
        name: 'flaky',
        nodes: [
          { id: 'base', label: 'base', command: 'echo base > base.md' },
          { id: 'shaky', label: 'shaky', command: `test -f '${fixed}' && echo ok > shaky.md`, max_retry: 0 },
          { id: 'after', label: 'after', command: 'echo after > after.md' },
        ],
        edges: [
          { from: 'base', to: 'shaky' },
          { from: 'shaky', to: 'after' },
        ],
      }),
    );
    const first = await app.engine.run({ workflow: join(dir, 'flaky.yaml') });
    expect(first.status).toBe('failed');
    await writeFile(fixed, 'yes');
    const r = await post(`/api/runs/${first.run_id}/rerun`);
    expect(r.status).toBe(202);
    const { run_id, rerun_of } = await json<{ run_id: string; rerun_of: string }>(r);
    expect(rerun_of).toBe(first.run_id);
    expect(run_id).not.toBe(first.run_id);
    const second = await ended(run_id);
    expect(second.run.status).toBe('completed');
    expect(second.run.tags).toContain('rerun');
    const link = await app.audit.query(
      `SELECT payload FROM events WHERE run_id = '${run_id}' AND type = 'run.replay_of'`,
    );
    expect(JSON.parse((link.rows[0] as { payload: string }).payload)).toMatchObject({
      of: first.run_id,
      rerun: ['shaky'],
    });
    // `base` was reused, not run again.
    const attempts = await app.audit.query(`SELECT node_id FROM attempts WHERE run_id = '${run_id}' ORDER BY node_id`);
    expect(attempts.rows).toEqual([{ node_id: 'after' }, { node_id: 'shaky' }]);
    // A run with no failed node is refused, with the reason.
    const none = await post(`/api/runs/${run_id}/rerun`);
    expect(none.status).toBe(400);
    expect((await json<{ error: { message: string } }>(none)).error.message).toContain('no failed node');
    // Crafted ids are refused before anything reads a path.
    expect((await post('/api/runs/..%2F..%2Fx/rerun')).status).toBe(400);
    expect((await post('/api/runs/..%2F..%2Fx/start')).status).toBe(400);
  }, 60_000);
});

describe('mso ui API: a run completed without a failed branch', () => {
  it('gives the reason the run gave: what its merge went on without', async () => {
    await writeFile(
      join(dir, 'past.yaml'),
      stringify({
        name: 'past',
        nodes: [
          { id: 'x', label: 'x', command: 'echo x > x.md' },
          { id: 'y', label: 'y', command: 'echo y > y.md' },
          { id: 'z', label: 'z', command: 'exit 1', max_retry: 0 },
          {
            id: 'join',
            label: 'join',
            command: 'echo j > j.md',
            merge_policy: { strategy: 'score_weighted', quorum: 2 },
          },
        ],
        edges: [
          { from: 'x', to: 'join' },
          { from: 'y', to: 'join' },
          { from: 'z', to: 'join' },
        ],
      }),
    );
    const r = await app.engine.run({ workflow: join(dir, 'past.yaml') });
    expect(r.status).toBe('completed');
    const g = await graph(r.run_id);
    expect(g.run.status).toBe('completed');
    expect(g.reason).toBe('join done without z (failed: process: exit 1)');
  }, 60_000);
});

describe('mso ui API: transcript and live deltas', () => {
  it("gives a node's log as mso logs does, and nothing for a node that has not run", async () => {
    await writeFile(
      join(dir, 'say.yaml'),
      stringify({ name: 'say', nodes: [{ id: 'say', label: 'say', command: 'echo hi > hi.md' }], edges: [] }),
    );
    const s = await app.engine.run({ workflow: join(dir, 'say.yaml') });
    const logs = await json<{ entries: Array<{ kind: string; text: string }> }>(
      call(`/api/runs/${s.run_id}/nodes/say/logs`),
    );
    expect(logs.entries.map((e) => e.kind)).toContain('start');
    expect(logs.entries.at(-1)).toMatchObject({ kind: 'end', text: 'success' });
    expect((await call(`/api/runs/${s.run_id}/nodes/nope/logs`)).status).toBe(404);
    expect((await call(`/api/runs/${s.run_id}/nodes/..%2F..%2Fx/logs`)).status).toBe(400);
  });
  it("streams a node's new state with its event, newer than the graph's sequence number", async () => {
    const runs = await json<{ runs: Array<{ run_id: string }> }>(call('/api/runs'));
    const runId = runs.runs[0]?.run_id as string;
    const before = await graph(runId);
    const controller = new AbortController();
    const res = await call('/api/events', { signal: controller.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('event: hello')) text += (await reader.read()).value ?? '';
    const ws = await app.open(false);
    const other = openAuditLog(nodePlatform(), { file: ws.layout.auditDb, blobsDir: ws.layout.blobsDir });
    const node = before.nodes[0]?.id as string;
    const seq = other.appendEvent({
      runId,
      type: 'node.state',
      nodeId: node,
      payload: { state: 'running', detail: 'again' },
    });
    other.close();
    while (!text.includes(`"seq":${seq}`)) text += (await reader.read()).value ?? '';
    const line = text.split('\n').find((l) => l.includes(`"seq":${seq}`)) as string;
    const events = JSON.parse(line.replace(/^data: /, '')) as Array<Record<string, unknown>>;
    expect(events.find((e) => e['seq'] === seq)).toMatchObject({ node_id: node, state: 'running', detail: 'again' });
    expect(seq).toBeGreaterThan(before.seq);
    controller.abort();
  });
});

describe('mso ui API: event streams end with their clients', () => {
  it('holds no subscription or timer once the clients of N streams have disconnected', async () => {
    const health = (): Promise<{ streams: number; subscribers: number; timers: number }> => json(call('/api/health'));
    await until('no stream from earlier tests', async () => ((await health()).streams === 0 ? true : undefined));
    const open = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const controller = new AbortController();
        const res = await call('/api/events', { signal: controller.signal });
        const reader = (res.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
        let text = '';
        while (!text.includes('event: hello')) text += (await reader.read()).value ?? '';
        return { controller, reader };
      }),
    );
    expect(await health()).toMatchObject({ streams: 6, subscribers: 6, timers: 6 });
    // Half go away by dropping the connection, half by cancelling the body they read.
    for (const [i, s] of open.entries()) {
      if (i % 2 === 0) s.controller.abort();
      else await s.reader.cancel();
    }
    const after = await until('the streams to end', async () => {
      const h = await health();
      return h.streams === 0 ? h : undefined;
    });
    expect(after).toMatchObject({ streams: 0, subscribers: 0, timers: 0 });
  }, 30_000);
});
