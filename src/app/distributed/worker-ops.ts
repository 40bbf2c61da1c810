import type { Workspace } from '../../workspace/index.js';
import type { AppDeps } from '../create-app.js';
import { connectRedis, liveWorkers, shownUrl, type WorkerBeat } from './redis.js';
import { resolveQueueSettings } from './settings.js';
import { serveWorker, type ServeWorkerOptions, type WorkerReport } from './worker-serve.js';

/** `mso worker` and `mso workers`. */
export interface WorkerOps {
  /** Serves node jobs until the signal stops it (then finishes the jobs in hand). */
  serve(input: {
    redis?: string | undefined;
    prefix?: string | undefined;
    concurrency?: number | undefined;
    agents?: readonly string[] | undefined;
    name?: string | undefined;
    lockMs?: number | undefined;
    signal?: AbortSignal | undefined;
    onLine?: ServeWorkerOptions['onLine'];
  }): Promise<WorkerReport>;
  /** The workers whose heartbeat is live, with what each runs. */
  list(input: { redis?: string | undefined; prefix?: string | undefined }): Promise<WorkersList>;
}

export interface WorkersList {
  readonly redis: string;
  readonly prefix: string;
  readonly workers: ReadonlyArray<WorkerBeat & { readonly seen_ms_ago: number }>;
}

export function createWorkerOps(deps: AppDeps, open: (create?: boolean) => Promise<Workspace>): WorkerOps {
  return {
    async serve(input) {
      const ws = await open(true);
      const q = resolveQueueSettings(ws.policy, deps.env, input);
      return serveWorker(deps, ws, {
        redis: q.url,
        prefix: q.prefix,
        concurrency: input.concurrency ?? 1,
        agents: input.agents,
        name: input.name,
        lockMs: input.lockMs ?? 30_000,
        signal: input.signal,
        onLine: input.onLine,
      });
    },
    async list(input) {
      const ws = await open(false);
      const q = resolveQueueSettings(ws.policy, deps.env, input);
      const redis = await connectRedis(q.url);
      try {
        const now = deps.clock.now().getTime();
        const workers = (await liveWorkers(redis, q.prefix)).map((w) => ({
          ...w,
          seen_ms_ago: Math.max(0, now - Date.parse(w.at)),
        }));
        return { redis: shownUrl(q.url), prefix: q.prefix, workers };
      } finally {
        redis.disconnect();
      }
    },
  };
}
