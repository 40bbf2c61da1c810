import { readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  REDIS,
  coordinate,
  distributed,
  doByHand,
  q,
  redisOrSkip,
  setUpDistributed,
  slowUntil,
  startWorker,
  t,
  tearDownDistributed,
  until,
  workflow,
} from '../helpers/distributed.js';
import { FAKE_AGENT } from '../helpers/agents.js';
import { PG_URL, pgSchema, pgUnavailable } from '../helpers/pg.js';
import { openPostgres } from '../../src/platform/node/postgres.js';

// Scale-out (issue 21), second file: one worker's --concurrency across its agent lanes, and decisions reaching a
// running coordinator through the audit store (SQLite here; PostgreSQL, and deciding or cancelling from a workspace
// without the run's folder: distributed-store.e2e). Helpers: test/helpers/distributed.ts.
const unreachable = await redisOrSkip();

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

/**
 * root → human (a manual node) → after, beside slow (waits for a marker file): `mso approve --done` from another
 * process while slow runs; the same coordinator goes on past the manual node, and completes once slow is let go.
 */
async function approveWhileSlowRuns(
  id: string,
  flags: readonly string[],
  beforeApprove?: () => Promise<void>,
): Promise<void> {
  const marker = join(t.sb.dir, 'go');
  const wf = await workflow(
    'manual',
    [
      { id: 'root', label: 'root', command: 'echo root > root.txt' },
      { id: 'human', label: 'human', agent: 'manual' },
      { id: 'after', label: 'after', command: 'echo after > after.txt' },
      slowUntil(marker),
    ],
    [
      { from: 'root', to: 'human' },
      { from: 'human', to: 'after' },
      { from: 'root', to: 'slow' },
    ],
  );
  const c = coordinate(wf, id, flags);
  const has = (node: string, type: string): boolean => {
    try {
      return q('SELECT 1 FROM events WHERE run_id = ? AND node_id = ? AND type = ?', id, node, type).length > 0;
    } catch {
      return false; // the audit log is not there yet
    }
  };
  await until(() => has('human', 'hitl.created'), 'the manual node to ask a person');
  await doByHand(id, 'human');
  await beforeApprove?.();
  const ok = await t.sb.json<{ changed: boolean; coordinator: number | null }>(['approve', id, 'HITL-0001', '--done']);
  expect(ok.code, ok.stderr).toBe(0);
  // The decider is told the live coordinator takes it up (MCP decide then does not resume the run itself).
  expect(ok.body).toMatchObject({ changed: true, coordinator: c.proc.pid });
  await until(() => has('after', 'node.committed'), 'the coordinator to go on past the manual node', 30_000);
  expect(c.proc.exitCode).toBeNull();
  expect(has('slow', 'node.committed')).toBe(false);
  await writeFile(marker, 'go');
  const end = await c.done;
  expect(end.code, end.body).toBe(0);
  expect(JSON.parse(end.body)).toMatchObject({ status: 'completed', nodes: { done: 4 } });
  expect(q("SELECT 1 FROM events WHERE run_id = ? AND type = 'run.coordinator'", id)).toHaveLength(1);
}

describe('a decision made while the run goes on (local backend, SQLite store: the coordinator polls it)', () => {
  afterEach(async () => {
    for (const c of t.children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await t.sb.cleanup();
  });

  it('a manual node approved --done from another process runs on in the same coordinator', async () => {
    await setUpDistributed();
    // The look interval knob is checked before the run exists: a bad one is refused (exit 2), nothing is written.
    const bad = await t.sb.json<{ error: { message: string } }>(
      ['run', '--workflow', await workflow('bad', [{ id: 'a', label: 'a', command: 'true' }], [])],
      { env: { MSO_SIGNAL_POLL_MS: 'soon' }, cwd: join(t.sb.dir, 'repo') },
    );
    expect([bad.code, bad.body.error.message]).toEqual([
      2,
      'invalid MSO_SIGNAL_POLL_MS: soon is not a whole number of milliseconds (1..2147483647)',
    ]);
    expect(readdirSync(join(t.sb.dir, 'workspace', '.mso-context', 'active'))).toEqual([]);
    await approveWhileSlowRuns('20261127-msowd-local-manual', []);
  });

  it.skipIf(pgUnavailable() !== null)(
    'on a PostgreSQL store the NOTIFY alone wakes the coordinator (its own look set to 10 minutes), also after its LISTEN connection was cut',
    async () => {
      const schema = pgSchema('mso_notify');
      const admin = openPostgres(PG_URL);
      const listeners = (): number[] =>
        (
          admin
            .prepare(
              "SELECT pid FROM pg_stat_activity WHERE application_name = 'mso-listen' AND datname = current_database()",
            )
            .all() as Array<{ pid: number }>
        ).map((r) => Number(r.pid));
      try {
        await setUpDistributed();
        t.sb.env['MSO_AUDIT_URL'] = schema.url;
        t.sb.env['MSO_SIGNAL_POLL_MS'] = '600000';
        await approveWhileSlowRuns('20261127-msowd-local-notify', [], async () => {
          // The coordinator's LISTEN connection is cut (a PostgreSQL restart or a proxy would do the same): it listens
          // again on a new connection, and the approve below still wakes it.
          const before = listeners();
          expect(before.length).toBeGreaterThan(0);
          for (const pid of before) admin.prepare('SELECT pg_terminate_backend(?)').get(pid);
          await until(
            () => listeners().some((pid) => !before.includes(pid)),
            'the coordinator to LISTEN again on a new connection',
            30_000,
          );
        });
      } finally {
        admin.close();
        schema.drop();
      }
    },
  );
});

describe.skipIf(unreachable !== null)('distributed backend: worker slots and decisions', { timeout: 120_000 }, () => {
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

  it('with the store looked at only every 10 min, the Redis message alone makes the coordinator take a decision up', async () => {
    await setUpDistributed();
    // Within the until's 30 s the coordinator never looks at the store on its own: only the run's Redis channel wakes it.
    t.sb.env['MSO_SIGNAL_POLL_MS'] = '600000';
    await startWorker('waker', ['--concurrency', '2']);
    await approveWhileSlowRuns('20261127-msowd-dist-redis-wake', distributed());
  });
});
