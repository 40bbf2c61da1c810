/**
 * What an interface needs before it knows which command runs, without loading the app: the process's redactor,
 * the fold behind `mso run`'s progress view (it imports nothing), and the live agent groups a second Ctrl-C kills. `src/cli/main.ts` and `src/cli/progress.ts` import
 * this entry at start-up; index.ts re-exports it.
 */
export { createAppRedactor } from './redaction.js';
/** The live view's fold, and how to decide a waiting item as the live view and a run's summary say it. */
export { createProgressView } from './run-progress.js';
export { decideCommand } from '../contracts/light.js';
/** The agent process groups this process started, for an entry point's second Ctrl-C (kill them all at once). */
export { liveGroupCount, signalLiveGroups } from '../platform/light.js';
