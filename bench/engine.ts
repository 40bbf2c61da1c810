// Scheduler benchmark (not a test): overhead per node with no-op agents on 10,000-node DAGs, including the durable
// audit writes the engine makes (two node state events per node, committed); makespan ÷ critical path with timed
// sleep agents and unlimited concurrency; peak RSS of a process that runs one 10,000-node DAG. Each overhead figure
// is measured in a fresh process (the kernel's high-water mark is its peak RSS), so one measurement's garbage does
// not weigh on the next. Run: npm run bench:engine (compiled, under plain node, as `mso` runs).
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openAuditLog, type EventInput } from '../src/audit/index.js';
import { runDag, type DagNode } from '../src/engine/index.js';
import { keepYoungGenerationSmall, nodePlatform } from '../src/platform/index.js';

const N = Number(process.env['BENCH_NODES'] ?? 10_000);
const SHAPES = ['chain', 'wide', 'random'] as const;
type Shape = (typeof SHAPES)[number];
const MB = 1024 * 1024;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function shape(name: Shape, n: number): DagNode[] {
  if (name === 'chain') return Array.from({ length: n }, (_, i) => ({ id: `n${i}`, parents: i ? [`n${i - 1}`] : [] }));
  if (name === 'wide') {
    return [
      { id: 'root', parents: [] },
      ...Array.from({ length: n - 2 }, (_, i) => ({ id: `w${i}`, parents: ['root'] })),
      { id: 'sink', parents: Array.from({ length: n - 2 }, (_, i) => `w${i}`) },
    ];
  }
  const r = rng(42);
  return Array.from({ length: n }, (_, i) => {
    const parents = new Set<string>();
    const k = i === 0 ? 0 : 1 + Math.floor(r() * 3);
    for (let j = 0; j < k; j++) parents.add(`r${Math.floor(r() * i)}`);
    return { id: `r${i}`, parents: [...parents] };
  });
}

interface OverheadFigure {
  readonly usPerNode: number;
  /** CPU time (user + system) of the process per node: less sensitive than wall time to other load on the machine. */
  readonly cpuUsPerNode: number;
  readonly startRssMb: number;
  readonly peakRssMb: number;
}

/**
 * One measurement, in this (child) process. No-op agents have no side effect, so the scheduler's group commit records
 * their states together; with `writeAhead` each agent commits the buffered states before it runs, as the runner does
 * before it makes a worktree or spawns an agent.
 */
type Mode = 'grouped' | 'write-ahead' | 'bare';
const MODES: readonly Mode[] = ['grouped', 'write-ahead', 'bare'];

