import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openPostgres } from '../../src/platform/node/postgres.js';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { MSO_BIN, makeSandbox, type Sandbox } from './cli.js';

// Scale-out (issue 21): `mso worker` processes take node jobs from Redis/BullMQ while one coordinator keeps the DAG
// and the audit log. Every test uses its own queue prefix, so test files and helpers sharing the Redis never meet.
export const REDIS = process.env['MSO_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** Null when Redis answers, else why not. */
export async function redisReachable(): Promise<string | null> {
  const r = new Redis(REDIS, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await Promise.race([
      r.connect().then(() => r.ping()),
      new Promise((_, no) => setTimeout(() => no(new Error('no answer in 3 s')), 3_000)),
    ]);
    return null;
  } catch (e) {
    return (e as Error).message;
  } finally {
    r.disconnect();
  }
}

/** {@link redisReachable}, and when Redis does not answer, a warning that the distributed tests of a file are skipped. */
export async function redisOrSkip(): Promise<string | null> {
  const unreachable = await redisReachable();
  if (unreachable) console.warn(`distributed e2e tests skipped: Redis at ${REDIS} unreachable (${unreachable})`);
  return unreachable;
}

/** A node `slow` that runs until the `marker` file exists: the run goes on meanwhile, and ends when the test says. */
export const slowUntil = (marker: string): object => ({
  id: 'slow',
  label: 'slow',
  command: `while [ ! -f ${marker} ]; do sleep 0.2; done; echo slow > slow.txt`,
});

/** The sandbox, queue prefix and processes of the current test (set by {@link setUpDistributed}). */
export const t = {
  sb: undefined as unknown as Sandbox,
  prefix: '',
  children: [] as ChildProcess[],
};
let seq = 0;

/**
 * A sandbox with a workspace, a repository at `dir/repo` and a policy with a second shell agent (`shell2`), a short
 * wait for missing workers and `extra` merged in; and a fresh queue prefix.
 */
export async function setUpDistributed(extra: Record<string, unknown> = {}): Promise<void> {
  t.sb = await makeSandbox('mso-dist-');
  t.prefix = `mso-test-${process.pid}-${Date.now().toString(36)}-${seq++}`;
  await t.sb.run(['init']);
  const repo = join(t.sb.dir, 'repo');
  await mkdir(repo);
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: repo });
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', 'base'], {
    cwd: repo,
  });
  await writeFile(
    join(t.sb.dir, 'workspace', '.mso-context', 'config', 'policy.yaml'),
    stringify({
      agents: { shell2: { kind: 'shell' } },
      run_policy: { max_active_runs: 50 },
      execution: { no_worker_timeout_s: 3 },
      ...extra,
    }),
  );
}

