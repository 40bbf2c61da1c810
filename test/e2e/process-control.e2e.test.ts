import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { alive } from '../helpers/agents.js';
import { MSO_BIN, makeSandbox, type Sandbox } from '../helpers/cli.js';

// Process control (issue 16): one coordinator per run, orphans that ignore SIGTERM, interrupted runs, ticket cancel.
let sb: Sandbox;
beforeEach(async () => {
  sb = await makeSandbox();
  await sb.run(['init']);
  await writeFile(
    join(sb.dir, 'workspace', '.mso-context', 'config', 'policy.yaml'),
    'resilience:\n  retry: { max_retries: 0 }\nrun_policy:\n  max_active_runs: 50\n',
  );
});
afterEach(async () => {
  await sb.cleanup();
});

interface Summary {
  run_id: string;
  status: string;
  reason: string | null;
  nodes: Record<string, number>;
  cancelled_tickets?: Array<{ node: string; ticket: string }>;
  resumable?: boolean;
  next?: Array<{ command: string; note?: string }>;
}
const out = (id: string): string => `mkdir -p outputs && echo ${id} > outputs/${id}.md`;
/** Reads the audit log directly (read-only): cheaper than a process per query. */
const q = async (sql: string): Promise<Array<Record<string, unknown>>> => {
  const db = new Database(join(sb.dir, 'workspace', '.mso-context', 'audit.db'), { readonly: true });
  try {
    return db.prepare(sql).all() as Array<Record<string, unknown>>;
  } finally {
    db.close();
  }
};
const count = async (sql: string): Promise<number> => Number((await q(sql))[0]?.['n']);

async function workflow(name: string, nodes: Array<{ id: string; command: string }>, chain = true): Promise<string> {
  const file = join(sb.dir, `${name}.yaml`);
  const edges = chain ? nodes.slice(1).map((n, i) => ({ from: nodes[i]?.id, to: n.id })) : [];
  await writeFile(file, stringify({ name, nodes: nodes.map((n) => ({ label: n.id, ...n })), edges }));
  return file;
}

interface Started {
  child: ChildProcess;
  exit: Promise<number>;
  /** What the process wrote to stdout and stderr so far. */
  stderr: () => string;
}