async function measureOverhead(name: Shape, mode: Mode): Promise<OverheadFigure> {
  const writeAhead = mode === 'write-ahead';
  const startRssMb = process.memoryUsage().rss / MB;
  const dir = await mkdtemp(join(tmpdir(), 'mso-bench-engine-'));
  const log = openAuditLog(nodePlatform(), { file: join(dir, 'audit.db'), blobsDir: join(dir, 'blobs') });
  try {
    const nodes = shape(name, N);
    const runId = `bench-${name}`;
    const buffered: EventInput[] = [];
    const flush = (): void => {
      if (buffered.length) log.appendEvents(buffered.splice(0));
    };
    const t = performance.now();
    const cpu = process.cpuUsage();
    const result = await runDag(
      nodes,
      mode === 'bare'
        ? {
            execute: async () => ({ kind: 'done' }),
            admit: () => 'start',
            onState: () => undefined,
            flush: () => undefined,
          }
        : {
            execute: writeAhead ? async () => (flush(), { kind: 'done' }) : async () => ({ kind: 'done' }),
            admit: () => 'start',
            onState: (id, state, detail) => {
              buffered.push({ runId, type: 'node.state', nodeId: id, payload: { state, detail } });
            },
            flush,
          },
      { maxConcurrency: 64 },
    );
    const ms = performance.now() - t;
    const used = process.cpuUsage(cpu);
    const cpuUsPerNode = (used.user + used.system) / nodes.length;
    // The figure counts only if every state change is on record when the scheduler returns.
    if (buffered.length) throw new Error('the scheduler returned with state changes not on record');
    if ([...result.states.values()].some((s) => s !== 'done')) throw new Error('not every node finished');
    const recorded = log.db
      .prepare("SELECT COUNT(*) AS n FROM events WHERE run_id = ? AND type = 'node.state'")
      .get(runId) as { n: number };
    const expected = mode === 'bare' ? 0 : nodes.length * 2;
    if (recorded.n !== expected) throw new Error(`${recorded.n} state events on record, not ${expected}`);
    return {
      usPerNode: (ms * 1000) / nodes.length,
      cpuUsPerNode,
      startRssMb,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
    };
  } finally {
    log.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function overheadInChild(name: Shape, mode: Mode): OverheadFigure {
  const args = [...process.execArgv, fileURLToPath(import.meta.url), '--child', name, mode];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: process.env });
  if (r.status !== 0) throw new Error(`bench child ${name} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as OverheadFigure;
}

function layered(layers: number, width: number, r: () => number): DagNode[] {
  const out: DagNode[] = [];
  for (let l = 0; l < layers; l++) {
    for (let w = 0; w < width; w++) {
      const parents = l === 0 ? [] : [`L${l - 1}-${Math.floor(r() * width)}`, `L${l - 1}-${Math.floor(r() * width)}`];
      out.push({ id: `L${l}-${w}`, parents: [...new Set(parents)] });
    }
  }
  return out;
}

async function makespanRatio(
  nodes: DagNode[],
  duration: (id: string) => number,
): Promise<{ makespan: number; critical: number }> {
  const finish = new Map<string, number>();
  for (const n of nodes) finish.set(n.id, Math.max(0, ...n.parents.map((p) => finish.get(p) ?? 0)) + duration(n.id));
  const critical = Math.max(...finish.values());
  const t = performance.now();
  await runDag(
    nodes,
    {
      execute: (id) => new Promise((res) => setTimeout(() => res({ kind: 'done' }), duration(id))),
      admit: () => 'start',
      onState: () => undefined,
      flush: () => undefined,
    },
    { maxConcurrency: Number.MAX_SAFE_INTEGER },
  );
  return { makespan: performance.now() - t, critical };
}

async function main(): Promise<void> {
  console.log(
    `engine bench (node ${process.versions.node}, ${N.toLocaleString('en-US')} nodes per DAG; durable audit writes, no git; one process per overhead figure)`,
  );
  let peak = { mb: 0, start: 0, what: '' };
  for (const name of SHAPES) {
    const grouped = overheadInChild(name, 'grouped');
    const ahead = overheadInChild(name, 'write-ahead');
    const bare = overheadInChild(name, 'bare');
    for (const [f, what] of [
      [grouped, `${name}`],
      [ahead, `${name}, write-ahead`],
    ] as const) {
      if (f.peakRssMb > peak.mb) peak = { mb: f.peakRssMb, start: f.startRssMb, what };
    }
    console.log(
      `overhead ${name.padEnd(6)}: ${grouped.usPerNode.toFixed(1)} µs/node wall, ${grouped.cpuUsPerNode.toFixed(1)} µs CPU (target <= 20) | ${ahead.usPerNode.toFixed(1)} µs wall, ${ahead.cpuUsPerNode.toFixed(1)} µs CPU when every agent commits before it runs | bare scheduler, no audit: ${bare.usPerNode.toFixed(1)} µs wall, ${bare.cpuUsPerNode.toFixed(1)} µs CPU`,
    );
  }
  const r = rng(7);
  const dur = new Map<string, number>();
  const d = (id: string): number => {
    if (!dur.has(id)) dur.set(id, 20 + Math.floor(r() * 40));
    return dur.get(id) as number;
  };
  for (const [name, nodes] of [
    ['random', shape('random', 300)],
    ['layered', layered(12, 25, rng(3))],
  ] as const) {
    const { makespan, critical } = await makespanRatio(nodes, d);
    console.log(
      `makespan ${name.padEnd(7)}: ${makespan.toFixed(0)} ms / critical path ${critical} ms = ${(makespan / critical).toFixed(3)} (target <= 1.05; level-by-level runs 1.9-3.0)`,
    );
  }
  console.log(
    `peak RSS           : ${peak.mb.toFixed(0)} MB (${peak.what}; the process started at ${peak.start.toFixed(0)} MB with the engine loaded; target <= 120 MB at 10,000 nodes)`,
  );
}

const child = process.argv.indexOf('--child');
if (child > 0) {
  const name = process.argv[child + 1] as Shape;
  if (!SHAPES.includes(name)) throw new Error(`unknown shape ${name}`);
  const mode = process.argv[child + 2] as Mode;
  if (!MODES.includes(mode)) throw new Error(`unknown mode ${mode}`);
  keepYoungGenerationSmall(); // as createNodeApp does for every mso process
  process.stdout.write(JSON.stringify(await measureOverhead(name, mode)));
} else {
  await main();
}
