import { resolve } from 'node:path';
import type { AuditLog } from '../../audit/index.js';
import { InvalidArgumentError } from '../../contracts/index.js';
import type { Workspace } from '../../workspace/index.js';
import type { RunOpsContext } from '../run-support.js';
import type { ExecutionChoice } from '../run-types.js';
import type { OpenedNodeQueue } from './node-queue.js';
import { lastCoordinatorRecord } from '../coordinator-record.js';

/**
 * The run's execution backend: the option, else what the run's last coordinator used (a resume keeps it), else
 * policy `execution.backend`. For `distributed`, the queue is opened (Redis reached) here, and the remote named.
 */
export async function chooseBackend(
  c: RunOpsContext,
  ws: Workspace,
  log: AuditLog,
  runId: string,
  o: ExecutionChoice,
): Promise<{ queue?: OpenedNodeQueue; remote?: string | undefined; record: Record<string, unknown> }> {
  const before = lastCoordinatorRecord(log, runId);
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const backend = o.backend ?? (str(before['backend']) as ExecutionChoice['backend']) ?? ws.policy.execution.backend;
  if (backend !== 'distributed') return { record: { backend: 'local' } };
  const { recordedQueue, resolveQueueSettings } = await import('./settings.js');
  const recorded = recordedQueue(before);
  const q = resolveQueueSettings(ws.policy, c.deps.env, {
    redis: o.redis ?? recorded.redis,
    prefix: o.queuePrefix ?? recorded.prefix,
  });
  const given = o.remote ?? str(before['remote']) ?? ws.policy.execution.remote;
  // A path is taken from where mso runs; a URL (scheme://, or scp-like host:path) as it is.
  const remote = given === undefined || /^[a-z][a-z0-9+.-]*:\/\/|^[^/]+:/.test(given) ? given : resolve(c.cwd, given);
  if (remote !== undefined) {
    const probe = await c.git.run(['ls-remote', '-q', remote, 'HEAD'], c.cwd);
    if (probe.code !== 0)
      throw new InvalidArgumentError(
        '--remote',
        `${remote} is not a git repository this machine can reach: ${probe.stderr.trim()}`,
      );
  }
  const { openNodeQueue } = await import('./node-queue.js');
  const queue = await openNodeQueue({
    url: q.url,
    prefix: q.prefix,
    noWorkerTimeoutMs: ws.policy.execution.no_worker_timeout_s * 1000,
    now: () => c.deps.clock.now().getTime(),
    info: (line) => c.deps.logger.info(line),
  });
  const { shownUrl } = await import('./redis.js');
  return {
    queue,
    remote,
    record: { backend, redis: shownUrl(q.url), queue_prefix: q.prefix, ...(remote ? { remote } : {}) },
  };
}
