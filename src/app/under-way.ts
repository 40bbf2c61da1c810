import type { ProgressListener } from './run-progress.js';

/** A run started in the background, and the first run id it showed once it got under way. */
export interface UnderWay<R> {
  /** The whole run; it goes on after `firstRunId` settles. */
  readonly work: Promise<R>;
  /**
   * The first run id its progress names other than `skip` (or its result's): the run got past its refusals. Rejects
   * with the run's error when it fails before that, so a caller answers a refusal at once instead of after the fact.
   */
  readonly firstRunId: Promise<string>;
}

/** Starts `start` with a progress listener and tells when the run is under way (see UnderWay). */
export function underWay<R extends { readonly run_id: string }>(
  skip: string | null,
  start: (onProgress: ProgressListener) => Promise<R>,
): UnderWay<R> {
  let tell!: (id: string) => void;
  let fail!: (e: unknown) => void;
  let told = false;
  const firstRunId = new Promise<string>((done, failed) => {
    tell = (id) => {
      if (told || id === skip) return;
      told = true;
      done(id);
    };
    fail = (e) => {
      if (told) return;
      told = true;
      failed(e);
    };
  });
  const work = start((e) => tell(e.run_id));
  work.then((r) => tell(r.run_id), fail);
  return { work, firstRunId };
}
