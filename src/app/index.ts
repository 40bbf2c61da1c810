/** The application API: `createApp(deps, settings)` and the composition root `createNodeApp`. */
export {
  createApp,
  type AppDeps,
  type AppLogger,
  type MsoApp,
  type RunView,
  type InitResult,
  type CreateRunRequest,
} from './create-app.js';
export { createNodeApp } from './create-node-app.js';
export { createAppRedactor } from './redaction.js';
export { resolveSettings, type ResolvedSettings, type SettingsInput } from './settings.js';
export type { SchemaInfo, SchemaValidation } from './schema-ops.js';
export type { AuditOps, ExportResult } from './audit-ops.js';
export type { AgentsOps, AgentInfo, TryResult } from './agents-ops.js';
export type { WorkerOps, WorkersList } from './distributed/worker-ops.js';
export type { WorkerReport } from './distributed/worker-serve.js';
export type { WorkerBeat } from './distributed/redis.js';
export type { CliCheck, DoctorReport } from './doctor.js';
export type { DesignOps, TopologyRequest, TopologyResult, ValidationReport } from './design-ops.js';
export type { TicketOps, TicketContext, TicketView } from './ticket-ops.js';
export type { PipelineResult, PipelineStep } from './pipeline-ops.js';
export type {
  McpHost,
  McpLauncher,
  McpInstallRequest,
  McpInstallResult,
  McpUninstallRequest,
  McpUninstallResult,
} from './mcp-install.js';
export type {
  RunOps,
  RunRequest,
  RunSummary,
  ReplayOptions,
  ReplayReport,
  UnfinishedRun,
  WaitingItem,
} from './run-ops.js';
export type { ExplainOps, RunDiff, RunExplanation, TimelineEntry } from './explain-ops.js';
export type { Provenance } from './provenance.js';
export type { ObserveOps, ObserveResult } from './observe-ops.js';
export type { DashboardOps, EventFeed } from './dashboard-ops.js';
export {
  createProgressView,
  type ProgressListener,
  type ProgressNode,
  type ProgressView,
  type RunProgress,
  underWay,
  type UnderWay,
} from './run-progress.js';
export type { FullOutput, LogEntry, LogsResult } from './run-logs.js';
