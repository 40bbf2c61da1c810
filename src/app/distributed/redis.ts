import type { Redis } from 'ioredis';
import { InvalidArgumentError, QueueUnavailableError } from '../../contracts/index.js';

/** A Redis URL without its password, for messages and the audit log. */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/** Refuses anything but a redis:// or rediss:// URL, naming where it came from. */
export function checkRedisUrl(url: string, from: string): string {
  let ok: boolean;
  try {
    const u = new URL(url);
    ok = (u.protocol === 'redis:' || u.protocol === 'rediss:') && u.hostname !== '';
  } catch {
    ok = false;
  }
  if (!ok) throw new InvalidArgumentError(from, `${shownUrl(url)} is not a redis:// or rediss:// URL`);
  return url;
}

/** How long the first connection may take before the command gives up with a clear error. */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Opens one ioredis connection (imported here, on first use, so commands that never queue never load it) and checks
 * it with a PING. Afterwards it reconnects on its own (a restarted Redis is picked up again); BullMQ needs
 * `maxRetriesPerRequest: null` on the connections its workers block on.
 */
export async function connectRedis(url: string): Promise<Redis> {
  const { Redis: RedisClient } = await import('ioredis');
  const redis = new RedisClient(url, {
    maxRetriesPerRequest: null,
    lazyConnect: true,
    retryStrategy: (times: number) => Math.min(100 * times, 2_000),
  });
  // Errors while reconnecting are expected: ioredis retries; without a listener Node would print each one.
  redis.on('error', () => undefined);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.connect().then(() => redis.ping()),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`)),
          CONNECT_TIMEOUT_MS,
        );
      }),
    ]);
  } catch (e) {
    redis.disconnect();
    throw new QueueUnavailableError(shownUrl(url), (e as Error).message);
  } finally {
    clearTimeout(timer);
  }
  return redis;
}

/** The BullMQ queue of one agent lane: a worker consumes only the lanes of the agents it has. */
export const laneQueue = (lane: string): string => `node-${lane}`;

/** The heartbeat key of a worker (a JSON {@link WorkerBeat} that expires unless renewed). */
export const beatKey = (prefix: string, name: string): string => `${prefix}:mso-workers:${name}`;

/** The channel a coordinator names a cancelled job on; the worker running it ends its agent. */
export const cancelChannel = (prefix: string): string => `${prefix}:mso-cancel`;

/** What a live worker says about itself, renewed every few seconds. */
export interface WorkerBeat {
  readonly name: string;
  readonly host: string;
  readonly pid: number;
  readonly agents: readonly string[];
  readonly concurrency: number;
  readonly started_at: string;
  readonly at: string;
  readonly stopping: boolean;
  readonly running: ReadonlyArray<{ job_id: string; run_id: string; node_id: string; lane: string; since: string }>;
}

/** Every worker whose heartbeat has not expired under `prefix`. */
export async function liveWorkers(redis: Redis, prefix: string): Promise<WorkerBeat[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', beatKey(prefix, '*'), 'COUNT', 200);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  if (keys.length === 0) return [];
  const values = await redis.mget(...keys);
  return values
    .flatMap((v) => {
      try {
        return v ? [JSON.parse(v) as WorkerBeat] : [];
      } catch {
        return [];
      }
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}
