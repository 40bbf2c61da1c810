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
