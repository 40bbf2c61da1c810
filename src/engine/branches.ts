/**
 * How mso names the git branches of a run. Pure strings, no validation and no imports, so the read side (`mso
 * status`, results) can name a node's branch without loading git or the schemas; `nodeBranch` in git.ts checks the
 * name against git's ref rules before anything is created.
 */

/** The prefix every branch of a run shares: `mso/<run-id>/`. */
export const runBranchPrefix = (runId: string): string => `mso/${runId}/`;

/** The branch holding a node's commit: `mso/<run-id>/<node-id>`. */
export const nodeBranchName = (runId: string, nodeId: string): string => `${runBranchPrefix(runId)}${nodeId}`;
