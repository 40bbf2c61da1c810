import { join } from 'node:path';
import { runChain, type AgentAdapter } from '../../agents/index.js';
import { InvalidArgumentError } from '../../contracts/index.js';
import { createGit, runNodeJob, type NodeJob, type NodeJobEnv, type NodeJobResult } from '../../engine/index.js';
import type { Workspace } from '../../workspace/index.js';
import { openAgentRuntime, retryPolicy } from '../agents-ops.js';
import type { AppDeps } from '../create-app.js';
import { openLaneFetcher, type LaneFetcher } from './lane-fetch.js';
import { beatKey, cancelChannel, connectRedis, shownUrl, type WorkerBeat } from './redis.js';

export interface ServeWorkerOptions {
  readonly redis: string;
  readonly prefix: string;
  /** Jobs run at once across every agent lane of this worker. */
  readonly concurrency: number;
  /** The agents this worker takes jobs for (default: every agent the workspace declares but `manual`). */
  readonly agents?: readonly string[] | undefined;
  readonly name?: string | undefined;
  /** How long a job stays locked to a worker that stopped renewing it before another worker takes it over. */
  readonly lockMs: number;
  /** Stop: finish the jobs in hand, take no new one. */
  readonly signal?: AbortSignal | undefined;
  /** One line per job taken and finished, for the person watching the worker. */
  readonly onLine?: ((line: string) => void) | undefined;
}

export interface WorkerReport {
  readonly name: string;
  readonly agents: readonly string[];
  readonly processed: number;
  readonly failed: number;
  readonly stopped: string;
}

/** A worker's heartbeat is renewed this often and expires after three missed beats. */
const BEAT_MS = 3_000;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/**
 * `mso worker`: takes node jobs from the queues of the agents it has and runs each with the engine's node step
 * (`runNodeJob`), until its signal stops it; then it finishes the jobs in hand and takes no new one. Its heartbeat
 * (a Redis key with a TTL) says who it is and what it runs, for `mso workers` and for coordinators waiting on an agent.
 */
