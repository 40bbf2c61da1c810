import type { Queue, QueueEvents } from 'bullmq';
import type { NodeJob, NodeJobResult, NodeQueue } from '../../engine/index.js';
import { cancelChannel, connectRedis, laneQueue, liveWorkers, shownUrl, type WorkerBeat } from './redis.js';

/** A coordinator's side of the queues; close() ends its Redis connections. */
export interface OpenedNodeQueue extends NodeQueue {
  /** The queue's key prefix. */
  readonly prefix: string;
  /** Subscribes to a Redis channel (on a connection of its own, ended by close()). */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<void>;
  close(): Promise<void>;
}

export interface NodeQueueOptions {
  readonly url: string;
  readonly prefix: string;
  /** How long a job waits for a live worker that has its agent before it fails saying so. */
  readonly noWorkerTimeoutMs: number;
  readonly now: () => number;
  /** A line for the person running the coordinator (a wait for workers). */
  readonly info: (line: string) => void;
}

/** How long a coordinator waits between looks at a job when no event woke it. */
const LOOK_MS = 1_000;
/** Completed and failed jobs are kept this long, so a coordinator resumed within it adopts their results. */
const KEEP_S = 7 * 24 * 3600;

/**
 * The BullMQ side of a distributed run's coordinator: one queue per agent lane (a worker consumes only the lanes of
 * the agents it has), jobs added under their deterministic ids (adding an id that exists adopts the job), results
 * read back when the queue's events say a job finished (and at least every second, so a missed event costs a
 * second, never a hang). A job no live worker can take fails after the timeout with a message naming the agent.
 */
export async function openNodeQueue(o: NodeQueueOptions): Promise<OpenedNodeQueue> {
  const { Queue: QueueClass, QueueEvents: EventsClass, Job } = await import('bullmq');
  const redis = await connectRedis(o.url);
  const lanes = new Map<string, { queue: Queue; events: QueueEvents }>();
  const extra: Array<{ disconnect(): void }> = [];
  const wakers = new Map<string, () => void>();
  let workers: { at: number; list: WorkerBeat[] } = { at: -Infinity, list: [] };

  const laneOf = async (lane: string): Promise<{ queue: Queue; events: QueueEvents }> => {
    let l = lanes.get(lane);
    if (!l) {
      const blocking = redis.duplicate();
      blocking.on('error', () => undefined);
      extra.push(blocking);
      const events = new EventsClass(laneQueue(lane), { connection: blocking, prefix: o.prefix });
      const wake = ({ jobId }: { jobId: string }): void => wakers.get(jobId)?.();
      events.on('completed', wake);
      events.on('failed', wake);
      events.on('error', () => undefined);
      l = { queue: new QueueClass(laneQueue(lane), { connection: redis, prefix: o.prefix }), events };
      lanes.set(lane, l);
      await events.waitUntilReady();
    }
    return l;
  };

  const alive = async (): Promise<WorkerBeat[]> => {
    if (o.now() - workers.at > LOOK_MS) workers = { at: o.now(), list: await liveWorkers(redis, o.prefix) };
    return workers.list;
  };
  const hasLane = (ws: readonly WorkerBeat[], lane: string): boolean =>
    ws.some((w) => !w.stopping && w.agents.includes(lane));
  const noWorker = (ws: readonly WorkerBeat[], lane: string): string =>
    `no live worker has agent "${lane}" (waited ${Math.round(o.noWorkerTimeoutMs / 1000)} s; live workers: ${
      ws.map((w) => `${w.name} [${w.agents.join(',')}]`).join(', ') || 'none'
    } under prefix ${o.prefix} at ${shownUrl(o.url)}); start one with: mso worker --redis URL --agents ${lane}`;

  /** Resolves after `ms`, when the job's event arrives, or on abort; registered before the caller looks. */
  const nap = (jobId: string, signal: AbortSignal, ms: number): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        if (wakers.get(jobId) === done) wakers.delete(jobId);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      wakers.set(jobId, done);
      signal.addEventListener('abort', done, { once: true });
    });

  async function run(job: NodeJob, signal: AbortSignal): Promise<NodeJobResult | { failed: string }> {
    const { queue } = await laneOf(job.lane);
    let since = o.now();
    let told = false;
    const existing = await Job.fromId(queue, job.jobId);
    if (!existing) {
      // Before enqueueing: a job nobody can take is refused with the reason, not left to wait forever.
      while (!hasLane(await alive(), job.lane)) {
        if (signal.aborted) return { failed: 'cancelled' };
        if (o.now() - since > o.noWorkerTimeoutMs) return { failed: noWorker(workers.list, job.lane) };
        if (!told) o.info(`waiting for a worker with agent "${job.lane}" for ${job.nodeId}`);
        told = true;
        await nap(job.jobId, signal, LOOK_MS);
      }
      await queue.add('node', job, {
        jobId: job.jobId,
        removeOnComplete: { age: KEEP_S },
        removeOnFail: { age: KEEP_S },
      });
    }
    since = o.now();
    for (;;) {
      const napped = nap(job.jobId, signal, LOOK_MS);
      let out = await look(queue, job, signal);
      if (out === 'wait') since = o.now();
      else if (out === 'idle') {
        if (o.now() - since > o.noWorkerTimeoutMs) {
          // Every worker with the agent went away while the job waited.
          const j = await Job.fromId(queue, job.jobId);
          if (
            j &&
            (await j.remove().then(
              () => true,
              () => false,
            ))
          )
            out = { failed: noWorker(workers.list, job.lane) };
        }
      }
      if (typeof out === 'object') {
        wakers.get(job.jobId)?.();
        return out;
      }
      await napped;
    }
  }

  /** One look at a job: its result, or whether it is being worked on ('wait') or nobody could take it ('idle'). */
  async function look(
    queue: Queue,
    job: NodeJob,
    signal: AbortSignal,
  ): Promise<NodeJobResult | { failed: string } | 'wait' | 'idle'> {
    const j = await Job.fromId<NodeJob, NodeJobResult>(queue, job.jobId);
    if (!j) return { failed: `job ${job.jobId} is no longer in the queue (removed from Redis)` };
    const state = await j.getState();
    if (state === 'completed') {
      // Read after the state: a job read just before it completed carries no return value yet.
      const done = await Job.fromId<NodeJob, NodeJobResult>(queue, job.jobId);
      return done?.returnvalue ?? 'wait';
    }
    if (state === 'failed') return { failed: `job ${job.jobId} failed on its worker: ${j.failedReason}` };
    if (signal.aborted) {
      // A job no worker took yet is withdrawn; the worker running one is told to end its agent (its result is not
      // applied either way).
      if (state === 'active') await redis.publish(cancelChannel(o.prefix), job.jobId).catch(() => undefined);
      else await j.remove().catch(() => undefined);
      return { failed: 'cancelled' };
    }
    return state === 'active' || hasLane(await alive(), job.lane) ? 'wait' : 'idle';
  }

  return {
    run,
    prefix: o.prefix,
    async subscribe(channel, onMessage) {
      const sub = redis.duplicate();
      sub.on('error', () => undefined);
      extra.push(sub);
      sub.on('message', (c: string, message: string) => {
        if (c === channel) onMessage(message);
      });
      await sub.subscribe(channel);
    },
    async close() {
      for (const { queue, events } of lanes.values()) {
        await events.close().catch(() => undefined);
        await queue.close().catch(() => undefined);
      }
      for (const c of extra) c.disconnect();
      redis.disconnect();
    },
  };
}
