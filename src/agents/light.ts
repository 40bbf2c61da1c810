/**
 * The part of agents/ that loads no adapter: the credential variable names of the agent CLI tables. The process's
 * redactor (`app/light.ts`, used by the CLI before it knows the command) imports this instead of index.ts, which
 * re-exports it.
 */
export { credentialEnvNames } from './cli-table.js';
