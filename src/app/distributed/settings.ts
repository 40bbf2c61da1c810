import { InvalidArgumentError, type Policy } from '../../contracts/index.js';
import { checkRedisUrl } from './redis.js';

/** Where a distributed run or a worker meets: the Redis URL, the key prefix, and the git remote. */
export interface QueueSettings {
  readonly url: string;
  readonly prefix: string;
}

const PREFIX = /^[A-Za-z0-9_.-]+$/;

/**
 * The Redis and prefix a run's last coordinator recorded (`run.coordinator`), as flags for {@link resolveQueueSettings}:
 * a resume or a decision goes back to the Redis its run's jobs are in, unless that URL held a password (recorded
 * masked, so it is not a URL to use).
 */
export function recordedQueue(record: Readonly<Record<string, unknown>>): {
  redis: string | undefined;
  prefix: string | undefined;
} {
  const redis = typeof record['redis'] === 'string' && !record['redis'].includes('***') ? record['redis'] : undefined;
  const prefix = typeof record['queue_prefix'] === 'string' ? record['queue_prefix'] : undefined;
  return { redis, prefix };
}

/**
 * The Redis URL and key prefix: the flag, else `MSO_REDIS_URL` / `MSO_QUEUE_PREFIX`, else policy.yaml's
 * `execution.redis_url` / `execution.queue_prefix`. No URL at all is a usage error naming the three places.
 */
export function resolveQueueSettings(
  policy: Policy,
  env: Readonly<Record<string, string | undefined>>,
  flags: { readonly redis?: string | undefined; readonly prefix?: string | undefined },
): QueueSettings {
  const fromEnv = env['MSO_REDIS_URL']?.trim() || undefined;
  const url = flags.redis ?? fromEnv ?? policy.execution.redis_url;
  const where = flags.redis !== undefined ? '--redis' : fromEnv ? 'MSO_REDIS_URL' : 'execution.redis_url';
  if (url === undefined)
    throw new InvalidArgumentError(
      '--redis',
      'the distributed backend needs a Redis: give --redis redis://HOST:6379, set MSO_REDIS_URL, or execution.redis_url in policy.yaml',
    );
  const prefix = flags.prefix ?? (env['MSO_QUEUE_PREFIX']?.trim() || undefined) ?? policy.execution.queue_prefix;
  if (!PREFIX.test(prefix)) throw new InvalidArgumentError('--queue-prefix', `${prefix}: letters, digits, _ . - only`);
  return { url: checkRedisUrl(url, where), prefix };
}
