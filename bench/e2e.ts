// End-to-end benchmark (not a test): what `mso run` costs per node in a real git repository, against the git floor
// (bench/git-floor.sh: worktree add + the step + add + commit per node, in plain git) on the same shapes, in the same
// process run: a chain of 30 shell nodes, and a wide workflow of 42 (one root, 41 children, 8 at a time). Every
// node writes one file. The mso figure is the whole `mso run` (start-up, design, governance, tickets, the nodes,
// finalize) divided by the node count; the second line takes out the fixed cost of a run (a one-node run). Wall
// time and CPU time are medians over the rounds, the runs interleaved round by round. CPU time is the machine's busy
// time while the run ran (/proc/stat: every process it started, on every core). The user + system time of the
// process tree (what /usr/bin/time reports) leaves out mso's git helper shell and the git processes it ran: that
// shell ends after mso does and is never waited for, so its time is counted nowhere. Run the benchmark on an
// otherwise idle machine.
// A last line times a one-node run in a workspace that has run once before (a user's every run but the first), apart
// from the ratios. MSO_BENCH_BASELINE=<another built checkout> adds the same runs with its bin/mso.js (e.g. main).
// Run: npm run bench:e2e (builds dist/ first: bin/mso.js runs it).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBenchRepo } from './bench-repo.js';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const BIN = join(ROOT, 'bin/mso.js');
const FLOOR = join(ROOT, 'bench/git-floor.sh');
const BASELINE = process.env['MSO_BENCH_BASELINE'];

interface Shape {
  readonly name: string;
  readonly nodes: number;
  readonly concurrency: number;
  readonly floorArgs: readonly string[];
  readonly workflow: string;
}

function workflow(name: string, ids: readonly string[], edges: ReadonlyArray<readonly [string, string]>): string {
  return [
    `name: ${name}`,
    `goal: bench ${name}`,
    'nodes:',
    ...ids.map((id) => `  - id: ${id}\n    label: ${id}\n    command: printf '${id}\\n' > out-${id}.txt`),
    ...(edges.length ? ['edges:', ...edges.map(([a, b]) => `  - { from: ${a}, to: ${b} }`)] : []),
    '',
  ].join('\n');
}

const chainIds = Array.from({ length: 30 }, (_, i) => `n${i + 1}`);
const wideIds = ['root', ...Array.from({ length: 41 }, (_, i) => `w${i + 1}`)];
const SHAPES: readonly Shape[] = [
  {
    name: 'chain',
    nodes: 30,
    concurrency: 1,
    floorArgs: ['chain', '30'],
    workflow: workflow(
      'chain',
      chainIds,
      chainIds.slice(1).map((id, i) => [chainIds[i] as string, id] as const),
    ),
  },
  {
    name: 'wide',
    nodes: 42,
    concurrency: 8,
    floorArgs: ['wide', '42', '8'],
    workflow: workflow(
      'wide',
      wideIds,
      wideIds.slice(1).map((id) => ['root', id] as const),
    ),
  },
];

interface Figure {
  readonly wallMs: number;
  readonly cpuMs: number;
}

/** USER_HZ: /proc/stat counts in these (100 on Linux). */
const CLOCK_TICKS = 100;

/** The machine's busy time so far, in ms (/proc/stat: user, nice, system, irq, softirq and steal of all cores). */
function busyMs(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
  return ((user + nice + system + irq + softirq + steal) * 1000) / CLOCK_TICKS;
}

