import { connectMso } from '../helpers/mcp.js';
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { parse as parseToml } from 'smol-toml';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { llmPlannerPolicy } from '../helpers/agents.js';
import { MSO_BIN, makeSandbox, type Sandbox } from '../helpers/cli.js';
import { startFakeLlmServer, type FakeLlmServer } from '../helpers/fake-llm-server.js';

let llm: FakeLlmServer;
let sb: Sandbox;
let client: Client;
beforeAll(async () => {
  llm = await startFakeLlmServer();
});
afterAll(async () => {
  await llm.close();
});
beforeEach(async () => {
  sb = await makeSandbox();
  await sb.run(['init']);
  await writeFile(join(sb.dir, 'workspace', '.mso-context', 'config', 'policy.yaml'), llmPlannerPolicy(llm.url));
  client = await connectServer('mso-test');
});
/** A client connected to a fresh `mso mcp` server process in the sandbox. */
async function connectServer(name: string): Promise<Client> {
  return connectMso(name, sb);
}
afterEach(async () => {
  await client.close();
  await sb.cleanup();
});

type Json = Record<string, unknown>;
const call = async (name: string, args: Json): Promise<{ data: Json; isError: boolean; text: string }> => {
  const r = await client.callTool({ name, arguments: args });
  const text = (r.content as Array<{ text: string }>)[0]?.text ?? '';
  return { data: (r.structuredContent ?? {}) as Json, isError: r.isError === true, text };
};
async function waitUntil(runId: string, done: (s: Json) => boolean): Promise<Json> {
  for (let i = 0; i < 120; i++) {
    const s = await call('run_status', { run_id: runId, wait_seconds: 2 });
    if (done(s.data)) return s.data;
  }
  throw new Error(`run ${runId} did not get there`);
}
/** Polls the audit log until a run has `n` events of a type (or about 30 s pass); returns the count. */
async function eventsReach(runId: string, type: string, n: number): Promise<number> {
  let count = 0;
  for (let i = 0; i < 120 && count < n; i++) {
    const q = await call('audit_query', {
      sql: `SELECT count(*) AS n FROM events WHERE run_id = '${runId}' AND type = '${type}'`,
    });
    count = Number((q.data['rows'] as Json[])[0]?.['n']);
    if (count < n) await new Promise((r) => setTimeout(r, 250));
  }
  return count;
}
const subtasks = (list: Array<[string, string, string[], string?]>) => ({
  kind: 'ok' as const,
  text: JSON.stringify({
    subtasks: list.map(([id, description, dependencies, complexity]) => ({
      id,
      description,
      dependencies,
      complexity: complexity ?? 'low',
      suggestedRole: 'arch',
    })),
  }),
});

