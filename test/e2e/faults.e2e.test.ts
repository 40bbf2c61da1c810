import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MSO_BIN, makeSandbox, type Sandbox } from '../helpers/cli.js';

// The fault harness (issue 16): the coordinator is SIGKILLed at named points of the pipeline — each design step, the
// gate, provisioning, a node's start, its agent's end and its commit, a merge's judgement and merge — and
// `mso resume` must finish the run with no finished node run again, no event lost and no attempt left running.
// The default run covers every kind of point once; MSO_LONG_TESTS=1 adds 50 seeded random points.
const LONG = process.env['MSO_LONG_TESTS'] === '1';
const SEED = Number(process.env['MSO_FAULT_SEED'] ?? 20261127);

const NODES = ['a', 'b', 'c', 'm', 'd'];
const BASE_POINTS = [
  'design.topology',
  'design.mental_model',
  'design.plan',
  'run.gate',
  'run.provisioned',
  'node.started#2',
  'node.agent_done#3',
  'node.committed#1',
  'node.committed#3',
  'merge.judged',
  'merge.merged',
];
const COUNTED: Record<string, number> = {
  'design.topology': 1,
  'design.mental_model': 1,
  'design.plan': 1,
  'run.gate': 1,
  'run.provisioned': 1,
  'node.started': NODES.length,
  'node.agent_done': NODES.length,
  'node.committed': NODES.length,
  'merge.judged': 1,
  'merge.merged': 1,
};

/** mulberry32: a small seeded generator, so a failing point can be replayed with MSO_FAULT_SEED. */
function seeded(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

function randomPoints(n: number): string[] {
  const rnd = seeded(SEED);
  const kinds = Object.keys(COUNTED);
  return Array.from({ length: n }, () => {
    const kind = kinds[Math.floor(rnd() * kinds.length)] as string;
    const max = COUNTED[kind] as number;
    return max > 1 ? `${kind}#${1 + Math.floor(rnd() * max)}` : kind;
  });
}

let sb: Sandbox;
let wf: string;
let reference: Record<string, string>;

/** Reads the audit log directly (read-only): cheaper than a process per query. */
const q = async (sql: string): Promise<Array<Record<string, unknown>>> => {
  const db = new Database(join(sb.dir, 'workspace', '.mso-context', 'audit.db'), { readonly: true });
  try {
    return db.prepare(sql).all() as Array<Record<string, unknown>>;
  } finally {
    db.close();
  }
};

async function treeHashes(runId: string): Promise<Record<string, string>> {
  const rows = await q(
    `SELECT node_id, json_extract(payload, '$.tree_hash') AS h FROM events WHERE run_id = '${runId}' AND type = 'node.committed' ORDER BY node_id`,
  );
  return Object.fromEntries(rows.map((r) => [r['node_id'], r['h']]));
}

beforeAll(async () => {
  sb = await makeSandbox('mso-faults-');
  await sb.run(['init']);
  await writeFile(
    join(sb.dir, 'workspace', '.mso-context', 'config', 'policy.yaml'),
    'resilience:\n  retry: { max_retries: 0 }\nrun_policy:\n  max_active_runs: 200\n',
  );
  const out = (id: string): string => `mkdir -p out && echo ${id} > out/${id}.txt`;
  wf = join(sb.dir, 'faults.yaml');
  await writeFile(
    wf,
    stringify({
      name: 'faults',
      nodes: NODES.map((id) => ({ id, label: `step ${id}`, command: out(id) })),
      edges: [
        { from: 'a', to: 'b' },
        { from: 'a', to: 'c' },
        { from: 'b', to: 'm' },
        { from: 'c', to: 'm' },
        { from: 'm', to: 'd' },
      ],
    }),
  );
  const ref = await sb.json<{ run_id: string; status: string }>(['run', '--workflow', wf]);
  expect(ref.body.status).toBe('completed');
  reference = await treeHashes(ref.body.run_id);
  expect(Object.keys(reference)).toEqual([...NODES].sort());
});
afterAll(async () => {
  await sb.cleanup();
});

async function killedAt(point: string, runId: string): Promise<{ code: number | null; signal: string | null }> {
  const child = spawn(process.execPath, [MSO_BIN, 'run', '--workflow', wf, '--run-id', runId], {
    cwd: sb.cwd,
    env: { ...sb.env, MSO_FAULT_KILL_AT: point },
    stdio: 'ignore',
  });
  return new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
}

describe('coordinator killed at a point of the pipeline, then resumed', () => {
  const points = LONG ? [...BASE_POINTS, ...randomPoints(50)] : BASE_POINTS;
  it.each(points.map((p, i) => [p, i] as const))('%s', async (point, i) => {
    const runId = `20261127-msoorch-fault-${i}`;
    const killed = await killedAt(point, runId);
    expect(killed.signal, `the fault point ${point} was never reached`).toBe('SIGKILL');
    const resumed = await sb.json<{ status: string; nodes: Record<string, number> }>(['resume', runId]);
    expect(resumed.body, JSON.stringify(resumed.body)).toMatchObject({ status: 'completed', nodes: { done: 5 } });
    // Each node committed exactly once (a finished node is never run again), with the reference run's tree.
    const commits = await q(
      `SELECT node_id, count(*) AS n FROM events WHERE run_id = '${runId}' AND type = 'node.committed' GROUP BY node_id ORDER BY node_id`,
    );
    expect(commits).toEqual([...NODES].sort().map((node_id) => ({ node_id, n: 1 })));
    expect(await treeHashes(runId)).toEqual(reference);
    // Nothing left open: no attempt running, no lease held; every node's last state is done.
    expect(await q(`SELECT count(*) AS n FROM attempts WHERE run_id = '${runId}' AND status = 'running'`)).toEqual([
      { n: 0 },
    ]);
    expect(await q(`SELECT count(*) AS n FROM run_leases WHERE run_id = '${runId}'`)).toEqual([{ n: 0 }]);
    const last = await q(
      `SELECT node_id, json_extract(payload, '$.state') AS s FROM events WHERE seq IN (SELECT max(seq) FROM events WHERE run_id = '${runId}' AND type = 'node.state' GROUP BY node_id) ORDER BY node_id`,
    );
    expect(last).toEqual([...NODES].sort().map((node_id) => ({ node_id, s: 'done' })));
    const outcomes = await q(
      `SELECT json_extract(payload, '$.status') AS s FROM events WHERE run_id = '${runId}' AND type = 'run.outcome'`,
    );
    expect(outcomes).toEqual([{ s: 'completed' }]);
  });
});