function start(args: string[], env: Record<string, string> = {}): Started {
  const child = spawn(process.execPath, [MSO_BIN, ...args], {
    cwd: sb.cwd,
    env: { ...sb.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const exit = new Promise<number>((r) => child.once('exit', (code, sig) => r(code ?? (sig === 'SIGKILL' ? 137 : 1))));
  return { child, exit, stderr: () => stderr };
}

/** Polls until `sql` counts a row; fails at once, with its output, when `run` ends first. */
async function waitFor(sql: string, run?: Started): Promise<void> {
  let ended: number | undefined;
  void run?.exit.then((code) => (ended = code));
  for (let i = 0; i < 300; i++) {
    if ((await count(sql).catch(() => 0)) > 0) return;
    if (ended !== undefined) throw new Error(`the run exited ${ended} before: ${sql}\n${run?.stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for: ${sql}`);
}

describe('process control', () => {
  it('a resume kills an orphan that ignores SIGTERM (TERM, grace, KILL) before its node runs again', async () => {
    const once = join(sb.dir, 'first-attempt');
    // The first attempt traps TERM and never ends; the retry after resume finishes.
    const wf = await workflow('orphan', [
      {
        id: 'stubborn',
        command: `if [ -f ${once} ]; then ${out('stubborn')}; else touch ${once}; trap '' TERM; while true; do sleep 0.1; done; fi`,
      },
    ]);
    const id = '20261127-msoorch-orphan';
    const started = start(['run', '--workflow', wf, '--run-id', id]);
    const { child, exit } = started;
    await waitFor(`SELECT count(*) AS n FROM events WHERE run_id = '${id}' AND type = 'agent.spawned'`, started);
    const pid = Number(
      (
        await q(
          `SELECT json_extract(payload, '$.pid') AS pid FROM events WHERE run_id = '${id}' AND type = 'agent.spawned'`,
        )
      )[0]?.['pid'],
    );
    child.kill('SIGKILL');
    await exit;
    expect(alive(pid)).toBe(true);
    // The coordinator is gone: the run shows as interrupted, not active.
    const shown = await sb.json<Summary>(['status', id]);
    expect(shown.body.status).toBe('interrupted');
    expect(shown.body.reason).toMatch(/mso resume/);
    const resumed = await sb.json<Summary>(['resume', id]);
    expect(resumed.body, JSON.stringify(resumed.body)).toMatchObject({ status: 'completed', nodes: { done: 1 } });
    expect(alive(pid)).toBe(false);
    const killed = await q(
      `SELECT json_extract(payload, '$.signal') AS signal FROM events WHERE run_id = '${id}' AND type = 'agent.orphan_killed'`,
    );
    expect(killed).toEqual([{ signal: 'SIGKILL' }]);
    // The orphan was verified gone before the retry started, and its attempt was closed as interrupted.
    const order = await q(
      `SELECT type FROM events WHERE run_id = '${id}' AND type IN ('agent.orphan_killed', 'node.attempt') ORDER BY seq`,
    );
    expect(order.map((r) => r['type'])).toEqual(['node.attempt', 'agent.orphan_killed', 'node.attempt']);
    expect(await count(`SELECT count(*) AS n FROM attempts WHERE run_id = '${id}' AND status = 'running'`)).toBe(0);
    expect(
      await count(`SELECT count(*) AS n FROM attempts WHERE run_id = '${id}' AND error_class = 'interrupted'`),
    ).toBe(1);
  });

  it('one coordinator per run: a second resume exits 3 naming the holder, and racing resumes never both coordinate', async () => {
    const gate = join(sb.dir, 'release');
    const wf = await workflow('lease', [
      { id: 'a', command: out('a') },
      { id: 'b', command: `while [ ! -f ${gate} ]; do sleep 0.1; done; ${out('b')}` },
    ]);
    const id = '20261127-msoorch-lease';
    const first = start(['run', '--workflow', wf, '--run-id', id]);
    await waitFor(
      `SELECT count(*) AS n FROM events WHERE run_id = '${id}' AND type = 'agent.spawned' AND node_id = 'b'`,
      first,
    );
    first.child.kill('SIGKILL');
    await first.exit;
    // Two resumes at once: exactly one takes the lease; the other is refused while the node waits.
    const racers = [start(['resume', id]), start(['resume', id])];
    const loser = await Promise.race(racers.map((r, i) => r.exit.then((code) => ({ i, code }))));
    expect(loser.code).toBe(3);
    const holder = racers[1 - loser.i] as (typeof racers)[number];
    const busy = await sb.json<{ error: { code: string; message: string; pid: number } }>(['resume', id]);
    expect(busy.code).toBe(3);
    expect(busy.body.error.code).toBe('MSO_RUN_BUSY');
    expect(busy.body.error.message).toContain(String(holder.child.pid));
    await writeFile(gate, 'go');
    expect(await holder.exit).toBe(0);
    // Coordinators on record: the killed first one and the winner, never the refused ones.
    const coordinators = await q(
      `SELECT json_extract(payload, '$.pid') AS pid FROM events WHERE run_id = '${id}' AND type = 'run.coordinator' ORDER BY seq`,
    );
    expect(coordinators.map((r) => r['pid'])).toEqual([first.child.pid, holder.child.pid]);
    expect(await count(`SELECT count(*) AS n FROM run_leases WHERE run_id = '${id}'`)).toBe(0);
  });

  it('honours a ticket cancelled during the run: its node does not run, its dependents are blocked, others finish', async () => {
    const gate = join(sb.dir, 'go');
    const file = join(sb.dir, 'tickets.yaml');
    await writeFile(
      file,
      stringify({
        name: 'tickets',
        nodes: [
          { id: 'slow', label: 'slow', command: `while [ ! -f ${gate} ]; do sleep 0.1; done; ${out('slow')}` },
          { id: 'skipped', label: 'skipped', command: out('skipped') },
          { id: 'after', label: 'after', command: out('after') },
          { id: 'free', label: 'free', command: out('free') },
        ],
        edges: [
          { from: 'slow', to: 'skipped' },
          { from: 'skipped', to: 'after' },
        ],
      }),
    );
    const id = '20261127-msoorch-ticket-cancel';
    const started = start(['run', '--workflow', file, '--run-id', id]);
    const { exit } = started;
    await waitFor(
      `SELECT count(*) AS n FROM events WHERE run_id = '${id}' AND type = 'agent.spawned' AND node_id = 'slow'`,
      started,
    );
    const tickets = await sb.json<{ tickets: Array<{ id: string; node_id?: string; title: string }> }>([
      'ticket',
      'list',
      '--run-id',
      id,
    ]);
    const target = tickets.body.tickets.find((t) => t.node_id === 'skipped')?.id as string;
    expect(target).toMatch(/^TKT-/);
    const moved = await sb.run(['ticket', 'move', target, 'cancelled', '--run-id', id, '--reason', 'not needed']);
    expect(moved.code, moved.stderr).toBe(0);
    await writeFile(gate, 'go');
    expect(await exit).not.toBe(0);
    const s = await sb.json<Summary>(['status', id]);
    expect(s.body.status).toBe('cancelled');
    expect(s.body.reason).toContain(`ticket ${target} was cancelled`);
    // A resume would only cancel it again: the summary says so and points at a rerun of it instead.
    expect(s.body).toMatchObject({ cancelled_tickets: [{ node: 'skipped', ticket: target }], resumable: false });
    // The audit log's record of the cancel says the same.
    const cancelled = `SELECT count(*) AS n FROM events WHERE run_id = '${id}' AND type = 'run.cancelled'`;
    expect(await count(`${cancelled} AND json_extract(payload, '$.resumable') = 0`)).toBe(1);
    // The same next step for a program (--json) as for a person.
    expect(s.body.next?.map((n) => n.command)).toEqual([`mso rerun ${id} --node skipped`]);
    const shown = await sb.run(['status', id]);
    expect(shown.stdout).toContain(`next      mso rerun ${id} --node skipped`);
    expect(shown.stdout).not.toContain('mso resume');
    // Listed among the runs not finished, with its progress.
    const open = await sb.json<{ runs: Array<Record<string, unknown>> }>(['status']);
    expect(open.body.runs.find((r) => r['run_id'] === id)).toMatchObject({
      status: 'cancelled',
      nodes_done: 2,
      nodes_total: 4,
    });
    expect((await sb.run(['status'])).stdout).toMatch(
      new RegExp(`^RUN +STATUS +DONE +UPDATED +GOAL\\n(.*\\n)*${id} +cancelled +2/4 `),
    );
    const states = await q(
      `SELECT node_id, json_extract(payload, '$.state') AS state FROM events WHERE run_id = '${id}' AND type = 'node.state' AND seq IN (SELECT max(seq) FROM events WHERE run_id = '${id}' AND type = 'node.state' GROUP BY node_id) ORDER BY node_id`,
    );
    expect(states).toEqual([
      { node_id: 'after', state: 'blocked' },
      { node_id: 'free', state: 'done' },
      { node_id: 'skipped', state: 'cancelled' },
      { node_id: 'slow', state: 'done' },
    ]);
    expect(
      await count(
        `SELECT count(*) AS n FROM events WHERE run_id = '${id}' AND type = 'node.attempt' AND node_id = 'skipped'`,
      ),
    ).toBe(0);
    // Run again as the summary said: the first run then points at the new one instead.
    const again = await sb.json<{ rerun: string; status: string }>(['rerun', id, '--node', 'skipped']);
    expect(again.code, JSON.stringify(again.body)).toBe(0);
    const after = await sb.run(['status', id]);
    // The new run is named after the first one's case, on the day it was made.
    expect(after.stdout).toMatch(/rerun {5}(\d{8}-msoorch-ticket-cancel-rerun\S*) \(completed; mso status \1\)/);
    expect(after.stdout).not.toContain('next      mso rerun');
    // Among the runs not finished, it says it was run again.
    expect((await sb.run(['status'])).stdout).toMatch(new RegExp(`${id} +cancelled \\(rerun completed\\) +2/4 `));
  });

  it('cancel records its reason; cancelling a finished run is refused with exit 1', async () => {
    const wf = await workflow('done', [{ id: 'only', command: out('only') }]);
    const done = await sb.json<Summary>(['run', '--workflow', wf]);
    expect(done.body.status).toBe('completed');
    const refused = await sb.json<{ error: { code: string; message: string } }>(['cancel', done.body.run_id]);
    expect(refused.code).toBe(1);
    expect(refused.body.error.code).toBe('MSO_RUN_INVALID_TRANSITION');
    expect(refused.body.error.message).toBe(`run ${done.body.run_id} is completed: there is nothing to cancel`);
    const designed = await sb.json<{ run_id: string }>(['design', 'all', '--goal', 'Write the onboarding guide']);
    const cancelled = await sb.json<{ coordinator: number | null }>([
      'cancel',
      designed.body.run_id,
      '--reason',
      'wrong goal',
    ]);
    expect(cancelled.code).toBe(0);
    expect(cancelled.body.coordinator).toBeNull();
    const s = await sb.json<Summary>(['status', designed.body.run_id]);
    expect(s.body).toMatchObject({ status: 'cancelled', reason: 'cancelled: wrong goal' });
    // Cancelled already: nothing is asked or written again, and the reason stays the first one.
    const events = () =>
      count(
        `SELECT count(*) AS n FROM events WHERE run_id = '${designed.body.run_id}' AND type = 'run.cancel_requested'`,
      );
    const before = await events();
    const twice = await sb.run(['cancel', designed.body.run_id, '--reason', 'again']);
    expect(twice.code, twice.stderr).toBe(0);
    expect(twice.stdout).toContain(`${designed.body.run_id} is cancelled already: nothing to do`);
    expect(await events()).toBe(before);
    expect((await sb.json<Summary>(['status', designed.body.run_id])).body.reason).toBe('cancelled: wrong goal');
  });

  it('gives a max_active_runs slot to runs that execute, not to runs only designed, and one slot to one of three resumes at once', async () => {
    const policy = join(sb.dir, 'workspace', '.mso-context', 'config', 'policy.yaml');
    const designed: string[] = [];
    for (const goal of ['Write the onboarding guide', 'Write the release notes', 'Write the changelog']) {
      const d = await sb.json<{ run_id: string }>(['design', 'all', '--goal', goal]);
      expect(d.code).toBe(0);
      designed.push(d.body.run_id);
      // A designed run is not active (nor interrupted): the next design is not refused at a limit of 1.
      await writeFile(policy, 'resilience:\n  retry: { max_retries: 0 }\nrun_policy:\n  max_active_runs: 1\n');
    }
    for (const id of designed) {
      const s = await sb.json<Summary>(['status', id]);
      expect(s.body).toMatchObject({ status: 'created', reason: `designed, not run yet; mso resume ${id} runs it` });
    }
    // Three coordinators at once, one slot: one run executes (it waits for a person), the others stay as designed.
    const resumed = await Promise.all(
      designed.map((id) => sb.json<{ error?: { code: string } }>(['resume', id, '--allow-manual'])),
    );
    expect(resumed.map((r) => r.code).sort()).toEqual([1, 1, 3]);
    for (const r of resumed.filter((x) => x.code === 1)) expect(r.body.error?.code).toBe('MSO_MAX_ACTIVE_RUNS');
    const shown = await Promise.all(designed.map((id) => sb.json<Summary>(['status', id])));
    expect(shown.map((s) => s.body.status).sort()).toEqual(['awaiting_human', 'created', 'created']);
    // A refused run wrote nothing of its execution: no lease left, no provisioning, no tickets.
    for (const [i, s] of shown.entries()) {
      if (s.body.status !== 'created') continue;
      const id = designed[i] as string;
      expect(await count(`SELECT count(*) AS n FROM events WHERE run_id = '${id}' AND type LIKE 'run.%'`)).toBe(0);
      expect(await count(`SELECT count(*) AS n FROM run_leases WHERE run_id = '${id}'`)).toBe(0);
      expect(s.body.nodes).toEqual({ pending: 1 });
    }
    // The slot is taken. Designing another run is still allowed (it takes none); running one is refused before
    // anything is made.
    const active = join(sb.dir, 'workspace', '.mso-context', 'active');
    const more = await sb.json<{ run_id: string }>(['design', 'all', '--goal', 'Write the FAQ']);
    expect(more.code, more.stderr).toBe(0);
    expect((await sb.json<Summary>(['status', more.body.run_id])).body.status).toBe('created');
    const before = (await readdir(active)).sort();
    const wf = join(sb.dir, 'one-step.yaml');
    await writeFile(wf, 'name: one step\ngoal: one step\nnodes:\n  - { id: a, label: A, command: "echo a > a.txt" }\n');
    const run = await sb.json<{ error?: { code: string } }>(['run', '--workflow', wf]);
    expect(run.code, JSON.stringify(run.body)).toBe(1);
    expect(run.body.error?.code).toBe('MSO_MAX_ACTIVE_RUNS');
    expect((await readdir(active)).sort()).toEqual(before);
    // A dry run takes no slot: it is not refused.
    const dry = await sb.json<{ status: string }>(['run', '--workflow', wf, '--dry-run']);
    expect(dry.code, JSON.stringify(dry.body)).toBe(0);
  });
});