describe('mso mcp through the official client', () => {
  it('lists a small tool set with input and output schemas, and resources', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      'audit_query',
      'decide',
      'design',
      'observe',
      'orchestrate',
      'run_cancel',
      'run_explain',
      'run_replay',
      'run_resume',
      'run_status',
      'tickets',
    ]);
    for (const t of tools) {
      expect(t.inputSchema.type).toBe('object');
      expect(t.outputSchema?.type).toBe('object');
    }
    const orchestrate = tools.find((t) => t.name === 'orchestrate');
    expect(Object.keys((orchestrate?.inputSchema.properties ?? {}) as object)).toEqual(
      expect.arrayContaining(['goal', 'pattern', 'context', 'config']),
    );
  });
  it('orchestrates a hierarchical goal with the LLM planner, runs it in the background to completion, and answers audit queries', async () => {
    llm.script(
      'openai',
      subtasks([
        ['plan', 'Plan the change', []],
        ['build', 'Build the feature', ['plan'], 'high'],
        ['check', 'Review the feature', ['build']],
      ]),
      subtasks([
        ['code', 'Write the code', []],
        ['tests', 'Write the tests', ['code']],
      ]),
    );
    const progress: string[] = [];
    const r = await client.callTool(
      {
        name: 'orchestrate',
        arguments: { goal: 'Add a settings page', pattern: 'hierarchical', config: { maxDepth: 2 } },
      },
      { onprogress: (p) => progress.push(String(p.message)) },
    );
    const started = r.structuredContent as Json;
    expect(started, JSON.stringify(r)).toMatchObject({ status: 'running' });
    expect(progress.length, JSON.stringify(r)).toBeGreaterThan(0);
    const runId = String(started['run_id']);
    const final = await waitUntil(
      runId,
      (s) => ['completed', 'failed', 'awaiting_human'].includes(String(s['status'])) && s['running_here'] === false,
    );
    expect(final, JSON.stringify(final)).toMatchObject({ status: 'completed', nodes: { done: 4 } });
    const q = await call('audit_query', {
      sql: `SELECT node_id FROM events WHERE run_id = '${runId}' AND type = 'node.committed' ORDER BY seq`,
    });
    expect((q.data['rows'] as Json[]).map((row) => row['node_id'])).toEqual([
      'plan',
      'build.code',
      'build.tests',
      'check',
    ]);
    const planner = await call('audit_query', {
      sql: `SELECT json_extract(payload, '$.planner.decomposed') AS d FROM events WHERE run_id = '${runId}' AND type = 'design.topology'`,
    });
    expect((planner.data['rows'] as Json[])[0]?.['d']).toBe('["build"]');
    const plan = await client.readResource({ uri: `mso://runs/${runId}/plan` });
    expect(JSON.parse((plan.contents[0] as { text: string }).text).plan.execution_graph['build.code']).toBeTruthy();
    const timeline = await client.readResource({ uri: `mso://runs/${runId}/timeline` });
    const entries = JSON.parse((timeline.contents[0] as { text: string }).text).entries as Json[];
    expect(entries.find((e) => e['kind'] === 'ready' && e['node'] === 'build.tests')?.['text']).toMatch(/build\.code/);
    const readme = await client.readResource({ uri: `mso://runs/${runId}/readme` });
    expect(readme.contents[0]).toMatchObject({ mimeType: 'text/markdown', text: expect.stringContaining(runId) });
    const runs = await client.readResource({ uri: 'mso://runs' });
    expect((runs.contents[0] as { text: string }).text).toContain(runId);
    const tickets = await call('tickets', { run_id: runId, action: 'list' });
    expect((tickets.data['tickets'] as Json[]).every((t) => t['status'] === 'done')).toBe(true);

    // Reproduce and explain it through the same server: an offline replay, then the two runs compared.
    const requests = llm.requests.length;
    const replay = await call('run_replay', { run_id: runId });
    expect(replay.isError, replay.text).toBe(false);
    expect(replay.data).toMatchObject({ replay_of: runId, mode: 'offline', identical: true, divergence: null });
    expect(llm.requests.length).toBe(requests);
    const explained = await call('run_explain', { run_id: String(replay.data['run_id']), compare_to: runId });
    expect(explained.data['provenance']).toMatchObject({ hashes: { plan: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    expect((explained.data['timeline'] as Json[]).some((e) => e['kind'] === 'outcome')).toBe(true);
    const diff = explained.data['diff'] as { nodes: Array<{ differs: string[] }>; plan: { nodes_changed: unknown[] } };
    expect(diff.plan.nodes_changed).toEqual([]);
    expect(diff.nodes.every((n) => !n.differs.includes('state') && !n.differs.includes('output_hash'))).toBe(true);
    const missing = await call('run_replay', { run_id: 'no-such-run' });
    expect(missing.isError).toBe(true);
  });
  it('stops at a human gate, takes the decision through decide, and resumes to completion', async () => {
    const r = await call('orchestrate', {
      goal: 'Compare two caching strategies',
      config: { risk: 'high', planner: 'heuristic' },
    });
    const runId = String(r.data['run_id']);
    let s = await waitUntil(runId, (x) => x['status'] === 'awaiting_human' && x['running_here'] === false);
    for (let i = 0; i < 5 && s['status'] === 'awaiting_human'; i++) {
      // Each waiting item one field at a time: a host needs not parse 'HITL-0001: title'.
      const waiting = s['waiting'] as Array<{ item: string; kind: string; decide: string }>;
      expect(waiting[0]).toMatchObject({ item: expect.stringMatching(/^HITL-\d{4}$/), decide: expect.any(String) });
      const item = waiting[0]?.item as string;
      const d = await call('decide', { run_id: runId, item, decision: 'approve', note: 'looks fine' });
      expect(d.data).toMatchObject({ status: 'approved', changed: true, conflict: false, resumed: true });
      s = await waitUntil(runId, (x) => x['running_here'] === false && x['status'] !== 'active');
    }
    expect(s['status']).toBe('completed');
    // Rejecting an item approved already changes nothing, says so, and resumes nothing.
    const late = await call('decide', { run_id: runId, item: 'HITL-0001', decision: 'reject' });
    expect(late.data).toMatchObject({ status: 'approved', changed: false, conflict: true, resumed: false });
  });
  it('cancels a run in the background', async () => {
    const r = await call('orchestrate', { goal: '#scenario:stall Write the notes', config: { planner: 'heuristic' } });
    const runId = String(r.data['run_id']);
    expect(await eventsReach(runId, 'agent.spawned', 1)).toBe(1);
    const c = await call('run_cancel', { run_id: runId });
    expect(c.data).toMatchObject({ status: 'cancelled' });
    const s = await call('run_status', { run_id: runId });
    expect(s.data['status']).toBe('cancelled');
  });
  it('cancels its runs cleanly when the host leaves, and a new server resumes them', async () => {
    const r = await call('orchestrate', { goal: '#scenario:stall Write the notes', config: { planner: 'heuristic' } });
    const runId = String(r.data['run_id']);
    expect(await eventsReach(runId, 'agent.spawned', 1)).toBe(1);
    await client.close();
    client = await connectServer('mso-test-2');
    const left = await call('run_status', { run_id: runId });
    expect(left.data).toMatchObject({ status: 'cancelled', running_here: false });
    const resumed = await call('run_resume', { run_id: runId });
    expect(resumed.data).toMatchObject({ run_id: runId, status: 'running', resumed: true });
    // The node's agent starts again under the new server (the status alone may still show the old state).
    expect(await eventsReach(runId, 'agent.spawned', 2)).toBe(2);
    expect((await call('run_status', { run_id: runId })).data['running_here']).toBe(true);
    expect((await call('run_cancel', { run_id: runId })).data).toMatchObject({ status: 'cancelled' });
  });
  it('refuses orchestrate at max_active_runs before the run is made, as mso run is', async () => {
    const policy = join(sb.dir, 'workspace', '.mso-context', 'config', 'policy.yaml');
    await writeFile(policy, llmPlannerPolicy(llm.url).replace('max_active_runs: 50', 'max_active_runs: 1'));
    // One run waiting for a person holds the only slot.
    const gated = join(sb.dir, 'gated.yaml');
    await writeFile(
      gated,
      'name: gated\nnodes:\n  - { id: a, label: A, command: "true" }\n  - { id: b, label: B, command: "true" }\nedges:\n  - { from: a, to: b, type: hitl }\n',
    );
    expect((await sb.run(['run', '--workflow', gated])).code).toBe(3);
    const active = join(sb.dir, 'workspace', '.mso-context', 'active');
    const before = (await readdir(active)).sort();
    const r = await call('orchestrate', {
      workflow_inline: 'name: more\nnodes:\n  - { id: x, label: X, command: "true" }\n',
    });
    expect(r.isError).toBe(true);
    expect(JSON.parse(r.text)).toMatchObject({ code: 'MSO_MAX_ACTIVE_RUNS' });
    expect((await readdir(active)).sort()).toEqual(before);
  });
  it('refuses a workflow the design would refuse before the run is made, and names a run after its workflow', async () => {
    const active = join(sb.dir, 'workspace', '.mso-context', 'active');
    const before = (await readdir(active).catch(() => [] as string[])).sort();
    for (const [text, said] of [
      [
        'name: dup\nnodes:\n  - { id: a, label: A, command: "true" }\n  - { id: a, label: B, command: "true" }\n',
        'nodes[1].id: duplicate node id a',
      ],
      ['name: nolabel\nnodes:\n  - { id: a, command: "true" }\n', 'nodes[0].label: required (string)'],
    ] as const) {
      const r = await call('orchestrate', { workflow_inline: text });
      expect(r.isError, r.text).toBe(true);
      expect(JSON.parse(r.text)).toMatchObject({
        code: 'MSO_INVALID_ARTIFACT',
        message: expect.stringContaining(said),
      });
    }
    expect((await readdir(active).catch(() => [] as string[])).sort()).toEqual(before);
    // A good one is named after the workflow's name, with its goal, as mso run names it.
    const ok = await call('orchestrate', {
      workflow_inline:
        'name: release notes\ngoal: Write the release notes\nnodes:\n  - { id: a, label: A, command: "true" }\n',
    });
    expect(String(ok.data['run_id'])).toMatch(/^\d{8}-msoorch-release-notes$/);
    const s = await waitUntil(
      String(ok.data['run_id']),
      (x) => x['running_here'] === false && x['status'] !== 'active',
    );
    expect(s['status']).toBe('completed');
    expect(
      (await sb.run(['status'])).stdout + (await sb.run(['runs', 'show', String(ok.data['run_id'])])).stdout,
    ).toContain('Write the release notes');
  });
  it('answers invalid arguments and refused operations with isError and a clear message or stable code', async () => {
    const bad = await call('run_status', { run_id: 42 });
    expect(bad.isError).toBe(true);
    expect(bad.text).toMatch(/run_id/);
    const ro = await call('audit_query', { sql: 'DELETE FROM events' });
    expect(ro.isError).toBe(true);
    expect(JSON.parse(ro.text)).toMatchObject({ code: 'MSO_AUDIT_READONLY' });
    const missing = await call('run_status', { run_id: '20261121-msoorch-nope' });
    expect(JSON.parse(missing.text)).toMatchObject({ code: 'MSO_RUN_NOT_FOUND' });
  });
});

describe('mso mcp stdout', () => {
  it('carries nothing but JSON-RPC', async () => {
    const sbx = await makeSandbox();
    try {
      const child = spawn(process.execPath, [MSO_BIN, 'mcp'], {
        cwd: sbx.dir,
        env: sbx.env,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      const send = (m: Json) => child.stdin.write(`${JSON.stringify(m)}\n`);
      send({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
      });
      send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      send({
        jsonrpc: '2.0',
        id: 2,
        method: 'tools/call',
        params: { name: 'design', arguments: { goal: 'Compare A and B' } },
      });
      send({
        jsonrpc: '2.0',
        id: 3,
        method: 'tools/call',
        params: { name: 'audit_query', arguments: { sql: 'SELECT count(*) AS n FROM events' } },
      });
      for (let i = 0; i < 300 && !(out.includes('"id":2}') && out.includes('"id":3}')); i++)
        await new Promise((r) => setTimeout(r, 100));
      child.stdin.end();
      await new Promise((r) => child.once('exit', r));
      const lines = out.split('\n').filter(Boolean);
      expect(lines.length).toBeGreaterThanOrEqual(3);
      for (const line of lines) expect(JSON.parse(line)).toMatchObject({ jsonrpc: '2.0' });
      expect(lines.some((l) => l.includes('flowchart LR'))).toBe(true);
    } finally {
      await sbx.cleanup();
    }
  });
});

describe('mso mcp install and uninstall', () => {
  it('write the absolute node and entry point once per host, whatever the number of installs, and uninstall restores', async () => {
    const sbx = await makeSandbox();
    try {
      const printed = await sbx.json<{ host: string; entry: string }>(['mcp', 'install', '--claude', '--print']);
      expect(printed.code).toBe(0);
      const launcher = { command: process.execPath, args: [await realpath(MSO_BIN), 'mcp'] };
      expect(JSON.parse(printed.body.entry)).toEqual({
        mcpServers: {
          mso: {
            type: 'stdio',
            ...launcher,
            env: {
              MSO_WORKSPACE_ROOT: sbx.env['MSO_WORKSPACE_ROOT'],
              MSO_OBSERVATION_ROOT: sbx.env['MSO_OBSERVATION_ROOT'],
            },
          },
        },
      });
      const home = join(sbx.dir, 'home');
      const files = {
        project: join(sbx.cwd, '.mcp.json'),
        user: join(home, '.claude.json'),
        codex: join(home, '.codex', 'config.toml'),
      };
      const before = {
        project: `${JSON.stringify({ mcpServers: { other: { command: 'x' } } }, null, 2)}\n`,
        user: `${JSON.stringify({ numStartups: 3, projects: {} }, null, 2)}\n`,
        codex: '# mine\nmodel = "o4"\n\n[mcp_servers.other]\ncommand = "x"\n',
      };
      await mkdir(join(home, '.codex'), { recursive: true });
      for (const k of ['project', 'user', 'codex'] as const) await writeFile(files[k], before[k]);
      const installs = [['--claude'], ['--claude', '--scope', 'user'], ['--codex']];
      for (let i = 0; i < 2; i++)
        for (const args of installs) expect((await sbx.run(['mcp', 'install', ...args])).code).toBe(0);
      for (const k of ['project', 'user'] as const) {
        const doc = JSON.parse(await readFile(files[k], 'utf8'));
        expect(Object.keys(doc.mcpServers).filter((n) => n === 'mso')).toHaveLength(1);
        expect(doc.mcpServers.mso).toMatchObject(launcher);
        expect(doc.mcpServers.mso.env).not.toHaveProperty('MSO_OBSERVER_ID');
      }
      expect(JSON.parse(await readFile(files.project, 'utf8')).mcpServers.other).toEqual({ command: 'x' });
      // What install wrote starts this server, from another directory, as a host would start it.
      const written = JSON.parse(await readFile(files.project, 'utf8')).mcpServers.mso;
      const host = new Client({ name: 'installed', version: '1.0.0' });
      await host.connect(
        new StdioClientTransport({
          command: written.command,
          args: written.args,
          env: { ...written.env, HOME: home, PATH: '/usr/bin:/bin' },
          cwd: home,
          stderr: 'pipe',
        }),
      );
      expect((await host.listTools()).tools.map((t) => t.name)).toContain('orchestrate');
      await host.close();
      const toml = await readFile(files.codex, 'utf8');
      const codex = parseToml(toml) as { model: string; mcp_servers: Record<string, Record<string, unknown>> };
      expect(Object.keys(codex.mcp_servers).sort()).toEqual(['mso', 'other']);
      expect({ ...codex.mcp_servers['mso'] }).toMatchObject(launcher);
      expect({ ...(codex.mcp_servers['mso']?.['env'] as object) }).toEqual({
        MSO_WORKSPACE_ROOT: sbx.env['MSO_WORKSPACE_ROOT'],
        MSO_OBSERVATION_ROOT: sbx.env['MSO_OBSERVATION_ROOT'],
      });
      expect(toml.match(/^\[mcp_servers\.mso\.env\]$/gm)).toHaveLength(1);

      for (const args of installs) {
        const u = await sbx.json<{ removed: boolean }>(['mcp', 'uninstall', ...args]);
        expect(u).toMatchObject({ code: 0, body: { removed: true } });
      }
      for (const k of ['project', 'user', 'codex'] as const) expect(await readFile(files[k], 'utf8')).toBe(before[k]);
      expect((await sbx.json(['mcp', 'uninstall', '--codex'])).body).toMatchObject({ removed: false });

      // A file only install wrote is removed again; a broken one is refused, untouched, with exit 2.
      await rm(files.project);
      expect((await sbx.run(['mcp', 'install', '--claude'])).code).toBe(0);
      expect((await sbx.json(['mcp', 'uninstall', '--claude'])).body).toMatchObject({ file_deleted: true });
      await expect(readFile(files.project, 'utf8')).rejects.toThrow(/ENOENT/);
      await writeFile(files.codex, 'model = \n');
      const broken = await sbx.run(['mcp', 'install', '--codex']);
      expect(broken.code).toBe(2);
      expect(broken.stderr).toMatch(/config\.toml.*not valid TOML/);
      expect(await readFile(files.codex, 'utf8')).toBe('model = \n');
      const both = await sbx.run(['mcp', 'install']);
      expect(both.code).toBe(2);
      expect(both.stderr).toMatch(/--claude or --codex/);
    } finally {
      await sbx.cleanup();
    }
  });
});
