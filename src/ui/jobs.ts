import { isAbsolute, relative, resolve } from 'node:path';
import type { MsoApp } from '../app/index.js';
import { InvalidArgumentError } from '../contracts/index.js';

/** Runs the dashboard started in this process (resumes after a decision, new runs), ended when the server closes. */
export interface Jobs {
  /** Resumes a run in the background unless this server already runs it; true when it started. */
  resume(runId: string): boolean;
  /** Starts a new run from a goal or a workflow file (inside the working directory) in the background. */
  start(input: { goal?: string | undefined; workflow?: string | undefined }): Promise<{ started: boolean }>;
  /** Stops every job (their runs stay resumable) and waits for them to end. */
  close(): Promise<void>;
}

export function createJobs(app: MsoApp, log: (line: string) => void): Jobs {
  const controller = new AbortController();
  const running = new Map<string, Promise<unknown>>();
  const track = (key: string, work: Promise<unknown>): void => {
    const p = work
      .then(
        (s) => log(`${key}: ${(s as { status?: string }).status ?? 'done'}`),
        (e: unknown) => log(`${key}: ${(e as Error).message}`),
      )
      .finally(() => running.delete(key));
    running.set(key, p);
  };
  let seq = 0;
  return {
    resume(runId) {
      if (running.has(runId)) return false;
      track(runId, app.engine.resume(runId, { signal: controller.signal }));
      return true;
    },
    async start(input) {
      let workflow: string | undefined;
      if (input.workflow !== undefined) {
        const cwd = app.settings.cwd;
        workflow = resolve(cwd, input.workflow);
        const rel = relative(cwd, workflow);
        if (rel.startsWith('..') || isAbsolute(rel) || !/\.(ya?ml|json)$/i.test(workflow))
          throw new InvalidArgumentError(
            'workflow',
            `${input.workflow} must be a .yaml, .yml or .json file inside ${cwd}`,
          );
      }
      track(`new run ${++seq}`, app.engine.run({ goal: input.goal, workflow, signal: controller.signal }));
      return { started: true };
    },
    async close() {
      controller.abort();
      await Promise.allSettled([...running.values()]);
    },
  };
}
