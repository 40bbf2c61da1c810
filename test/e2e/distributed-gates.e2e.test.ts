import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterEach, describe, expect, it } from 'vitest';
import {
  REDIS,
  distributed,
  q,
  redisReachable,
  setUpDistributed,
  startWorker,
  t,
  tearDownDistributed,
  until,
  workflow,
} from '../helpers/distributed.js';
import { openPostgres } from '../../src/platform/node/postgres.js';
import type { SqliteDb } from '../../src/platform/index.js';
import { FAKE_AGENT } from '../helpers/agents.js';
import { MSO_BIN } from '../helpers/cli.js';
import { pgSchema, pgUnavailable } from '../helpers/pg.js';

// Scale-out (issue 21), second file: one worker's --concurrency across its agent lanes, human gates met on a worker,
// and decisions and cancel reaching a running coordinator through the audit store. Helpers: test/helpers/distributed.ts.
const unreachable = await redisReachable();
if (unreachable) console.warn(`distributed e2e tests skipped: Redis at ${REDIS} unreachable (${unreachable})`);

/** The most intervals open at once. */
function maxOverlap(spans: ReadonlyArray<readonly [number, number]>): number {
  const points = spans.flatMap(([s, e]) => [
    [s, 1],
    [e, -1],
  ]);
  // An end and a start at the same instant: the end first.
  points.sort((a, b) => (a[0] as number) - (b[0] as number) || (a[1] as number) - (b[1] as number));
  let open = 0;
  let most = 0;
  for (const [, d] of points) most = Math.max(most, (open += d as number));
  return most;
}

