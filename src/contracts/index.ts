/** Contracts: zod schemas of every artifact, the error hierarchy and the stable error codes. Imports only zod. */
export * from './common.js';
export * from './error-codes.js';
export * from './errors.js';
export * from './storage-errors.js';
export * from './issues.js';
export * from './topology.js';
export * from './mental-model.js';
export * from './execution-plan.js';
export * from './ticket.js';
export * from './collaboration.js';
export * from './audit-payload.js';
export * from './callback.js';
export * from './manifest.js';
export * from './policy.js';
export * from './anchor.js';
export * from './hitl.js';
export * from './catalog.js';
