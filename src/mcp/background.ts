import { isMsoError } from '../contracts/index.js';

/** A run started by this server process, so `run_cancel` can stop it and hosts can poll it. */
export interface Background {
  readonly controller: AbortController;
  readonly done: Promise<void>;
  finished: boolean;
  error: string | null;
}

/**
 * The runs a server process drives in the background, and the server's own stop signal: `stopAll` aborts them with
 * the reason (the run records it and stays resumable) and waits for each to record its end.
 */
export class BackgroundRuns {
  private readonly runs = new Map<string, Background>();
  private readonly stop = new AbortController();
  constructor(private readonly log: (line: string) => void) {}

  /** Aborted when the server starts stopping; its reason says why (e.g. `host disconnected (stdin closed)`). */
  get stopping(): AbortSignal {
    return this.stop.signal;
  }

  /** Starts `work` unless the server is stopping or the run is already going here; returns false when refused. */
  start(runId: string, work: (signal: AbortSignal) => Promise<unknown>): boolean {
    if (this.stop.signal.aborted) return false;
    const previous = this.runs.get(runId);
    if (previous && !previous.finished) return false;
    const controller = new AbortController();
    const entry: Background = {
      controller,
      finished: false,
      error: null,
      done: work(controller.signal).then(
        () => {
          entry.finished = true;
        },
        (e: unknown) => {
          entry.finished = true;
          entry.error = isMsoError(e) ? `${e.code}: ${e.message}` : String((e as Error)?.message ?? e);
          this.log(`mso mcp: run ${runId} ended with an error: ${entry.error}`);
        },
      ),
    };
    this.runs.set(runId, entry);
    return true;
  }

  get(runId: string): Background | undefined {
    return this.runs.get(runId);
  }

  /** Runs not finished yet. */
  get live(): number {
    return [...this.runs.values()].filter((b) => !b.finished).length;
  }

  /** Marks the server stopping, aborts every unfinished run with `reason`, and waits (at most `graceMs`) for them. */
  async stopAll(reason: string, graceMs: number): Promise<boolean> {
    if (!this.stop.signal.aborted) this.stop.abort(reason);
    const live = [...this.runs.values()].filter((b) => !b.finished);
    for (const b of live) b.controller.abort(reason);
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      Promise.all(live.map((b) => b.done)).then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), graceMs))),
    ]);
    clearTimeout(timer);
    return settled;
  }
}
