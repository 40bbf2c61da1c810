import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
  workflow,
} from '../helpers/distributed.js';
import { FAKE_AGENT } from '../helpers/agents.js';

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

describe.skipIf(unreachable !== null)('distributed backend: worker slots and human gates', { timeout: 120_000 }, () => {
  afterEach(() => tearDownDistributed());

  it('--concurrency 2 is the worker total across its lanes: never more than 2 at once, both lanes served', async () => {
    // Six independent nodes, three per lane (shell commands; a fake coding agent), each about a second long.
    const agents = { fake: { kind: 'claude-code', command: FAKE_AGENT } };
    await setUpDistributed({ agents });
    const scenario = join(t.sb.dir, 'second.json');
    await writeFile(
      scenario,
      JSON.stringify({
        name: 'second',
        steps: [{ sleep: 1000 }, { writeRequested: {} }, { result: { subtype: 'success', text: 'ok' } }],
      }),
    );
    const ids = ['s1', 's2', 's3', 'f1', 'f2', 'f3'];
    const wf = await workflow(
      'slots',
      ids.map((id) =>
        id.startsWith('s')
          ? { id, label: id, command: `sleep 1; echo ${id} > ${id}.txt` }
          : { id, label: id, agent: 'fake', output: 'code' },
      ),
      [],
    );
    const w = await startWorker('pair', ['--agents', 'shell,fake', '--concurrency', '2'], REDIS, {
      policy: { agents },
      env: { FAKE_AGENT_SCENARIO: scenario },
    });
    expect(w.log()).toContain('worker pair ready: agents shell, fake; 2 at once across them');
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
    expect(new Set(attempts.map((a) => a['agent']))).toEqual(new Set(['shell', 'fake']));
    const spans = attempts.map(
      (a) => [Date.parse(a['started_at'] as string), Date.parse(a['ended_at'] as string)] as const,
    );
    expect(maxOverlap(spans)).toBeLessThanOrEqual(2);
    for (const lane of ['shell', 'fake']) expect(w.log()).toMatch(new RegExp(`took \\S+ \\(\\S+ \\S+, ${lane}\\)`));
    expect(w.log().match(/^took /gm)).toHaveLength(6);
  });
});
