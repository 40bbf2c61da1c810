import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MSO_BIN } from '../helpers/cli.js';
import {
  REDIS,
  committed,
  distributed,
  fanOut,
  q,
  redisOrSkip,
  setUpDistributed,
  startWorker,
  t,
  tearDownDistributed,
  until,
  workflow,
} from '../helpers/distributed.js';

// Scale-out (issue 21): `mso worker` processes take node jobs from Redis/BullMQ while one coordinator keeps the DAG
// and the audit log (helpers in test/helpers/distributed.ts; --concurrency and decisions during a run in
// distributed-gates.e2e.test.ts; decisions and cancel from a workspace sharing only the store in distributed-store).
// The 30-node shape: root, 28 branches, join (about 17 s here for the distributed and the local run of it).
const BRANCHES = 28;
/** A redis-server binary for the restart test (it runs a private one it can kill), if this machine has one. */
const REDIS_SERVER = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
const unreachable = await redisOrSkip();

/** first → slow (3 s) → last: a run with a node in flight long enough to kill something under it. */
const slowChain = (name: string): Promise<string> =>
  workflow(
    name,
    [
      { id: 'first', label: 'first', command: 'echo 1 > one.txt' },
      { id: 'slow', label: 'slow', command: 'sleep 3 && echo 2 > two.txt' },
      { id: 'last', label: 'last', command: 'cat one.txt two.txt > both.txt' },
    ],
    [
      { from: 'first', to: 'slow' },
      { from: 'slow', to: 'last' },
    ],
  );

