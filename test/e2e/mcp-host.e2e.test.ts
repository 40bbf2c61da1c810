import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdir, realpath, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FAKE_AGENT, alive, pidsIn } from '../helpers/agents.js';
import { MSO_BIN, makeSandbox, type Sandbox } from '../helpers/cli.js';

// What a host's leaving does to `mso mcp`: the runs it started are cancelled with a reason, their agents are gone,
// requests in flight are answered, the server exits, and a later server resumes the runs to completion.

type Json = Record<string, unknown>;
let sb: Sandbox;
let pidfile: string;
beforeEach(async () => {
  sb = await makeSandbox('mso-mcp-host-');
  pidfile = join(sb.dir, 'agent-pids');
  await sb.run(['init']);
});
afterEach(async () => {
  await sb.cleanup();
});

/** The fake Claude Code as the only agent, replaying `scenario`, writing its pid to the pid file. */
async function usePolicy(scenario: string): Promise<void> {
  await writeFile(
    join(sb.dir, 'workspace', '.mso-context', 'config', 'policy.yaml'),
    [
      'agents:',
      `  fake-claude: { kind: claude-code, command: ${FAKE_AGENT}, env: { FAKE_AGENT_PIDFILE: "${pidfile}", FAKE_AGENT_SCENARIO: ${scenario} } }`,
      `  ghost: { kind: codex, command: ${join(sb.dir, 'no-such-cli')} }`,
      'fallback_chains:',
      '  default: [fake-claude, manual]',
      'resilience:',
      '  retry: { max_retries: 0 }',
      '',
    ].join('\n'),
  );
}

async function connect(): Promise<{ client: Client; transport: StdioClientTransport }> {
  const client = new Client({ name: 'host-test', version: '1.0.0' });
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [MSO_BIN, 'mcp'],
    env: sb.env,
    cwd: sb.cwd,
    stderr: 'pipe',
  });
  await client.connect(transport);
  return { client, transport };
}

const call = async (client: Client, name: string, args: Json): Promise<Json> =>
  (await client.callTool({ name, arguments: args })).structuredContent as Json;

/** Polls (bounded) until `check` holds; returns its last value. */
async function until<T>(read: () => Promise<T> | T, check: (v: T) => boolean, tries = 200): Promise<T> {
  let v = await read();
  for (let i = 0; i < tries && !check(v); i++) {
    await new Promise((r) => setTimeout(r, 100));
    v = await read();
  }
  return v;
}

async function startStalledRun(client: Client): Promise<{ runId: string; pids: number[] }> {
  const r = await call(client, 'orchestrate', { goal: 'Write the release notes', config: { planner: 'heuristic' } });
  expect(r).toMatchObject({ status: 'running' });
  const pids = await until(
    () => pidsIn(pidfile),
    (p) => p.length > 0,
  );
  expect(pids.length).toBeGreaterThan(0);
  return { runId: String(r['run_id']), pids };
}

async function expectCancelledThenResumable(runId: string, reason: RegExp): Promise<void> {
  await usePolicy('default');
  const { client } = await connect();
  try {
    const s = await call(client, 'run_status', { run_id: runId });
    expect(s).toMatchObject({ status: 'cancelled', running_here: false });
    expect(String(s['reason'])).toMatch(reason);
    const ev = (await call(client, 'audit_query', {
      sql: `SELECT json_extract(payload, '$.reason') AS reason FROM events WHERE run_id = '${runId}' AND type = 'run.cancelled'`,
    })) as { rows: Json[] };
    expect(String(ev.rows[0]?.['reason'])).toMatch(reason);
    expect(await call(client, 'run_resume', { run_id: runId })).toMatchObject({ resumed: true });
    const done = await until(
      () => call(client, 'run_status', { run_id: runId, wait_seconds: 2 }),
      (x) => x['running_here'] === false && x['status'] !== 'active',
      60,
    );
    expect(done).toMatchObject({ status: 'completed', reason: null });
  } finally {
    await client.close();
  }
}

describe('mso mcp when the host leaves', () => {
  it('on stdin EOF: cancels its run with the reason, leaves no agent process, exits; a new server resumes it to completion', async () => {
    await usePolicy('stall');
    const { client, transport } = await connect();
    const serverPid = transport.pid as number;
    const { runId, pids } = await startStalledRun(client);
    await client.close(); // ends the server's stdin
    expect(
      await until(
        () => alive(serverPid),
        (a) => !a,
      ),
    ).toBe(false);
    expect(pids.filter(alive)).toEqual([]);
    await expectCancelledThenResumable(runId, /^cancelled: host disconnected \(stdin closed\)/);
  });

  it('on SIGTERM: the same, with stdin still open', async () => {
    await usePolicy('stall');
    const { client, transport } = await connect();
    const serverPid = transport.pid as number;
    const { runId, pids } = await startStalledRun(client);
    process.kill(serverPid, 'SIGTERM');
    expect(
      await until(
        () => alive(serverPid),
        (a) => !a,
      ),
    ).toBe(false);
    expect(pids.filter(alive)).toEqual([]);
    await client.close();
    await expectCancelledThenResumable(runId, /^cancelled: host disconnected \(SIGTERM\)/);
  });
});

