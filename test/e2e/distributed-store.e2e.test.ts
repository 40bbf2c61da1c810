import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterEach, describe, expect, it } from 'vitest';
import {
  REDIS,
  coordinate,
  redisOrSkip,
  setUpDistributed,
  slowUntil,
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

// Scale-out (issue 21), third file: a running coordinator decided and cancelled from other processes through the
// PostgreSQL audit store (cancel from a workspace without the run folder). Helpers: test/helpers/distributed.ts.
const unreachable = await redisOrSkip();

describe.skipIf(unreachable !== null || pgUnavailable() !== null)(
  'distributed backend with the audit store in PostgreSQL: decisions and cancel from other processes',
  { timeout: 120_000 },
  () => {
    let schema: ReturnType<typeof pgSchema>;
    let db: SqliteDb | undefined;
    afterEach(async () => {
      db?.close();
      db = undefined;
      schema.drop();
      await tearDownDistributed();
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
          slowUntil(marker),
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
  },
);
