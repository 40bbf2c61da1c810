import { createGit } from '../engine/index.js';
import type { Workspace } from '../workspace/index.js';
import type { AppDeps } from './create-app.js';
import type { DesignOps } from './design-ops.js';
import type { ObserveOps } from './observe-ops.js';
import { applyRun } from './run-apply.js';
import { pruneRuns } from './run-prune.js';
import { cancelRun } from './run-cancel.js';
import { decideItem } from './run-decide.js';
import { replayRun, rerunRun } from './run-replay.js';
import { resumeRun } from './run-resume.js';
import { preflightRun } from './run-preflight.js';
import { startRun } from './run-start.js';
import { runLogs } from './run-logs.js';
import { runReadme, runStatus } from './run-status.js';
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
} from './run-types.js';

/** The engine's use cases: run a goal or workflow, resume, cancel, replay, watch, decide human items. */
export function createRunOps(
  deps: AppDeps,
  cwd: string,
  open: (create?: boolean) => Promise<Workspace>,
  design: DesignOps,
  observe: ObserveOps,
): RunOps {
  const c: RunOpsContext = { deps, cwd, open, git: createGit({ proc: deps.proc, env: deps.env }), design, observe };
  return {
    run: (input) => startRun(c, input),
    preflight: (input) => preflightRun(c, input),
    resume: (runId, options) => resumeRun(c, runId, options),
    cancel: (runId, reason) => cancelRun(c, runId, reason),
    replay: (runId, options) => replayRun(c, runId, options),
    rerun: (runId, options) => rerunRun(c, runId, options),
    status: (runId) => runStatus(c, runId),
    logs: (runId, node) => runLogs(c, runId, node),
    apply: (runId, options) => applyRun(c, runId, options),
    prune: (options) => pruneRuns(c, options),
    readme: (runId) => runReadme(c, runId),
    decide: (runId, item, decision, note, options) => decideItem(c, runId, item, decision, note, options),
  };
}