describe('mso mcp on a raw pipe', () => {
  /** A server on plain pipes: every line it writes, parsed. */
  function raw(): {
    child: ChildProcessWithoutNullStreams;
    lines: Json[];
    send(m: Json): void;
    exited: Promise<number>;
  } {
    const child = spawn(process.execPath, [MSO_BIN, 'mcp'], { cwd: sb.cwd, env: sb.env, stdio: 'pipe' });
    const lines: Json[] = [];
    let buf = '';
    child.stdout.on('data', (c: Buffer) => {
      buf += c.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        lines.push(JSON.parse(buf.slice(0, i)) as Json);
        buf = buf.slice(i + 1);
      }
    });
    const exited = new Promise<number>((r) => child.once('exit', (code) => r(code ?? -1)));
    return { child, lines, send: (m) => child.stdin.write(`${JSON.stringify(m)}\n`), exited };
  }
  const init = (send: (m: Json) => void): void => {
    send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  };

  it('answers the requests in flight at stdin EOF, and sends no progress after a final result', async () => {
    await usePolicy('stall');
    const s = raw();
    init(s.send);
    s.send({
      jsonrpc: '2.0',
      id: 2,
      method: 'tools/call',
      params: {
        name: 'orchestrate',
        arguments: { goal: 'Write the release notes', config: { planner: 'heuristic' } },
        _meta: { progressToken: 'p2' },
      },
    });
    const started = await until(
      () => s.lines.find((l) => l['id'] === 2),
      (l) => l !== undefined,
    );
    const runId = String((started?.['result'] as { structuredContent: Json }).structuredContent['run_id']);
    await until(
      () => pidsIn(pidfile),
      (p) => p.length > 0,
    );
    // A long poll in flight when the host closes stdin: it must still get an answer.
    s.send({
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: { name: 'run_status', arguments: { run_id: runId, wait_seconds: 60 } },
    });
    await new Promise((r) => setTimeout(r, 300));
    s.child.stdin.end();
    expect(await s.exited).toBe(0);
    const answer = s.lines.find((l) => l['id'] === 3);
    expect(answer).toBeDefined();
    // An answer, not an error response: the wait returns the run's state when the host leaves.
    expect(answer?.['error']).toBeUndefined();
    expect(answer).toHaveProperty('result');
    const order = s.lines.map((l) =>
      l['method'] === 'notifications/progress' ? `progress:${String((l['params'] as Json)['progressToken'])}` : l['id'],
    );
    expect(order.filter((x) => x === 'progress:p2').length).toBeGreaterThan(0);
    expect(order.lastIndexOf('progress:p2')).toBeLessThan(order.indexOf(2));
    expect((await pidsIn(pidfile)).filter(alive)).toEqual([]);
  });
});

describe('orchestrate', () => {
  it('takes a workflow file or inline YAML and a repo; a failed run says why; a run no agent can do is refused first', async () => {
    await usePolicy('default');
    const repo = join(sb.dir, 'repo');
    await mkdir(repo);
    const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, stdio: 'ignore' });
    git('init', '-q', '-b', 'main');
    git('-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-q', '--allow-empty', '-m', 'base');
    const wf = {
      name: 'notes',
      nodes: [
        { id: 'write', label: 'write', command: 'mkdir -p outputs && echo hi > outputs/write.md' },
        { id: 'check', label: 'check', command: 'test -f outputs/nope.md' },
      ],
      edges: [{ from: 'write', to: 'check' }],
    };
    const file = join(sb.dir, 'ok.yaml');
    await writeFile(file, stringify({ ...wf, nodes: [wf.nodes[0]], edges: [] }));
    const { client } = await connect();
    try {
      const settle = (runId: string) =>
        until(
          () => call(client, 'run_status', { run_id: runId, wait_seconds: 2 }),
          (x) => x['running_here'] === false && !['active', 'created'].includes(String(x['status'])),
          60,
        );
      const fromFile = await call(client, 'orchestrate', { workflow: file, repo });
      expect(await settle(String(fromFile['run_id']))).toMatchObject({ status: 'completed', reason: null });
      const inline = await call(client, 'orchestrate', { workflow_inline: stringify(wf), repo });
      const failed = await settle(String(inline['run_id']));
      expect(failed, JSON.stringify(failed)).toMatchObject({ status: 'failed' });
      expect(String(failed['reason'])).toMatch(/check/);
      const provisioned = (await call(client, 'audit_query', {
        sql: `SELECT json_extract(payload, '$.repo') AS repo FROM events WHERE run_id = '${String(inline['run_id'])}' AND type = 'run.provisioned'`,
      })) as { rows: Json[] };
      expect(provisioned.rows[0]?.['repo']).toBe(await realpath(repo));

      // No usable agent for a goal's nodes: refused with the stable code, and no run is created.
      const runs = async () => (await client.readResource({ uri: 'mso://runs' })).contents[0] as { text: string };
      const before = JSON.parse((await runs()).text) as unknown[];
      const r = await client.callTool({
        name: 'orchestrate',
        arguments: { goal: 'Write notes', config: { agent: 'ghost', planner: 'heuristic' } },
      });
      expect(r.isError).toBe(true);
      const refusal = JSON.parse((r.content as Array<{ text: string }>)[0]?.text ?? '{}') as Json;
      expect(refusal).toMatchObject({ code: 'MSO_NO_USABLE_AGENT' });
      expect(String(refusal['message'])).toMatch(/ghost/);
      const both = await client.callTool({ name: 'orchestrate', arguments: { goal: 'x', workflow: file } });
      expect(both.isError).toBe(true);
      expect(JSON.parse((await runs()).text)).toHaveLength(before.length);
    } finally {
      await client.close();
    }
  });
});
