import type { Command } from 'commander';
import type { WorkerBeat } from '../../app/index.js';
import { InvalidArgumentError } from '../../contracts/light.js';
import { splitList, type CliContext } from '../context.js';

const int =
  (flag: string, min: number) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(flag, `${v} is not an integer >= ${min}`);
    return n;
  };

function workerRow(w: WorkerBeat & { seen_ms_ago: number }): string {
  const jobs = w.running.map((r) => `${r.run_id}/${r.node_id}`).join(', ') || 'idle';
  return `${w.name.padEnd(24)} ${`${w.host}:${w.pid}`.padEnd(24)} ${w.agents.join(',').padEnd(24)} ${`${w.running.length}/${w.concurrency}`.padEnd(5)} ${w.stopping ? 'stopping ' : ''}${jobs}`;
}

/** `mso worker` (serve node jobs of distributed runs) and `mso workers` (who is alive, what each runs). */
export function registerWorker(program: Command, ctx: CliContext): void {
  program
    .command('worker')
    .description('take node jobs of distributed runs from Redis (BullMQ) and run them here; SIGTERM: finish, then stop')
    .option('--redis <url>', 'the Redis of the runs (default $MSO_REDIS_URL or execution.redis_url)')
    .option('--concurrency <n>', 'jobs at once across its agents (default 1)', int('--concurrency', 1))
    .option(
      '--agents <list>',
      'the agents this worker takes jobs for, comma-separated (default: every agent of the workspace that can run here, never manual)',
    )
    .option('--name <id>', 'the worker name in mso workers (default <host>-<pid>)')
    .option('--queue-prefix <p>', 'key prefix in Redis (default $MSO_QUEUE_PREFIX or execution.queue_prefix)')
    .option(
      '--lock-ms <n>',
      'how long a silent worker keeps a job before another takes it over (default 30000)',
      int('--lock-ms', 1000),
    )
    .action(
      async (o: {
        redis?: string;
        concurrency?: number;
        agents?: string;
        name?: string;
        queuePrefix?: string;
        lockMs?: number;
      }) => {
        const r = await ctx.app().workers.serve({
          redis: o.redis,
          prefix: o.queuePrefix,
          concurrency: o.concurrency,
          agents: splitList(o.agents),
          name: o.name,
          lockMs: o.lockMs,
          signal: ctx.io.signal,
          onLine: (line) => ctx.log(line),
        });
        ctx.done({
          data: r,
          human: `worker ${r.name} stopped (${r.stopped}): ${r.processed} job(s) done, ${r.failed} failed`,
        });
      },
    );
  program
    .command('workers')
    .description('the live workers of a Redis: name, host, agents, jobs running')
    .option('--redis <url>', 'the Redis (default $MSO_REDIS_URL or execution.redis_url)')
    .option('--queue-prefix <p>', 'key prefix in Redis (default $MSO_QUEUE_PREFIX or execution.queue_prefix)')
    .action(async (o: { redis?: string; queuePrefix?: string }) => {
      const r = await ctx.app().workers.list({ redis: o.redis, prefix: o.queuePrefix });
      ctx.done({
        data: r,
        human: r.workers.length
          ? [
              `${'NAME'.padEnd(24)} ${'HOST:PID'.padEnd(24)} ${'AGENTS'.padEnd(24)} ${'JOBS'.padEnd(5)} RUNNING`,
              ...r.workers.map(workerRow),
            ]
          : [`(no live worker under prefix ${r.prefix} at ${r.redis})`],
      });
    });
}
