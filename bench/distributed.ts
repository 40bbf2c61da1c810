// Distributed backend benchmark (not a test): N no-op shell nodes (one root, N-1 children) through the local backend
// and through 1, 2 and 4 `mso worker` processes over Redis (BullMQ), on this machine. Figures per configuration:
// nodes/s over the whole `mso run` (start-up, design, gate, nodes, finalize), and dispatch latency p50/p99: for the
// distributed backend, from a node's `node.enqueued` (committed before the job is added) to the first record its
// worker made (the attempt), for the local backend from the node's `running` state to its attempt. Each worker runs
// 2 jobs at once and the coordinator keeps as many nodes in flight as the workers have slots (the local backend 8).
// Every configuration runs in the same process run, on the same shape, so the local backend is the baseline.
// MSO_BENCH_NODES (default 1000, the issue's figure; 100 for a quick look), MSO_TEST_REDIS_URL (default redis://127.0.0.1:6379).
// Run: npm run bench:distributed (builds dist/ first: bin/mso.js runs it).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { initBenchRepo } from './bench-repo.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const BIN = join(ROOT, 'bin/mso.js');
const N = Number(process.env['MSO_BENCH_NODES'] ?? 1000);
const REDIS = process.env['MSO_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

function workflow(n: number): string {
  const ids = ['root', ...Array.from({ length: n - 1 }, (_, i) => `n${i + 1}`)];
  return [
    'name: bench-distributed',
    'goal: bench distributed',
    'nodes:',
    ...ids.map((id) => `  - { id: ${id}, label: ${id}, command: "true" }`),
    'edges:',
    ...ids.slice(1).map((id) => `  - { from: root, to: ${id} }`),
    '',
  ].join('\n');
}

const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};

interface Figures {
  readonly name: string;
  readonly seconds: number;
  readonly nodesPerS: number;
  readonly p50: number;
  readonly p99: number;
}

async function configuration(dir: string, workers: number): Promise<Figures> {
  const name = workers === 0 ? 'local' : `${workers} worker${workers > 1 ? 's' : ''}`;
  const base = await mkdtemp(join(dir, `${workers}-`));
  const env = {
    ...process.env,
    HOME: join(base, 'home'),
    MSO_WORKSPACE_ROOT: join(base, 'ws'),
    MSO_OBSERVATION_ROOT: join(base, 'obs'),
  };
  const repo = initBenchRepo(base, env);
  const wf = join(base, 'wf.yaml');
  await writeFile(wf, workflow(N));
  const prefix = `mso-bench-${process.pid}-${workers}`;
  const procs: ChildProcess[] = [];
  for (let i = 0; i < workers; i++) {
    const w = spawn(
      process.execPath,
      [BIN, 'worker', '--redis', REDIS, '--queue-prefix', prefix, '--name', `b${i}`, '--concurrency', '2'],
      {
        env: { ...env, MSO_WORKSPACE_ROOT: join(base, `ws-w${i}`), MSO_OBSERVATION_ROOT: join(base, `obs-w${i}`) },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    procs.push(w);
    await new Promise<void>((ready, failed) => {
      let text = '';
      w.stderr?.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.includes('ready')) ready();
      });
      w.on('exit', () => failed(new Error(`worker b${i} exited: ${text}`)));
    });
  }
  // As many nodes in flight as the workers have slots, so the latency is dispatch, not a wait for a free slot.
  const args = [
    '--json',
    'run',
    '--workflow',
    wf,
    '--repo',
    repo,
    '--max-concurrency',
    String(workers ? 2 * workers : 8),
  ];
  if (workers) args.push('--backend', 'distributed', '--redis', REDIS, '--queue-prefix', prefix);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: repo, env, maxBuffer: 64 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  for (const w of procs) w.kill('SIGTERM');
  await Promise.all(procs.map((w) => new Promise((done) => (w.exitCode !== null ? done(null) : w.on('exit', done)))));
  const redis = new Redis(REDIS);
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  const out = JSON.parse(r.stdout.toString()) as { run_id: string; status: string; reason: string | null };
  if (out.status !== 'completed')
    throw new Error(`${name}: run ${out.status}: ${out.reason ?? ''} ${r.stderr.toString().slice(-2000)}`);
  const db = new Database(join(base, 'ws', '.mso-context', 'audit.db'), { readonly: true });
  const start = workers
    ? "type = 'node.enqueued'"
    : "type = 'node.state' AND json_extract(payload, '$.state') = 'running'";
  const rows = db
    .prepare(
      `SELECT s.node_id, MIN(s.at) AS s, MIN(a.at) AS a FROM events s JOIN events a
         ON a.run_id = s.run_id AND a.node_id = s.node_id AND a.type = 'node.attempt'
       WHERE s.run_id = ? AND ${start.replaceAll('type', 's.type').replaceAll('payload', 's.payload')}
       GROUP BY s.node_id`,
    )
    .all(out.run_id) as Array<{ s: string; a: string }>;
  db.close();
  const lat = rows.map((x) => Date.parse(x.a) - Date.parse(x.s));
  return { name, seconds, nodesPerS: N / seconds, p50: quantile(lat, 0.5), p99: quantile(lat, 0.99) };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mso-bench-dist-'));
  try {
    const rows: Figures[] = [];
    for (const w of [0, 1, 2, 4]) rows.push(await configuration(dir, w));
    const local = rows[0] as Figures;
    console.log(`${N} no-op shell nodes (root + ${N - 1} children); ratios to the local backend of the same run`);
    console.log('backend       run s    nodes/s        dispatch p50   dispatch p99');
    for (const f of rows)
      console.log(
        `${f.name.padEnd(12)} ${f.seconds.toFixed(1).padStart(6)}   ${f.nodesPerS.toFixed(1).padStart(6)} = ${(f.nodesPerS / local.nodesPerS).toFixed(2)}×   ${`${f.p50} ms`.padStart(8)}       ${`${f.p99} ms`.padStart(8)}`,
      );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
