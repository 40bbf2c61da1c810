// Start-up benchmark (not a test): wall time of `mso --version`, `mso --help`, `mso status RUN` and `mso status` with
// 30 runs open, as a user's shell runs them (a fresh `node bin/mso.js` process each time), against `node -e 0`
// measured in the same rounds. The commands are interleaved round by round so a burst of load on a shared machine
// falls on all of them alike; the figures are medians. Each mso figure is also taken with NODE_DISABLE_COMPILE_CACHE=1
// to show what V8's compile cache (enabled by bin/mso.js) buys. MSO_BENCH_BASELINE=<another built checkout> adds its
// figures (e.g. main).
// Run: npm run bench:startup (builds dist/ first: bin/mso.js runs it).
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBenchRepo } from './bench-repo.js';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 15);
const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');
const BIN = join(ROOT, 'bin/mso.js');
const BASELINE = process.env['MSO_BENCH_BASELINE'];
/** Runs designed and left open in the workspace, for `mso status` with no run to list. */
const OPEN_RUNS = 30;

const WORKFLOW = `name: startup-bench
goal: A small run for mso status to read.
nodes:
${Array.from({ length: 8 }, (_, i) => `  - id: s${i}\n    label: step ${i}\n    command: printf '${i}\\n' > out${i}.txt`).join('\n')}
edges:
${Array.from({ length: 7 }, (_, i) => `  - { from: s${i}, to: s${i + 1} }`).join('\n')}
`;

interface Case {
  readonly name: string;
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

function timeOnce(c: Case, cwd: string, env: NodeJS.ProcessEnv): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, c.args, { cwd, env: { ...env, ...c.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`${c.name} exited ${r.status}: ${r.stderr.toString()}`);
  return ms;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mso-bench-startup-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: dir,
    MSO_WORKSPACE_ROOT: join(dir, 'ws'),
    MSO_OBSERVATION_ROOT: join(dir, 'obs'),
    NODE_COMPILE_CACHE: join(dir, 'compile-cache'),
  };
  try {
    const repo = initBenchRepo(dir, env);
    await writeFile(join(dir, 'workflow.yaml'), WORKFLOW);
    const run = spawnSync(
      process.execPath,
      [BIN, '--json', 'run', '--workflow', join(dir, 'workflow.yaml'), '--repo', repo],
      { cwd: dir, env },
    );
    if (run.status !== 0) throw new Error(`mso run failed: ${run.stdout.toString()}${run.stderr.toString()}`);
    const runId = (JSON.parse(run.stdout.toString()) as { run_id: string }).run_id;
    // Runs designed and not run yet: what `mso status` with no run lists (a workspace in use has some open).
    for (let i = 0; i < OPEN_RUNS; i++) {
      const designed = spawnSync(
        process.execPath,
        [BIN, '--quiet', 'design', 'all', '--workflow', join(dir, 'workflow.yaml')],
        { cwd: dir, env },
      );
      if (designed.status !== 0) throw new Error(`mso design failed: ${designed.stderr.toString()}`);
    }

    const off = { NODE_DISABLE_COMPILE_CACHE: '1' };
    const cases: Case[] = [
      { name: 'node -e 0', args: ['-e', '0'] },
      { name: 'mso --version', args: [BIN, '--version'] },
      { name: 'mso --help', args: [BIN, '--help'] },
      { name: 'mso status RUN', args: [BIN, 'status', runId] },
      { name: `mso status (${OPEN_RUNS} runs open)`, args: [BIN, 'status'] },
      { name: 'mso --version (no compile cache)', args: [BIN, '--version'], env: off },
      { name: 'mso status RUN (no compile cache)', args: [BIN, 'status', runId], env: off },
      ...(BASELINE
        ? [
            { name: 'baseline --version', args: [join(BASELINE, 'bin/mso.js'), '--version'] },
            { name: 'baseline --help', args: [join(BASELINE, 'bin/mso.js'), '--help'] },
            { name: 'baseline status RUN', args: [join(BASELINE, 'bin/mso.js'), 'status', runId] },
            { name: `baseline status (${OPEN_RUNS} runs open)`, args: [join(BASELINE, 'bin/mso.js'), 'status'] },
          ]
        : []),
    ];
    const times = new Map<string, number[]>(cases.map((c) => [c.name, []]));
    for (const c of cases) timeOnce(c, dir, env); // warm the page cache and the compile cache
    for (let i = 0; i < ROUNDS; i++) for (const c of cases) times.get(c.name)?.push(timeOnce(c, dir, env));

    const base = median(times.get('node -e 0') ?? []);
    const target: Record<string, number> = { 'mso --version': 120, 'mso --help': 120, 'mso status RUN': 200 };
    console.log(
      `start-up bench (node ${process.versions.node}, ${ROUNDS} interleaved rounds, medians; status reads an 8-node run${BASELINE ? `; baseline = ${BASELINE}` : ''})`,
    );
    for (const c of cases) {
      const m = median(times.get(c.name) ?? []);
      const t = target[c.name];
      console.log(
        `${c.name.padEnd(34)}: ${m.toFixed(0).padStart(4)} ms = ${(m / base).toFixed(1).padStart(4)} × node -e 0${t ? ` (target <= ${t} ms)` : ''}`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
