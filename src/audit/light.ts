/**
 * The part of audit/ that opens no database: redaction. Entries that must load fast (`app/light.ts`, used by the
 * CLI before it knows the command) import this instead of index.ts, which re-exports it.
 */
export { createRedactor, isCredentialEnvName } from './redact.js';
