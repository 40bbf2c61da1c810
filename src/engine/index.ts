/** The engine: dispatch of tickets to agents (run, batch, swarm) and the judge shared with merges. */
export {
  dispatchTicket,
  inferMode,
  type AgentCaller,
  type DispatchDeps,
  type DispatchInput,
  type DispatchOutcome,
} from './dispatch.js';
export { judge, evidenceScores, type Candidate, type CandidateScore, type Verdict } from './judge.js';
export {
  runDag,
  type DagNode,
  type NodeOutcome,
  type NodeState,
  type SchedulerHooks,
  type SchedulerOptions,
  type SchedulerResult,
} from './scheduler.js';
export {
  executePlan,
  type DecisionFeed,
  type ProgressEvent,
  type RunnerDeps,
  type RunnerInput,
  type RunnerResult,
  type RunOutcome,
} from './runner.js';
export { recordHumanDecision, recordedDecisions, type RecordedDecision } from './decisions.js';
export * from './read.js';
export { liveLogPath } from './run-context.js';
export { laneOf } from './node-preamble.js';
export { createGit, treeHash, type Git, type GitResult } from './git.js';
export { nodeInstructions } from './instructions.js';
export {
  compareRuns,
  loadRecordedCalls,
  replayAgents,
  type Divergence,
  type NodeRecord,
  type RecordedCalls,
  type RecordedGate,
  type RecordedResponse,
  type ReplayNotes,
} from './replay.js';
export { runDistributedNode, type DistributedBackend, type NodeQueue } from './distributed-step.js';
export {
  runNodeJob,
  nodeJobId,
  type NodeJob,
  type NodeJobEnv,
  type NodeJobResult,
  type HumanAsk,
  type KnownDecision,
} from './node-job.js';
export type { Recording, RecordedWrite, RecordedBlob } from './recording-log.js';
