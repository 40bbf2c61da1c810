/**
 * The engine's read side: what the audit log says about a run. Use cases that only read a run (`mso status`)
 * import this entry instead of index.ts, which loads the scheduler, the agent adapters and the designer with it.
 * index.ts re-exports everything here.
 */
export { nodeBranchName, runBranchPrefix } from './branches.js';
export { loadRecordedRun, withDescendants, type RecordedRun, type RecordedNode } from './run-state.js';
