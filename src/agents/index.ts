/** Agents: one adapter interface over coding-agent CLIs, LLM APIs, shell commands and people, with supervision. */
export { AgentKind, AGENT_KINDS, ErrorClass, RETRYABLE_CLASSES, FALLBACK_CLASSES, ZERO_USAGE } from './types.js';
export type {
  AgentAdapter,
  AgentRequest,
  AgentResult,
  AgentEvent,
  AgentStatus,
  Availability,
  Deadlines,
  TokenUsage,
  AgentCost,
  AgentEvidence,
} from './types.js';
export { resolveAgentSpecs, createAdapter, chainFor } from './registry.js';
export type { AdapterDeps, AgentSpec } from './adapters/common.js';
export { notStartedResult } from './adapters/common.js';
export { cliLogin, type CliLogin } from './adapters/cli-login.js';
export { runChain, breakerKeyOf, type ChainResult, type ChainStep, type ResilienceDeps } from './resilient.js';
export { costOf, type Price } from './cost.js';
export { classifyHttp, classifyMessage, parseRetryAfter, CONFIGURATION_CLASSES } from './classify.js';
export {
  CLI_TABLES,
  NEUTRAL_MODES,
  credentialEnvNames,
  decideMode,
  isCliKind,
  modeRefusal,
  toNeutralMode,
  type CliKind,
  type CliTable,
  type NeutralMode,
} from './cli-table.js';
export { superviseProcess, type SupervisedExit, type SuperviseOptions } from './process/supervise.js';
export { buildChildEnv } from './process/environment.js';
export { endProcessGroup, type GroupEnd } from './process/end-group.js';
export { readTranscript, toolText, type TranscriptEntry } from './transcript.js';
