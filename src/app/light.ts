/**
 * What an interface needs before it knows which command runs, without loading the app: the process's redactor.
 * `src/cli/main.ts` imports this entry at start-up; index.ts re-exports it.
 */
export { createAppRedactor } from './redaction.js';
