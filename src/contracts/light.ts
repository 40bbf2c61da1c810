/**
 * The part of contracts/ that loads no schema library: error classes, error codes, exit codes and enum values.
 * Interfaces that must start fast (the CLI's command registration) import this entry instead of index.ts, which
 * re-exports it.
 */
// Not re-exported by index.ts (nor the package root): the words interfaces print, not a contract.
export * from './decide-command.js';
export * from './enums.js';
export * from './error-codes.js';
export * from './errors.js';
export * from './failure-text.js';
export * from './storage-errors.js';
