/**
 * The part of contracts/ that loads no schema library: error classes, error codes, exit codes and enum values.
 * Interfaces that must start fast (the CLI's command registration) import this entry instead of index.ts, which
 * re-exports it.
 */
export * from './enums.js';
export * from './error-codes.js';
export * from './errors.js';
export * from './failure-text.js';
export * from './storage-errors.js';
