/**
 * What an interface needs before it knows which command runs, without loading the app: the process's redactor, and
 * the fold behind `mso run`'s progress view (it imports nothing). `src/cli/main.ts` and `src/cli/progress.ts` import
 * this entry at start-up; index.ts re-exports it.
 */
export { createAppRedactor } from './redaction.js';
export { createProgressView } from './run-progress.js';