describe.skipIf(unreachable !== null)(
  'distributed backend (mso worker + coordinator over Redis)',
  { timeout: 120_000 },
  () => {
    beforeEach(() => setUpDistributed());
    afterEach(() => tearDownDistributed());

    it('3 workers run a fan-out/fan-in workflow with the outcomes and tree hashes of the local backend', async () => {
      const wf = await fanOut('fan', BRANCHES);
      const repo = join(t.sb.dir, 'repo');
      const workers = await Promise.all(['w1', 'w2', 'w3'].map((n) => startWorker(n, ['--concurrency', '2'])));
      const listed = await t.sb.json<{ workers: Array<{ name: string; agents: string[] }> }>([
        'workers',
        '--redis',
        REDIS,
        '--queue-prefix',
        t.prefix,
      ]);
      expect(listed.body.workers.map((w) => w.name)).toEqual(['w1', 'w2', 'w3']);
      // By default a worker takes the lanes of the agents that can run on its machine: here (no agent CLI on PATH, no
      // API key) only shell, and it says why it leaves each other one.
      expect(listed.body.workers.map((w) => w.agents)).toEqual([['shell'], ['shell'], ['shell']]);
      expect(workers[0]?.log()).toMatch(/not taking jobs for claude-code: /);
      const d = await t.sb.json<{ run_id: string; status: string; nodes: Record<string, number> }>(
        ['run', '--workflow', wf, '--repo', repo, '--max-concurrency', '8', ...distributed()],
        { cwd: repo },
      );
      expect(d.body, d.stderr).toMatchObject({ status: 'completed' });
      const l = await t.sb.json<{ run_id: string; status: string }>(
        ['run', '--workflow', wf, '--repo', repo, '--max-concurrency', '8'],
        { cwd: repo },
      );
      expect(l.body.status).toBe('completed');
      const dist = committed(d.body.run_id);
      const local = committed(l.body.run_id);
      expect(Object.keys(dist).sort()).toHaveLength(BRANCHES + 2);
      // Each node done exactly once, and byte for byte what the local backend made.
      for (const [node, hashes] of Object.entries(dist)) expect(hashes, node).toEqual(local[node]);
      // Agent nodes went to workers (merges stay on the coordinator); only workers that exist took them.
      const applied = q(
        `SELECT node_id, json_extract(payload, '$.worker') AS w FROM events WHERE run_id = ? AND type = 'node.job_applied'`,
        d.body.run_id,
      );
      expect(applied.map((a) => a['node_id']).sort()).toEqual(
        ['root', ...Array.from({ length: BRANCHES }, (_, i) => `b${i + 1}`)].sort(),
      );
      for (const a of applied) expect(['w1', 'w2', 'w3']).toContain(a['w']);
      // The node branches hold exactly the recorded commits; no job ref is left behind.
      const refs = execFileSync('git', ['for-each-ref', '--format=%(refname) %(objectname)'], { cwd: repo }).toString();
      for (const r of q(
        `SELECT node_id, json_extract(payload, '$.commit') AS c FROM events WHERE run_id = ? AND type = 'node.committed'`,
        d.body.run_id,
      ))
        expect(refs).toContain(`refs/heads/mso/${d.body.run_id}/${r['node_id'] as string} ${r['c'] as string}`);
      expect(refs).not.toContain('refs/mso-jobs/');
      // SIGTERM: each worker stops cleanly and its heartbeat goes.
      for (const w of workers) w.proc.kill('SIGTERM');
      expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0, 0]);
      const after = await t.sb.json<{ workers: unknown[] }>(['workers', '--redis', REDIS, '--queue-prefix', t.prefix]);
      expect(after.body.workers).toEqual([]);
    });

    it('refuses bad input with exit 2 before anything is written, and an unreachable Redis with its URL', async () => {
      const wf = await workflow('bad', [{ id: 'a', label: 'a', command: 'true' }], []);
      const badUrl = await t.sb.json<{ error: { code: string; message: string } }>(
        ['run', '--workflow', wf, '--backend', 'distributed', '--redis', 'http://127.0.0.1:6379'],
        { cwd: join(t.sb.dir, 'repo') },
      );
      expect(badUrl.code).toBe(2);
      expect(badUrl.body.error.message).toContain('--redis');
      expect((await t.sb.json<{ runs: unknown[] }>(['status'])).body.runs).toEqual([]);
      const badAgent = await t.sb.json<{ error: { message: string } }>([
        'worker',
        '--redis',
        REDIS,
        '--agents',
        'nope',
      ]);
      expect(badAgent.code).toBe(2);
      expect(badAgent.body.error.message).toContain('nope is not an agent of this workspace');
      // An agent the workspace declares but this machine cannot run (its CLI is not on PATH) is refused by name.
      const absent = await t.sb.json<{ error: { message: string } }>([
        'worker',
        '--redis',
        REDIS,
        '--agents',
        'shell,claude-code',
      ]);
      expect(absent.code).toBe(2);
      expect(absent.body.error.message).toMatch(/^invalid --agents: claude-code cannot run on this machine \(.+\)/);
      const down = await t.sb.json<{ error: { code: string; message: string } }>([
        'workers',
        '--redis',
        'redis://:hunter2@127.0.0.1:1',
      ]);
      expect(down.code).toBe(1);
      expect(down.body.error.code).toBe('MSO_QUEUE_UNAVAILABLE');
      expect(down.body.error.message).toContain('127.0.0.1:1');
      expect(JSON.stringify(down.body)).not.toContain('hunter2');
    });

    it('a job for an agent no live worker has fails the node naming the agent; a worker never takes it', async () => {
      const wf = await workflow(
        'lanes',
        [
          { id: 'a', label: 'a', command: 'echo a > a.txt' },
          { id: 'b', label: 'b', agent: 'shell2', instructions: 'echo b > b.txt' },
        ],
        [{ from: 'a', to: 'b' }],
      );
      const w = await startWorker('only-shell', ['--agents', 'shell']);
      const r = await t.sb.json<{ status: string; reason: string }>(['run', '--workflow', wf, ...distributed()], {
        cwd: join(t.sb.dir, 'repo'),
      });
      expect(r.body.status).toBe('failed');
      expect(r.body.reason).toContain('no live worker has agent "shell2"');
      expect(r.body.reason).toContain('only-shell [shell]');
      expect(w.log()).toContain('.a.1');
      expect(w.log()).not.toContain('.b.1');
    });

    it('a worker SIGKILLed mid-node: another takes the node over, which is recorded done once', async () => {
      const wf = await workflow(
        'stall',
        [
          { id: 'first', label: 'first', command: 'echo 1 > one.txt' },
          { id: 'slow', label: 'slow', command: 'sleep 2 && echo 2 > two.txt' },
        ],
        [{ from: 'first', to: 'slow' }],
      );
      // A short lock: the stalled-job check hands a silent worker's job on after 2 s.
      const victim = await startWorker('victim', ['--lock-ms', '2000']);
      const repo = join(t.sb.dir, 'repo');
      const run = t.sb.json<{ run_id: string; status: string }>(['run', '--workflow', wf, ...distributed()], {
        cwd: repo,
      });
      await until(() => victim.log().includes('.slow.1 ('), 'the victim to take the slow node');
      victim.proc.kill('SIGKILL');
      await victim.exited;
      const rescuer = await startWorker('rescuer', ['--lock-ms', '2000']);
      const r = await run;
      expect(r.body.status, r.stderr).toBe('completed');
      expect(rescuer.log()).toContain('.slow.1 (');
      const done = committed(r.body.run_id);
      expect(done['slow']).toHaveLength(1);
      expect(done['first']).toHaveLength(1);
      const applied = q(
        `SELECT json_extract(payload, '$.worker') AS w FROM events WHERE run_id = ? AND node_id = 'slow' AND type = 'node.job_applied'`,
        r.body.run_id,
      );
      expect(applied).toEqual([{ w: 'rescuer' }]);
      const commit = q(
        `SELECT json_extract(payload, '$.commit') AS c FROM events WHERE run_id = ? AND node_id = 'slow' AND type = 'node.committed'`,
        r.body.run_id,
      )[0]?.['c'] as string;
      const branch = execFileSync('git', ['rev-parse', `mso/${r.body.run_id}/slow`], { cwd: repo })
        .toString()
        .trim();
      expect(branch).toBe(commit);
    });

    it('the coordinator killed mid-run: resume adopts the job in flight and runs no finished node again', async () => {
      const wf = await slowChain('resume');
      const w = await startWorker('steady');
      const repo = join(t.sb.dir, 'repo');
      const coordinator = spawn(
        process.execPath,
        [MSO_BIN, '--json', 'run', '--workflow', wf, '--run-id', '20261127-msowd-dist-resume', ...distributed()],
        { cwd: repo, env: t.sb.env, stdio: 'ignore' },
      );
      t.children.push(coordinator);
      const gone = new Promise((done) => coordinator.on('exit', done));
      await until(() => w.log().includes('.slow.1 ('), 'the slow node to be taken');
      // The run's lease refuses a second coordinator while the first lives.
      const second = await t.sb.json<{ error: { code: string } }>(
        ['resume', '20261127-msowd-dist-resume', ...distributed()],
        {
          cwd: repo,
        },
      );
      expect(second.body.error.code).toBe('MSO_RUN_BUSY');
      coordinator.kill('SIGKILL');
      await gone;
      const r = await t.sb.json<{ status: string }>(['resume', '20261127-msowd-dist-resume'], { cwd: repo });
      expect(r.body.status, r.stderr).toBe('completed');
      const done = committed('20261127-msowd-dist-resume');
      expect(Object.fromEntries(Object.entries(done).map(([k, v]) => [k, v.length]))).toEqual({
        first: 1,
        slow: 1,
        last: 1,
      });
      expect(
        q(`SELECT node_id FROM events WHERE run_id = '20261127-msowd-dist-resume' AND type = 'node.adopted'`),
      ).toEqual([{ node_id: 'slow' }]);
      expect(w.log().match(/took \S+\.slow\./g)).toHaveLength(1);
      expect(w.log().match(/took \S+\.first\./g)).toHaveLength(1);
    });

    it('mso cancel reaches the worker running a node: its agent ends, the run is cancelled, resume finishes it', async () => {
      const marker = join(t.sb.dir, 'go');
      const wf = await workflow(
        'cancel',
        [
          { id: 'first', label: 'first', command: 'echo 1 > one.txt' },
          { id: 'slow', label: 'slow', command: `if [ ! -f ${marker} ]; then sleep 60; fi; echo 2 > two.txt` },
        ],
        [{ from: 'first', to: 'slow' }],
      );
      const w = await startWorker('busy');
      const repo = join(t.sb.dir, 'repo');
      const id = '20261127-msowd-dist-cancel';
      const run = t.sb.json<{ status: string; reason: string }>(
        ['run', '--workflow', wf, '--run-id', id, ...distributed()],
        { cwd: repo },
      );
      await until(() => w.log().includes('.slow.1 ('), 'the slow node to be taken');
      await t.sb.run(['cancel', id, '--reason', 'test stops it']);
      const r = await run;
      expect(r.body.status).toBe('cancelled');
      await until(() => /finished \S+\.slow\.1: cancelled/.test(w.log()), 'the worker to end the node', 30_000);
      expect(w.log()).toContain(`cancelling ${id}.slow.1`);
      await writeFile(marker, 'go');
      const resumed = await t.sb.json<{ status: string }>(['resume', id], { cwd: repo });
      expect(resumed.body.status, resumed.stderr).toBe('completed');
      expect(committed(id)['slow']).toHaveLength(1);
    });

    it.skipIf(!REDIS_SERVER)(
      'Redis restarted mid-run (private redis-server with an AOF): workers and coordinator reconnect, nothing lost or doubled',
      async () => {
        const port = 20000 + Math.floor(Math.random() * 20000);
        const dataDir = join(t.sb.dir, 'redis');
        await mkdir(dataDir);
        const startRedis = async (): Promise<ChildProcess> => {
          const r = spawn(
            REDIS_SERVER as string,
            [
              '--port',
              String(port),
              '--bind',
              '127.0.0.1',
              '--dir',
              dataDir,
              '--appendonly',
              'yes',
              '--appendfsync',
              'always',
              '--save',
              '',
            ],
            { stdio: 'ignore' },
          );
          t.children.push(r);
          for (let i = 0; ; i++) {
            const probe = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true, retryStrategy: () => null });
            probe.on('error', () => undefined);
            const up = await probe.connect().then(
              () => probe.ping().then(() => true),
              () => false,
            );
            probe.disconnect();
            if (up) break;
            if (i > 100) throw new Error(`redis-server on port ${port} did not start`);
            await new Promise((done) => setTimeout(done, 100));
          }
          return r;
        };
        let redis = await startRedis();
        const url = `redis://127.0.0.1:${port}`;
        const wf = await slowChain('restart');
        const w = await startWorker('survivor', ['--lock-ms', '5000'], url);
        const run = t.sb.json<{ run_id: string; status: string }>(
          ['run', '--workflow', wf, '--backend', 'distributed', '--redis', url, '--queue-prefix', t.prefix],
          { cwd: join(t.sb.dir, 'repo') },
        );
        await until(() => w.log().includes('.slow.1 ('), 'the slow node to be taken');
        redis.kill('SIGKILL');
        await new Promise((done) => redis.on('exit', done));
        await new Promise((done) => setTimeout(done, 1_000));
        redis = await startRedis();
        const r = await run;
        expect(r.body, r.stderr).toMatchObject({ status: 'completed' });
        const done = committed(r.body.run_id);
        expect(Object.fromEntries(Object.entries(done).map(([k, v]) => [k, v.length]))).toEqual({
          first: 1,
          slow: 1,
          last: 1,
        });
        redis.kill('SIGKILL');
      },
    );
  },
);