/** Runs a command and returns its wall time and the machine's busy time while it ran. */
function timed(cmd: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Figure {
  const busy = busyMs();
  const start = performance.now();
  const r = spawnSync(cmd, args, { cwd, env, maxBuffer: 1 << 26 });
  const wallMs = performance.now() - start;
  const cpuMs = busyMs() - busy;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return { wallMs, cpuMs };
}

/**
 * Every run's files stay until the bench ends. On ext4 without a journal (these machines' disks) a new file costs more
 * while many files were deleted in the last minute or more (the allocator skips recently freed inodes one by one), so a
 * run made right after another run's files were removed paid for that removal: runs of the same build varied by half.
 */
let scratch: string | undefined;
const runDir = async (name: string): Promise<string> => {
  scratch ??= await mkdtemp(join(tmpdir(), 'mso-bench-e2e-'));
  return mkdtemp(join(scratch, `${name}-`));
};

/**
 * `mso run` of the shape in a new repository and workspace (what the ratios count). `again`: a second run of it in the
 * same workspace is timed instead, the first not (a workspace's first run also makes the workspace and its audit
 * database: the fixed cost of every later run is the second figure).
 */
async function msoRun(shape: Shape, env: NodeJS.ProcessEnv, bin = BIN, again = false): Promise<Figure> {
  const dir = await runDir(`mso-${shape.name}`);
  const repo = initBenchRepo(dir, env);
  await writeFile(join(dir, 'workflow.yaml'), shape.workflow);
  const runEnv = { ...env, HOME: dir, MSO_WORKSPACE_ROOT: join(dir, 'ws'), MSO_OBSERVATION_ROOT: join(dir, 'obs') };
  const args = [bin, '--quiet', 'run', '--workflow', 'workflow.yaml', '--repo', repo];
  const run = (): Figure =>
    timed(process.execPath, [...args, '--max-concurrency', String(shape.concurrency)], dir, runEnv);
  if (again) run();
  return run();
}

async function floorRun(shape: Shape, env: NodeJS.ProcessEnv): Promise<Figure> {
  const dir = await runDir(`floor-${shape.name}`);
  return timed(FLOOR, shape.floorArgs, ROOT, { ...env, FLOOR_DIR: join(dir, 'floor') });
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

const ONE: Shape = {
  name: 'one',
  nodes: 1,
  concurrency: 1,
  floorArgs: ['chain', '1'],
  workflow: workflow('one', ['n1'], []),
};

async function main(): Promise<void> {
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], LANG: 'C', TMPDIR: process.env['TMPDIR'] };
  const runs = new Map<string, Figure[]>();
  const add = (k: string, f: Figure): void => void runs.set(k, [...(runs.get(k) ?? []), f]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of [...SHAPES, ONE]) {
      add(`floor ${s.name}`, await floorRun(s, env));
      add(`mso ${s.name}`, await msoRun(s, env));
      if (BASELINE) add(`baseline ${s.name}`, await msoRun(s, env, join(BASELINE, 'bin/mso.js')));
    }
    add('mso again', await msoRun(ONE, env, BIN, true));
    if (BASELINE) add('baseline again', await msoRun(ONE, env, join(BASELINE, 'bin/mso.js'), true));
  }
  const fixed = (k: string, f: (x: Figure) => number): number => median((runs.get(k) ?? []).map(f));
  console.log(
    `e2e bench (node ${process.versions.node}, ${ROUNDS} rounds, medians; per node = whole run ÷ nodes; shell nodes writing one file each)`,
  );
  for (const s of SHAPES) {
    const per = (k: string, f: (x: Figure) => number): number => median((runs.get(k) ?? []).map(f)) / s.nodes;
    const floorWall = per(`floor ${s.name}`, (x) => x.wallMs);
    const floorCpu = per(`floor ${s.name}`, (x) => x.cpuMs);
    const msoWall = per(`mso ${s.name}`, (x) => x.wallMs);
    const msoCpu = per(`mso ${s.name}`, (x) => x.cpuMs);
    const label = `${s.name} (${s.nodes} nodes, concurrency ${s.concurrency})`;
    // Without the fixed cost of a run (start-up, design, gate, finalize: a one-node run of the same step).
    const marginal = (k: string, f: (x: Figure) => number): number =>
      (median((runs.get(`${k} ${s.name}`) ?? []).map(f)) - fixed(`${k} one`, f)) / (s.nodes - 1);
    console.log(
      `${label.padEnd(32)}: mso ${msoWall.toFixed(0).padStart(4)} ms/node wall, ${msoCpu.toFixed(0).padStart(3)} ms CPU | git floor ${floorWall.toFixed(0).padStart(3)} ms wall, ${floorCpu.toFixed(0).padStart(3)} ms CPU | ratio ${(msoWall / floorWall).toFixed(2)} wall, ${(msoCpu / floorCpu).toFixed(2)} CPU (target <= 2)`,
    );
    console.log(
      `${''.padEnd(32)}  each node after the first: mso ${marginal('mso', (x) => x.wallMs).toFixed(0)} ms wall, ${marginal('mso', (x) => x.cpuMs).toFixed(0)} ms CPU | git floor ${marginal('floor', (x) => x.wallMs).toFixed(0)} ms wall, ${marginal('floor', (x) => x.cpuMs).toFixed(0)} ms CPU | ratio ${(marginal('mso', (x) => x.wallMs) / marginal('floor', (x) => x.wallMs)).toFixed(2)} wall, ${(marginal('mso', (x) => x.cpuMs) / marginal('floor', (x) => x.cpuMs)).toFixed(2)} CPU`,
    );
  }
  if (BASELINE)
    for (const s of [...SHAPES, ONE]) {
      const b = (f: (x: Figure) => number): number => median((runs.get(`baseline ${s.name}`) ?? []).map(f)) / s.nodes;
      console.log(
        `baseline ${s.name.padEnd(23)}: ${b((x) => x.wallMs).toFixed(0)} ms/node wall, ${b((x) => x.cpuMs).toFixed(0)} ms CPU (${BASELINE})`,
      );
    }
  console.log(
    `one-node run (the fixed cost)  : mso ${fixed('mso one', (x) => x.wallMs).toFixed(0)} ms wall, ${fixed('mso one', (x) => x.cpuMs).toFixed(0)} ms CPU | git floor ${fixed('floor one', (x) => x.wallMs).toFixed(0)} ms wall`,
  );
  console.log(
    `  in a workspace used before   : mso ${fixed('mso again', (x) => x.wallMs).toFixed(0)} ms wall, ${fixed('mso again', (x) => x.cpuMs).toFixed(0)} ms CPU${BASELINE ? ` | baseline ${fixed('baseline again', (x) => x.wallMs).toFixed(0)} ms wall` : ''} (not in the ratios)`,
  );
}

try {
  await main();
} finally {
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
}