/** A coordinator (`mso --json run`) in its own process, its summary when it ends. */
const coordinate = (
  wf: string,
  id: string,
  flags: readonly string[] = distributed(),
): { proc: ChildProcess; done: Promise<{ code: number | null; body: string }> } => {
  const proc = spawn(process.execPath, [MSO_BIN, '--json', 'run', '--workflow', wf, '--run-id', id, ...flags], {
    cwd: join(t.sb.dir, 'repo'),
    env: t.sb.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.children.push(proc);
  let out = '';
  let err = '';
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const done = new Promise<{ code: number | null; body: string }>((res) =>
    proc.on('exit', (code) => res({ code, body: out || err })),
  );
  return { proc, done };
};

describe('a decision made while the run goes on (local backend, SQLite store: the coordinator polls it)', () => {
  afterEach(async () => {
    for (const c of t.children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await t.sb.cleanup();
  });

  it('a manual node approved --done from another process runs on in the same coordinator', async () => {
    await setUpDistributed();
    const marker = join(t.sb.dir, 'go');
    const wf = await workflow(
      'manual',
      [
        { id: 'root', label: 'root', command: 'echo root > root.txt' },
        { id: 'human', label: 'human', agent: 'manual' },
        { id: 'after', label: 'after', command: 'echo after > after.txt' },
        { id: 'slow', label: 'slow', command: `while [ ! -f ${marker} ]; do sleep 0.2; done; echo slow > slow.txt` },
      ],
      [
        { from: 'root', to: 'human' },
        { from: 'human', to: 'after' },
        { from: 'root', to: 'slow' },
      ],
    );
    const id = '20261127-msowd-local-manual';
    const c = coordinate(wf, id, []);
    const has = (node: string, type: string): boolean => {
      try {
        return q('SELECT 1 FROM events WHERE run_id = ? AND node_id = ? AND type = ?', id, node, type).length > 0;
      } catch {
        return false; // the audit log is not there yet
      }
    };
    await until(() => has('human', 'hitl.created'), 'the manual node to ask a person');
    const wt = join(t.sb.dir, 'workspace', '.mso-context', 'active', id, 'worktree', 'human');
    await mkdir(join(wt, 'outputs'), { recursive: true });
    await writeFile(join(wt, 'outputs', 'human.md'), 'done by hand\n');
    const ok = await t.sb.json<{ changed: boolean; coordinator: number | null }>([
      'approve',
      id,
      'HITL-0001',
      '--done',
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    // The decider is told the live coordinator takes it up (MCP decide then does not resume the run itself).
    expect(ok.body).toMatchObject({ changed: true, coordinator: c.proc.pid });
    await until(() => has('after', 'node.committed'), 'the coordinator to go on past the manual node');
    expect(c.proc.exitCode).toBeNull();
    expect(has('slow', 'node.committed')).toBe(false);
    await writeFile(marker, 'go');
    const end = await c.done;
    expect(end.code, end.body).toBe(0);
    expect(JSON.parse(end.body)).toMatchObject({ status: 'completed', nodes: { done: 4 } });
    expect(q("SELECT 1 FROM events WHERE run_id = ? AND type = 'run.coordinator'", id)).toHaveLength(1);
  });
});

describe.skipIf(unreachable !== null)('distributed backend: worker slots and human gates', { timeout: 120_000 }, () => {
  afterEach(() => tearDownDistributed());

  it('--concurrency 2 is the worker total across its lanes: never more than 2 at once, all lanes served', async () => {
    // Seven independent nodes: three shell commands, three of a fake coding agent, and a command whose own agent is a
    // second shell-kind agent (its lane is that agent, not `shell`), each about a second long.
    const agents = {
      fake: { kind: 'claude-code', command: FAKE_AGENT },
      shell2: { kind: 'shell', env: { LANE_TAG: 'from-shell2' } },
    };
    await setUpDistributed({ agents });
    const scenario = join(t.sb.dir, 'second.json');
    await writeFile(
      scenario,
      JSON.stringify({
        name: 'second',
        steps: [{ sleep: 1000 }, { writeRequested: {} }, { result: { subtype: 'success', text: 'ok' } }],
      }),
    );
    const ids = ['s1', 's2', 's3', 'f1', 'f2', 'f3', 'x1'];
    const wf = await workflow(
      'slots',
      ids.map((id) =>
        id.startsWith('s')
          ? { id, label: id, command: `sleep 1; echo ${id} > ${id}.txt` }
          : id === 'x1'
            ? { id, label: id, agent: 'shell2', command: 'sleep 1; test "$LANE_TAG" = from-shell2' }
            : { id, label: id, agent: 'fake', output: 'code' },
      ),
      [],
    );
    const w = await startWorker('pair', ['--agents', 'shell,fake,shell2', '--concurrency', '2'], REDIS, {
      policy: { agents },
      env: { FAKE_AGENT_SCENARIO: scenario },
    });
    expect(w.log()).toContain('worker pair ready: agents shell, fake, shell2; 2 at once across them');
    const r = await t.sb.json<{ run_id: string; status: string }>(
      ['run', '--workflow', wf, '--max-concurrency', '8', ...distributed()],
      { cwd: join(t.sb.dir, 'repo') },
    );
    expect(r.body.status, JSON.stringify(r.body)).toBe('completed');
    // The attempts the worker recorded (applied by the coordinator): when each agent call started and ended.
    const attempts = q(
      `SELECT node_id, agent, started_at, ended_at FROM attempts WHERE run_id = ? AND status = 'success'`,
      r.body.run_id,
    );
    expect(attempts.map((a) => a['node_id']).sort()).toEqual([...ids].sort());
    expect(new Set(attempts.map((a) => a['agent']))).toEqual(new Set(['shell', 'fake', 'shell2']));
    expect(attempts.find((a) => a['node_id'] === 'x1')?.['agent']).toBe('shell2');
    const spans = attempts.map(
      (a) => [Date.parse(a['started_at'] as string), Date.parse(a['ended_at'] as string)] as const,
    );
    expect(maxOverlap(spans)).toBeLessThanOrEqual(2);
    for (const lane of ['shell', 'fake', 'shell2'])
      expect(w.log()).toMatch(new RegExp(`took \\S+ \\(\\S+ \\S+, ${lane}\\)`));
    expect(w.log()).toMatch(/took \S+ \(\S+ x1, shell2\)/);
    expect(w.log().match(/^took /gm)).toHaveLength(7);
  });

  describe.skipIf(pgUnavailable() !== null)('with the audit store in PostgreSQL', () => {
    let schema: ReturnType<typeof pgSchema>;
    let db: SqliteDb | undefined;
    afterEach(() => {
      db?.close();
      db = undefined;
      schema.drop();
    });
    /** Rows of the store under test. */
    const pq = (sql: string, ...args: unknown[]): Array<Record<string, unknown>> => {
      db ??= openPostgres(schema.url, { readonly: true });
      return db.prepare(sql).all(...args) as Array<Record<string, unknown>>;
    };
    const eventually = async (sql: string, what: string, ...args: unknown[]): Promise<void> => {
      await until(() => pq(sql, ...args).length > 0, what, 60_000);
    };
    it('an escalation met on a worker, approved from another process while a branch runs: the same coordinator goes on', async () => {
      schema = pgSchema('mso_gate');
      // The coordinator can run the fake agent; the worker's `fake` is not installed there: the node's agent is
      // unavailable on the worker, which escalates to a person (hitl_block), and the worker hands the ask back.
      await setUpDistributed({ agents: { fake: { kind: 'claude-code', command: FAKE_AGENT } } });
      t.sb.env['MSO_AUDIT_URL'] = schema.url;
      const marker = join(t.sb.dir, 'go');
      const wf = await workflow(
        'gate',
        [
          { id: 'root', label: 'root', command: 'echo root > root.txt' },
          { id: 'gated', label: 'gated', agent: 'fake', output: 'code' },
          { id: 'after', label: 'after', command: 'echo after > after.txt' },
          { id: 'slow', label: 'slow', command: `while [ ! -f ${marker} ]; do sleep 0.2; done; echo slow > slow.txt` },
        ],
        [
          { from: 'root', to: 'gated' },
          { from: 'gated', to: 'after' },
          { from: 'root', to: 'slow' },
        ],
      );
      const w = await startWorker('hands', ['--agents', 'shell,fake', '--concurrency', '2'], REDIS, {
        policy: { agents: { fake: { kind: 'claude-code', command: join(t.sb.dir, 'no-such-agent') } } },
      });
      const id = '20261127-msowd-dist-gate';
      const c = coordinate(wf, id);
      await eventually(
        "SELECT 1 FROM events WHERE run_id = ? AND node_id = 'gated' AND type = 'hitl.created'",
        'the worker to hand the escalation back',
        id,
      );
      const asked = pq(
        "SELECT payload::jsonb ->> 'item' AS item, payload::jsonb ->> 'kind' AS kind FROM events WHERE run_id = ? AND type = 'hitl.created'",
        id,
      );
      expect(asked).toEqual([{ item: 'HITL-0001', kind: 'escalation' }]);
      expect(w.log()).toMatch(/finished \S+\.gated\.1: waiting/);
      // Another process decides: an `mso mcp` server of its own (MCP decide, the CLI and the dashboard call the same
      // operation). The live coordinator takes the decision up, so decide resumes nothing.
      const mcp = new Client({ name: 'gates-test', version: '1.0.0' });
      await mcp.connect(
        new StdioClientTransport({
          command: process.execPath,
          args: [MSO_BIN, 'mcp'],
          env: t.sb.env,
          cwd: join(t.sb.dir, 'repo'),
          stderr: 'pipe',
        }),
      );
      try {
        const d = await mcp.callTool({
          name: 'decide',
          arguments: { run_id: id, item: 'HITL-0001', decision: 'approve', note: 'accept it as it is' },
        });
        expect(d.isError, JSON.stringify(d.content)).not.toBe(true);
        expect(d.structuredContent).toMatchObject({ status: 'approved', resumed: false, coordinator: c.proc.pid });
      } finally {
        await mcp.close();
      }
      // The running coordinator runs the node again with the decision, and its child, while slow still waits.
      await eventually(
        "SELECT 1 FROM events WHERE run_id = ? AND node_id = 'after' AND type = 'node.committed'",
        'the coordinator to go on past the gate',
        id,
      );
      expect(c.proc.exitCode).toBeNull();
      expect(pq("SELECT 1 FROM events WHERE run_id = ? AND node_id = 'slow' AND type = 'node.committed'", id)).toEqual(
        [],
      );
      await writeFile(marker, 'go');
      const end = await c.done;
      expect(end.code, end.body).toBe(0);
      expect(JSON.parse(end.body)).toMatchObject({ status: 'completed', nodes: { done: 4 } });
      // One coordinator all along (no exit, no resume); the node accepted by the person once, on a second job.
      expect(pq("SELECT 1 FROM events WHERE run_id = ? AND type = 'run.coordinator'", id)).toHaveLength(1);
      expect(
        pq(
          "SELECT payload::jsonb ->> 'summary' AS s FROM events WHERE run_id = ? AND node_id = 'gated' AND type = 'node.committed'",
          id,
        ),
      ).toEqual([{ s: 'accepted by a person' }]);
      expect(
        pq(
          "SELECT payload::jsonb ->> 'job_id' AS j FROM events WHERE run_id = ? AND node_id = 'gated' AND type = 'node.job_applied' ORDER BY seq",
          id,
        ),
      ).toEqual([{ j: `${id}.gated.1` }, { j: `${id}.gated.2` }]);
    });

    it('mso cancel from a process that shares only the store ends the running coordinator and its worker node', async () => {
      schema = pgSchema('mso_cncl');
      await setUpDistributed();
      t.sb.env['MSO_AUDIT_URL'] = schema.url;
      const wf = await workflow('cancel', [{ id: 'slow', label: 'slow', command: 'sleep 60; echo 2 > two.txt' }], []);
      const w = await startWorker('busy');
      const id = '20261127-msowd-dist-store-cancel';
      const c = coordinate(wf, id);
      await until(() => w.log().includes('.slow.1 ('), 'the slow node to be taken');
      // Another machine: its own workspace (no run folder), the same store.
      const elsewhere = join(t.sb.dir, 'elsewhere');
      const r = await t.sb.json<{ run_id: string; requested: boolean; coordinator: number }>(
        ['cancel', id, '--reason', 'stopped from elsewhere'],
        { env: { MSO_WORKSPACE_ROOT: elsewhere, MSO_OBSERVATION_ROOT: join(elsewhere, 'obs') } },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.body).toMatchObject({ run_id: id, requested: true, coordinator: c.proc.pid });
      const end = await c.done;
      expect(JSON.parse(end.body)).toMatchObject({ status: 'cancelled', reason: 'cancelled: stopped from elsewhere' });
      await until(() => /finished \S+\.slow\.1: cancelled/.test(w.log()), 'the worker to end the node', 30_000);
      // A run no live coordinator holds cannot be cancelled from a workspace without its folder: not found.
      const gone = await t.sb.json<{ error: { code: string } }>(['cancel', id], {
        env: { MSO_WORKSPACE_ROOT: elsewhere, MSO_OBSERVATION_ROOT: join(elsewhere, 'obs') },
      });
      expect(gone.body.error.code).toBe('MSO_RUN_NOT_FOUND');
    });
  });
});
