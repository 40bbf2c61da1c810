import { isAbsolute, relative, resolve } from 'node:path';
import { underWay, type MsoApp, type ProgressListener } from '../app/index.js';
import { InvalidArgumentError } from '../contracts/index.js';

/** A new run's source, as the page sends it. */
export interface RunSource {
  readonly goal?: string | undefined;
  readonly workflow?: string | undefined;
  /** Start from a new, empty repository (`mso run --init`): needed when the server's folder is no repository. */
  readonly init?: boolean | undefined;
  /** Nodes no agent can do go to a person (`mso run --allow-manual`); refused by default. Runs only, not designs. */
  readonly allowManual?: boolean | undefined;
}

/** Runs the dashboard started in this process (resumes after a decision, new runs), ended when the server closes. */
export interface Jobs {
  /** Resumes a run in the background unless this server already runs it; true when it started. */
  resume(runId: string): boolean;
  /**
   * Starts a new run from a goal or a workflow file (inside the working directory) in the background; resolves with
   * its id once it is under way, or rejects with its refusal.
   */
  start(input: RunSource): Promise<{ started: boolean; run_id: string }>;
  /**
   * Starts a designed run as `mso resume RUN [--init] [--allow-manual]` does, in the background; resolves once it
   * makes progress, or rejects with its refusal (no repository around the server and no init, nodes no usable agent
   * can do and no allowManual) before anything is written.
   */
  startDesigned(
    runId: string,
    options: { readonly init: boolean; readonly allowManual: boolean },
  ): Promise<{ started: boolean }>;
  /** Designs a run (as `mso design all`) without starting it: the page shows its DAG for review, then starts it. */
  design(input: RunSource): Promise<{ run_id: string }>;
  /**
   * Runs a run's failed nodes again (as `mso rerun RUN --failed`) in the background; resolves with the new run's id
   * once it exists, or rejects with the refusal (e.g. no failed node).
   */
  rerunFailed(runId: string): Promise<{ run_id: string; rerun_of: string }>;
  /** Jobs running now. */
  readonly running: number;
  /** Stops every job (their runs stay resumable) and waits for them to end. */
  close(): Promise<void>;
}

export function createJobs(app: MsoApp, log: (line: string) => void): Jobs {
  const controller = new AbortController();
  const running = new Map<string, Promise<unknown>>();
  const track = (key: string, work: Promise<unknown>): void => {
    const p = work
      .then(
        // The run's own id once it has one (a new run is known by its number until then).
        (s) => log(`${(s as { run_id?: string }).run_id ?? key}: ${(s as { status?: string }).status ?? 'done'}`),
        (e: unknown) => log(`${key}: ${(e as Error).message}`),
      )
      .finally(() => running.delete(key));
    running.set(key, p);
  };
  /** Runs `start` in the background as `key`; resolves once it is under way (see underWay), or with its refusal. */
  const followed = (
    key: string,
    skip: string | null,
    start: (onProgress: ProgressListener) => Promise<{ run_id: string }>,
  ): Promise<string> => {
    const { work, firstRunId } = underWay(skip, start);
    track(key, work);
    return firstRunId;
  };
  /** The workflow file, refused unless it is a .yaml/.yml/.json file inside the server's working directory. */
  const workflowPath = (given: string | undefined): string | undefined => {
    if (given === undefined) return undefined;
    const cwd = app.settings.cwd;
    const workflow = resolve(cwd, given);
    const rel = relative(cwd, workflow);
    if (rel.startsWith('..') || isAbsolute(rel))
      throw new InvalidArgumentError(
        'workflow',
        `${given} is outside ${cwd}: the dashboard reads workflow files only inside the folder it was started in`,
      );
    if (!/\.(ya?ml|json)$/i.test(workflow))
      throw new InvalidArgumentError('workflow', `${given} must be a .yaml, .yml or .json file`);
    return workflow;
  };
  let seq = 0;
  return {
    resume(runId) {
      if (running.has(runId)) return false;
      track(runId, app.engine.resume(runId, { signal: controller.signal }));
      return true;
    },
    async start(input) {
      const request = {
        goal: input.goal,
        workflow: workflowPath(input.workflow),
        init: input.init,
        allowManual: input.allowManual,
      };
      // The same refusals as `mso run` (no repository around the server and no init, no agent), answered at once.
      await app.engine.preflight(request);
      // Answered once the run is under way with its id (a caller polls it), or with its refusal.
      const runId = await followed(`new run ${++seq}`, null, (onProgress) =>
        app.engine.run({ ...request, signal: controller.signal, onProgress }),
      );
      return { started: true, run_id: runId };
    },
    async design(input) {
      const r = await app.design.all({ goal: input.goal, workflow: workflowPath(input.workflow) });
      return { run_id: r.run_id };
    },
    rerunFailed(runId) {
      // The new run's first progress names it: the page can open it while it runs.
      return followed(`rerun of ${runId} ${++seq}`, runId, (onProgress) =>
        app.engine.rerun(runId, { failed: true, signal: controller.signal, onProgress }),
      ).then((id) => ({ run_id: id, rerun_of: runId }));
    },
    async startDesigned(runId, { init, allowManual }) {
      if (running.has(runId)) return { started: false };
      await followed(runId, null, (onProgress) =>
        app.engine.resume(runId, { init, allowManual, signal: controller.signal, onProgress }),
      );
      return { started: true };
    },
    get running() {
      return running.size;
    },
    async close() {
      controller.abort();
      await Promise.allSettled([...running.values()]);
    },
  };
}
