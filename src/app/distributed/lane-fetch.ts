import type { Job, QueueEvents, Worker as BullWorker } from 'bullmq';
import type { Redis } from 'ioredis';
import { laneQueue } from './redis.js';

export interface LaneFetchOptions<D, R> {
  readonly connection: Redis;
  readonly prefix: string;
  readonly lanes: readonly string[];
  /** Jobs in hand at once across every lane. */
  readonly concurrency: number;
  readonly lockMs: number;
  /** Runs one job; its value is the job's result, a throw fails the job. */
  readonly process: (job: Job<D, R>, lane: string) => Promise<R>;
  /** A Redis error the loop survived (it tries again after a pause). */
  readonly onError: (what: string, e: Error) => void;
}

export interface LaneFetcher {
  /** Takes no new job, waits for the jobs in hand, and closes the lanes' connections. */
  stop(): Promise<void>;
}

/** How long an idle fetcher sleeps when no queue event woke it (a missed event costs this, never a hang). */
const IDLE_LOOK_MS = 1_000;
/** The pause after a Redis error before the next look. */
const ERROR_PAUSE_MS = 1_000;

/**
 * Takes node jobs from several agent lanes with one limit across them: a job is moved to active (and locked) only
 * when a slot is free, by BullMQ's manual fetching (`getNextJob` without blocking, lanes in turn), so no job sits
 * locked to this worker while it waits for a slot. The worker renews each job's lock itself, runs the stalled-job
 * check on every lane, and sleeps between looks until a lane's queue says a job is waiting (or a slot frees).
 */
export async function openLaneFetcher<D, R>(o: LaneFetchOptions<D, R>): Promise<LaneFetcher> {
  const { Worker, QueueEvents: EventsClass } = await import('bullmq');
  let stopping = false;
  let poked = false;
  let wakeUp: (() => void) | null = null;
  const wake = (): void => {
    poked = true;
    wakeUp?.();
  };
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        if (wakeUp === done) wakeUp = null;
        resolve();
      };
      const t = setTimeout(done, ms);
      wakeUp = done;
    });

  const lanes: Array<{ lane: string; worker: BullWorker<D, R>; events: QueueEvents; blocking: Redis }> = [];
  try {
    for (const lane of o.lanes) {
      const worker = new Worker<D, R>(laneQueue(lane), null, {
        connection: o.connection,
        prefix: o.prefix,
        autorun: false,
        lockDuration: o.lockMs,
        stalledInterval: o.lockMs,
        maxStalledCount: 3,
      });
      worker.on('error', () => undefined);
      // Queue events block on their own connection; 'waiting' says a job was added (or handed back by the stalled check).
      const blocking = o.connection.duplicate();
      blocking.on('error', () => undefined);
      const events = new EventsClass(laneQueue(lane), { connection: blocking, prefix: o.prefix });
      events.on('waiting', wake);
      events.on('error', () => undefined);
      lanes.push({ lane, worker, events, blocking });
    }
    await Promise.all(lanes.map((l) => l.events.waitUntilReady()));
    for (const l of lanes) await l.worker.startStalledCheckTimer();
  } catch (e) {
    await closeLanes(lanes);
    throw e;
  }

  let active = 0;
  let seq = 0;
  let next = 0;
  const inHand = new Set<Promise<void>>();

  /** One job from the first lane (in turn) that has one waiting, moved to active under this worker's token. */
  const fetchOne = async (): Promise<{ job: Job<D, R>; lane: string; token: string } | null> => {
    for (let i = 0; i < lanes.length; i++) {
      const l = lanes[(next + i) % lanes.length] as (typeof lanes)[number];
      const token = `${l.worker.id}:${seq++}`;
      const job = await l.worker.getNextJob(token, { block: false });
      if (job) {
        next = (next + i + 1) % lanes.length;
        return { job, lane: l.lane, token };
      }
    }
    return null;
  };

  const run = async ({ job, lane, token }: { job: Job<D, R>; lane: string; token: string }): Promise<void> => {
    const renew = setInterval(
      () => void job.extendLock(token, o.lockMs).catch((e: Error) => o.onError(`renewing the lock of ${job.id}`, e)),
      Math.max(500, Math.floor(o.lockMs / 2)),
    );
    try {
      let result: R;
      try {
        result = await o.process(job, lane);
      } catch (e) {
        clearInterval(renew);
        await job.moveToFailed(e as Error, token, false);
        return;
      }
      clearInterval(renew);
      await job.moveToCompleted(result, token, false);
    } catch (e) {
      // Lost the lock (another worker took the job over) or Redis failed: the coordinator hears from that worker.
      o.onError(`finishing ${job.id}`, e as Error);
    } finally {
      clearInterval(renew);
    }
  };

  const loop = (async () => {
    while (!stopping) {
      if (active >= o.concurrency) {
        await sleep(IDLE_LOOK_MS);
        continue;
      }
      poked = false;
      let got: Awaited<ReturnType<typeof fetchOne>>;
      try {
        got = await fetchOne();
      } catch (e) {
        o.onError('taking a job', e as Error);
        await sleep(ERROR_PAUSE_MS);
        continue;
      }
      if (got) {
        active++;
        const p = run(got).finally(() => {
          active--;
          inHand.delete(p);
          wake();
        });
        inHand.add(p);
        continue;
      }
      if (!poked && !stopping) await sleep(IDLE_LOOK_MS);
    }
  })();

  return {
    async stop() {
      stopping = true;
      wake();
      await loop;
      await Promise.all([...inHand]);
      await closeLanes(lanes);
    },
  };
}

async function closeLanes(lanes: ReadonlyArray<{ worker: BullWorker; events: QueueEvents; blocking: Redis }>) {
  for (const l of lanes) {
    await l.events.close().catch(() => undefined);
    await l.worker.close().catch(() => undefined);
    l.blocking.disconnect();
  }
}
