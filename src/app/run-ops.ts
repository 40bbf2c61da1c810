import type { Git } from '../engine/index.js';
import type { Workspace } from '../workspace/index.js';
import type { AppDeps } from './create-app.js';
import type { DesignOps } from './design-ops.js';
import type { ObserveOps } from './observe-ops.js';
import { lazyOps } from './lazy-ops.js';
import type { RunOpsContext } from './run-support.js';
import type { RunOps } from './run-types.js';

export type {
  CancelResult,
  DecideResult,
  ReplayOptions,
  ReplayReport,
  ResumeOptions,
  RunOps,
  RunRequest,
  RunStatusResult,
  RunSummary,
  UnfinishedRun,
  WaitingItem,
} from './run-types.js';

/**
 * The engine's use cases: run a goal or workflow, resume, cancel, replay, watch, decide human items. Each use case's
 * module is imported on its first call, so `mso status` does not load what `mso run` needs (the scheduler, the
 * agent adapters, the designer).
 */
export function createRunOps(
  deps: AppDeps,
  cwd: string,
  open: (create?: boolean) => Promise<Workspace>,
  design: DesignOps,
  observe: ObserveOps,
): RunOps {
  const git = lazyOps<Git>(async () =>
    (await import('../engine/index.js')).createGit({ proc: deps.proc, env: deps.env }),
  );
  const c: RunOpsContext = { deps, cwd, open, git, design, observe };
  return {
    run: async (input) => (await import('./run-start.js')).startRun(c, input),
    preflight: async (input) => (await import('./run-preflight.js')).preflightRun(c, input),
    resume: async (runId, options) => (await import('./run-resume.js')).resumeRun(c, runId, options),
    cancel: async (runId, reason) => (await import('./run-cancel.js')).cancelRun(c, runId, reason),
    replay: async (runId, options) => (await import('./run-replay.js')).replayRun(c, runId, options),
    rerun: async (runId, options) => (await import('./run-replay.js')).rerunRun(c, runId, options),
    status: async (runId) => (await import('./run-status.js')).runStatus(c, runId),
    logs: async (runId, node) => (await import('./run-logs.js')).runLogs(c, runId, node),
    followLogs: async function* (runId, node, signal) {
      yield* (await import('./run-follow.js')).followLogs(c, runId, node, signal);
    },
    fullOutput: async (runId, node, o) => (await import('./run-logs.js')).runFullOutput(c, runId, node, o),
    apply: async (runId, options) => (await import('./run-apply.js')).applyRun(c, runId, options),
    prune: async (options) => (await import('./run-prune.js')).pruneRuns(c, options),
    readme: async (runId) => (await import('./run-status.js')).runReadme(c, runId),
    decide: async (runId, item, decision, note, options) =>
      (await import('./run-decide.js')).decideItem(c, runId, item, decision, note, options),
  };
}