export async function serveWorker(deps: AppDeps, ws: Workspace, o: ServeWorkerOptions): Promise<WorkerReport> {
  const name = o.name ?? `${deps.processInfo.hostname}-${deps.processInfo.pid}`;
  if (!NAME.test(name)) throw new InvalidArgumentError('--name', `${name}: letters, digits, _ . - only (up to 100)`);
  if (!Number.isInteger(o.concurrency) || o.concurrency < 1)
    throw new InvalidArgumentError('--concurrency', `${o.concurrency} is not an integer >= 1`);
  const rt = openAgentRuntime(deps, ws);
  let redis: Awaited<ReturnType<typeof connectRedis>> | undefined;
  let sub: Awaited<ReturnType<typeof connectRedis>> | undefined;
  let fetcher: LaneFetcher | undefined;
  const timers: NodeJS.Timeout[] = [];
  try {
    const named = o.agents ?? [...rt.adapters.keys()].filter((a) => a !== 'manual');
    for (const a of named)
      if (!rt.adapters.has(a))
        throw new InvalidArgumentError(
          '--agents',
          `${a} is not an agent of this workspace (known: ${[...rt.adapters.keys()].join(', ')})`,
        );
    if (named.includes('manual'))
      throw new InvalidArgumentError(
        '--agents',
        'manual nodes need a person at the coordinator: a worker cannot take them',
      );
    // A worker takes jobs only for agents that can run here (CLI on PATH, API key set): a job for one it lacks would
    // fail on it instead of going to a worker that has it. Named with --agents, one that cannot run is refused.
    const ready = await Promise.all(
      named.map(async (a) => ({ agent: a, ...(await (rt.adapters.get(a) as AgentAdapter).availability()) })),
    );
    const missing = ready.filter((r) => !r.available);
    if (o.agents && missing.length)
      throw new InvalidArgumentError(
        '--agents',
        missing.map((m) => `${m.agent} cannot run on this machine (${m.reason})`).join('; '),
      );
    const agents = ready.filter((r) => r.available).map((r) => r.agent);
    if (agents.length === 0)
      throw new InvalidArgumentError('--agents', 'no agent of this workspace can run on this machine');
    for (const m of missing) o.onLine?.(`not taking jobs for ${m.agent}: ${m.reason}`);
    redis = await connectRedis(o.redis);
    const conn = redis;
    const git = createGit({ proc: deps.proc, env: deps.env });
    const env: NodeJobEnv = {
      worker: name,
      home: join(ws.layout.context, 'worker', name),
      ownRoots: [ws.layout.root, ws.layout.observationRoot, ...(deps.processInfo.outputFiles?.() ?? [])],
      redactor: rt.log.redactor,
      policy: ws.policy,
      deps: (log) => ({
        ...deps,
        git,
        log,
        agents: {
          chain: rt.chain,
          adapter: rt.adapter,
          run: (chain, req, onEvent) =>
            runChain(
              {
                clock: deps.clock,
                random: deps.random,
                breaker: rt.breaker,
                retry: retryPolicy(ws.policy),
                audit: log,
              },
              chain,
              req,
              onEvent,
            ),
        },
      }),
    };
    const running = new Map<string, WorkerBeat['running'][number]>();
    // `mso cancel` of a run reaches the jobs it has here: their node step sees its signal aborted and ends its agent.
    const cancels = new Map<string, AbortController>();
    sub = conn.duplicate();
    sub.on('error', () => undefined);
    sub.on('message', (_channel: string, jobId: string) => {
      const c = cancels.get(jobId);
      if (c && !c.signal.aborted) {
        line(`cancelling ${jobId} (its run was cancelled)`);
        c.abort('cancelled by the coordinator');
      }
    });
    await sub.subscribe(cancelChannel(o.prefix));
    let stopping = false;
    let processed = 0;
    let failed = 0;
    const started = deps.clock.now().toISOString();
    let gone = false;
    const beat = async (): Promise<void> => {
      if (gone) return;
      await conn
        .set(
          beatKey(o.prefix, name),
          JSON.stringify({
            name,
            host: deps.processInfo.hostname,
            pid: deps.processInfo.pid,
            agents,
            concurrency: o.concurrency,
            started_at: started,
            at: deps.clock.now().toISOString(),
            stopping,
            running: [...running.values()],
          } satisfies WorkerBeat),
          'PX',
          BEAT_MS * 3,
        )
        .catch(() => undefined);
    };
    await beat();
    timers.push(setInterval(() => void beat(), BEAT_MS));
    const line = (s: string): void => o.onLine?.(s);
    fetcher = await openLaneFetcher<NodeJob, NodeJobResult>({
      connection: conn,
      prefix: o.prefix,
      lanes: agents,
      concurrency: o.concurrency,
      lockMs: o.lockMs,
      onError: (what, e) => line(`redis error ${what}: ${e.message}`),
      process: async (job, lane) => {
        const d = job.data;
        running.set(d.jobId, {
          job_id: d.jobId,
          run_id: d.runId,
          node_id: d.nodeId,
          lane,
          since: deps.clock.now().toISOString(),
        });
        void beat();
        line(`took ${d.jobId} (${d.runId} ${d.nodeId}, ${lane})`);
        try {
          const cancel = new AbortController();
          cancels.set(d.jobId, cancel);
          const r = await runNodeJob(env, d, cancel.signal);
          processed++;
          line(`finished ${d.jobId}: ${r.outcome.kind}${r.commit ? ` ${r.commit.slice(0, 12)}` : ''}`);
          return r;
        } catch (e) {
          failed++;
          line(`failed ${d.jobId}: ${(e as Error).message}`);
          throw e;
        } finally {
          cancels.delete(d.jobId);
          running.delete(d.jobId);
          void beat();
        }
      },
    });
    line(
      `worker ${name} ready: agents ${agents.join(', ')}; ${o.concurrency} at once across them; ${shownUrl(o.redis)} prefix ${o.prefix}`,
    );
    const why = await new Promise<string>((resolve) => {
      if (o.signal?.aborted) resolve(String(o.signal.reason ?? 'stopped'));
      o.signal?.addEventListener('abort', () => resolve(String(o.signal?.reason ?? 'stopped')), { once: true });
    });
    stopping = true;
    await beat();
    if (running.size) line(`stopping (${why}): finishing ${[...running.keys()].join(', ')}`);
    // Takes no new job and waits for the jobs in hand.
    const f = fetcher;
    fetcher = undefined;
    await f.stop();
    // No beat may follow the delete (an interval firing while it is awaited would bring the key back for its TTL).
    for (const t of timers) clearInterval(t);
    gone = true;
    await conn.del(beatKey(o.prefix, name)).catch(() => undefined);
    return { name, agents, processed, failed, stopped: why };
  } finally {
    for (const t of timers) clearInterval(t);
    await fetcher?.stop().catch(() => undefined);
    sub?.disconnect();
    redis?.disconnect();
    rt.close();
  }
}
