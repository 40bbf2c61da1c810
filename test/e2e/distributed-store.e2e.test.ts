import { connectMso } from '../helpers/mcp.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  REDIS,
  coordinate,
  doByHand,
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
import { pgSchema, pgUnavailable } from '../helpers/pg.js';

// Scale-out (issue 21), third file: a run coordinated on one machine, decided and cancelled from another that shares
// only the PostgreSQL audit store (its own workspace, no run folder). Helpers: test/helpers/distributed.ts.
const unreachable = await redisOrSkip();

describe.skipIf(unreachable !== null || pgUnavailable() !== null)(
  'distributed backend with the audit store in PostgreSQL: decisions and cancel from elsewhere',
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
    it('decisions from a workspace that shares only the store reach the live coordinator: approved nodes go on, a rejected one fails', async () => {
      schema = pgSchema('mso_gate');
      // The coordinator can run the fake agent; on the worker its login has expired (an authentication failure): the
      // node escalates to a person there (hitl_block), and the worker hands the ask back.
      await setUpDistributed({ agents: { fake: { kind: 'claude-code', command: FAKE_AGENT } } });
      t.sb.env['MSO_AUDIT_URL'] = schema.url;
      // The store is looked at only every 10 min: NOTIFY (and the run's Redis channel) is what wakes the coordinator.
      t.sb.env['MSO_SIGNAL_POLL_MS'] = '600000';
      const marker = join(t.sb.dir, 'go');
      const wf = await workflow(
        'gate',
        [
          { id: 'root', label: 'root', command: 'echo root > root.txt' },
          { id: 'gated', label: 'gated', agent: 'fake', output: 'code' },
          { id: 'refused', label: 'refused', agent: 'fake', output: 'code' },
          { id: 'human', label: 'human', agent: 'manual' },
          { id: 'after', label: 'after', command: 'echo after > after.txt' },
          slowUntil(marker),
        ],
        [
          { from: 'root', to: 'gated' },
          { from: 'root', to: 'refused' },
          { from: 'root', to: 'human' },
          { from: 'gated', to: 'after' },
          { from: 'root', to: 'slow' },
        ],
      );
      const loggedOut = join(t.sb.dir, 'logged-out.json');
      await writeFile(
        loggedOut,
        JSON.stringify({
          name: 'logged-out',
          steps: [{ text: 'Invalid API key · Please run /login', error: 'authentication_failed' }],
        }),
      );
      const w = await startWorker('hands', ['--agents', 'shell,fake', '--concurrency', '3'], REDIS, {
        policy: {
          agents: { fake: { kind: 'claude-code', command: FAKE_AGENT, env: { FAKE_AGENT_SCENARIO: loggedOut } } },
        },
      });
      const id = '20261127-msowd-dist-gate';
      const c = coordinate(wf, id);
      const itemOf = (node: string): string | undefined =>
        pq(
          "SELECT payload::jsonb ->> 'item' AS item FROM events WHERE run_id = ? AND node_id = ? AND type = 'hitl.created'",
          id,
          node,
        )[0]?.['item'] as string | undefined;
      await until(
        () => ['gated', 'refused', 'human'].every((n) => itemOf(n) !== undefined),
        'the three asks: two handed back by the worker, one manual node',
        60_000,
      ).catch((e: Error) => {
        const seen = pq("SELECT node_id, type FROM events WHERE run_id = ? AND node_id IN ('gated', 'refused')", id);
        throw new Error(`${e.message}\nworker:\n${w.log()}\nevents: ${JSON.stringify(seen)}`);
      });
      const kinds = pq(
        "SELECT node_id, payload::jsonb ->> 'kind' AS kind FROM events WHERE run_id = ? AND type = 'hitl.created' ORDER BY node_id",
        id,
      );
      expect(kinds).toEqual([
        { node_id: 'gated', kind: 'escalation' },
        { node_id: 'human', kind: 'manual_work' },
        { node_id: 'refused', kind: 'escalation' },
      ]);
      expect(w.log()).toMatch(/finished \S+\.gated\.1: waiting/);
      // Another machine: its own workspace (no run folder, no item files), the same store.
      const elsewhere = join(t.sb.dir, 'elsewhere');
      const there = { MSO_WORKSPACE_ROOT: elsewhere, MSO_OBSERVATION_ROOT: join(elsewhere, 'obs') };
      const decide = (args: string[]): ReturnType<typeof t.sb.json<Record<string, unknown>>> =>
        t.sb.json(args, { env: there });
      // Checked as a local decision is: an unknown item, a manual item approved without --done: exit 2, no request.
      const unknown = await decide(['approve', id, 'HITL-0099']);
      expect([unknown.code, unknown.body]).toMatchObject([2, { error: { code: 'MSO_NOT_FOUND' } }]);
      const undone = await decide(['approve', id, itemOf('human') as string]);
      expect([undone.code, undone.body]).toMatchObject([2, { error: { code: 'MSO_INVALID_ARGUMENT' } }]);
      expect(pq("SELECT 1 FROM events WHERE run_id = ? AND type = 'hitl.decision_requested'", id)).toEqual([]);
      // An `mso mcp` server of that workspace approves one (MCP decide, the CLI and the dashboard call the same
      // operation): the live coordinator takes it up, so decide resumes nothing.
      const mcp = await connectMso('gates-test', { env: { ...t.sb.env, ...there }, cwd: t.sb.dir });
      try {
        const d = await mcp.callTool({
          name: 'decide',
          arguments: { run_id: id, item: itemOf('gated'), decision: 'approve', note: 'accept it as it is' },
        });
        expect(d.isError, JSON.stringify(d.content)).not.toBe(true);
        expect(d.structuredContent).toMatchObject({ status: 'approved', resumed: false, coordinator: c.proc.pid });
      } finally {
        await mcp.close();
      }
      const no = await decide(['reject', id, itemOf('refused') as string, '--note', 'not this way']);
      expect(no.body).toMatchObject({ changed: true, through_store: true, coordinator: c.proc.pid });
      // Manual work: the person did it in the coordinator's worktree, then approves from elsewhere with --done.
      await doByHand(id, 'human');
      const done = await decide(['approve', id, itemOf('human') as string, '--done']);
      expect(done.body).toMatchObject({ changed: true, item: { status: 'approved' } });
      // A second decision on an item asked for already: the first stands, nothing more is recorded, and the command
      // that asked the other way fails (exit 1).
      const again = await decide(['reject', id, itemOf('gated') as string]);
      expect([again.code, again.body]).toMatchObject([1, { changed: false, item: { status: 'approved' } }]);
      // The running coordinator applies each to its item files and runs the nodes again, while slow still waits.
      const has = (node: string, type: string, state?: string): boolean =>
        pq(
          `SELECT 1 FROM events WHERE run_id = ? AND node_id = ? AND type = ?${state ? " AND payload::jsonb ->> 'state' = ?" : ''}`,
          id,
          node,
          type,
          ...(state ? [state] : []),
        ).length > 0;
      await until(
        () =>
          has('after', 'node.committed') && has('human', 'node.committed') && has('refused', 'node.state', 'failed'),
        'the coordinator to go on past the gate and the manual node, and fail the rejected node',
        60_000,
      );
      expect(c.proc.exitCode).toBeNull();
      expect(has('slow', 'node.committed')).toBe(false);
      await writeFile(marker, 'go');
      const end = await c.done;
      expect(end.code, end.body).not.toBe(0);
      expect(JSON.parse(end.body)).toMatchObject({ status: 'failed', nodes: { done: 5, failed: 1 } });
      // One coordinator all along (no exit, no resume); each decision recorded once, by the workspace that made it.
      expect(pq("SELECT 1 FROM events WHERE run_id = ? AND type = 'run.coordinator'", id)).toHaveLength(1);
      expect(
        pq(
          `SELECT node_id, payload::jsonb ->> 'decision' AS d, payload::jsonb ->> 'note' AS note FROM events
           WHERE run_id = ? AND type = 'hitl.decided' ORDER BY node_id`,
          id,
        ),
      ).toEqual([
        { node_id: 'gated', d: 'approved', note: 'accept it as it is' },
        { node_id: 'human', d: 'approved', note: null },
        { node_id: 'refused', d: 'rejected', note: 'not this way' },
      ]);
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
      // The timeline tells the request through the store from the decision it led to.
      const timeline = await t.sb.json(['timeline', id]);
      const said = (timeline.body['entries'] as Array<{ node: string; kind: string; text: string }>)
        .filter((e) => e.node === 'refused' && (e.kind === 'human' || e.kind === 'decision'))
        .map((e) => e.text);
      expect(said.slice(1)).toEqual([
        expect.stringMatching(/^HITL-\d+: rejected asked by \S+ through the store: not this way$/),
        expect.stringMatching(/^HITL-\d+ rejected by \S+: not this way$/),
      ]);
      // No coordinator any more: a decision from elsewhere is refused (the run is not found there), nothing written.
      const late = await decide(['approve', id, itemOf('refused') as string]);
      expect([late.code, late.body]).toMatchObject([2, { error: { code: 'MSO_RUN_NOT_FOUND' } }]);
      expect(pq("SELECT 1 FROM events WHERE run_id = ? AND type = 'hitl.decision_requested'", id)).toHaveLength(3);
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