/** Kills what the test started, removes its queue keys and its sandbox. */
export async function tearDownDistributed(): Promise<void> {
  for (const c of t.children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  const r = new Redis(REDIS);
  const keys = await r.keys(`${t.prefix}:*`);
  if (keys.length) await r.del(...keys);
  r.disconnect();
  await t.sb.cleanup();
}

export interface TestWorker {
  readonly name: string;
  readonly proc: ChildProcess;
  log(): string;
  exited: Promise<number | null>;
}

/**
 * Starts `mso worker` with its own workspace (its own machine, as far as mso can tell) and waits until it is ready.
 * `o.policy`: the worker workspace's policy.yaml (the agents it has); `o.env`: more environment.
 */
export async function startWorker(
  name: string,
  extra: readonly string[] = [],
  redis = REDIS,
  o: { policy?: Record<string, unknown>; env?: Record<string, string> } = {},
): Promise<TestWorker> {
  const ws = join(t.sb.dir, `ws-${name}`);
  if (o.policy) {
    await mkdir(join(ws, '.mso-context', 'config'), { recursive: true });
    await writeFile(join(ws, '.mso-context', 'config', 'policy.yaml'), stringify(o.policy));
  }
  const proc = spawn(
    process.execPath,
    [MSO_BIN, 'worker', '--redis', redis, '--queue-prefix', t.prefix, '--name', name, ...extra],
    {
      env: { ...t.sb.env, MSO_WORKSPACE_ROOT: ws, MSO_OBSERVATION_ROOT: join(ws, 'obs'), ...o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  t.children.push(proc);
  let text = '';
  proc.stderr?.on('data', (c: Buffer) => (text += c.toString()));
  proc.stdout?.on('data', () => undefined);
  const exited = new Promise<number | null>((done) => proc.on('exit', (code) => done(code)));
  await until(() => text.includes(`worker ${name} ready`) || proc.exitCode !== null, `worker ${name} ready`);
  if (proc.exitCode !== null) throw new Error(`worker ${name} exited: ${text}`);
  return { name, proc, log: () => text, exited };
}

export async function until(ok: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A query on the sandbox's SQLite audit log. */
export const q = (sql: string, ...args: unknown[]): Array<Record<string, unknown>> => {
  // The sandbox's store: PostgreSQL when the test set MSO_AUDIT_URL, else the workspace's SQLite file.
  const url = t.sb.env['MSO_AUDIT_URL'];
  const db = url
    ? openPostgres(url, { readonly: true })
    : new Database(join(t.sb.dir, 'workspace', '.mso-context', 'audit.db'), { readonly: true });
  try {
    return db.prepare(sql).all(...args) as Array<Record<string, unknown>>;
  } finally {
    db.close();
  }
};

/** The tree hash of each `node.committed` event of a run, by node (a node done twice shows two). */
export const committed = (runId: string): Record<string, string[]> => {
  const out: Record<string, string[]> = {};
  for (const r of q(
    `SELECT node_id, json_extract(payload, '$.tree_hash') AS h FROM events WHERE run_id = ? AND type = 'node.committed' ORDER BY seq`,
    runId,
  ))
    (out[r['node_id'] as string] ??= []).push(r['h'] as string);
  return out;
};

export async function workflow(name: string, nodes: object[], edges: object[]): Promise<string> {
  const file = join(t.sb.dir, `${name}.yaml`);
  await writeFile(file, stringify({ name, nodes, edges }));
  return file;
}

/** root → b1..bN (each writes its own file) → join (a merge whose gate counts them). */
export function fanOut(name: string, n: number): Promise<string> {
  const branches = Array.from({ length: n }, (_, i) => `b${i + 1}`);
  return workflow(
    name,
    [
      { id: 'root', label: 'root', command: 'mkdir -p out && echo root > out/root.txt' },
      ...branches.map((b) => ({ id: b, label: b, command: `echo ${b} > out/${b}.txt && echo ${b} >> log-${b}.txt` })),
      {
        id: 'join',
        label: 'join',
        command: 'cat out/b*.txt > ALL.txt',
        gates: [`test "$(wc -l < ALL.txt)" -eq ${n}`],
        merge_policy: { strategy: 'score_weighted', quorum: 1 },
      },
    ],
    [...branches.map((b) => ({ from: 'root', to: b })), ...branches.map((b) => ({ from: b, to: 'join' }))],
  );
}

/** The flags of a distributed run on the test's Redis and prefix. */
export const distributed = (): string[] => ['--backend', 'distributed', '--redis', REDIS, '--queue-prefix', t.prefix];

/** A coordinator (`mso --json run`) in its own process, its summary when it ends. */
export const coordinate = (
  wf: string,
  id: string,
  flags: readonly string[] = distributed(),
): { proc: ChildProcess; done: Promise<{ code: number | null; body: string }> } => {
  const proc = spawn(process.execPath, [MSO_BIN, '--json', 'run', '--workflow', wf, '--run-id', id, ...flags], {
    cwd: join(t.sb.dir, 'repo'),
    env: t.sb.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.children.push(proc);
  let out = '';
  let err = '';
  proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const done = new Promise<{ code: number | null; body: string }>((res) =>
    proc.on('exit', (code) => res({ code, body: out || err })),
  );
  return { proc, done };
};

/** The work a manual node asked for, done by hand in its worktree of the coordinator's workspace. */
export async function doByHand(runId: string, node: string): Promise<void> {
  const wt = join(t.sb.dir, 'workspace', '.mso-context', 'active', runId, 'worktree', node);
  await mkdir(join(wt, 'outputs'), { recursive: true });
  await writeFile(join(wt, 'outputs', `${node}.md`), 'done by hand\n');
}
