/**
 * Every stable error code mso emits. Codes are API: never rename or reuse one; messages may change.
 */
export const ErrorCode = {
  Usage: 'MSO_USAGE',
  InvalidArgument: 'MSO_INVALID_ARGUMENT',
  InvalidArtifact: 'MSO_INVALID_ARTIFACT',
  InvalidRunId: 'MSO_INVALID_RUN_ID',
  UnsafePath: 'MSO_UNSAFE_PATH',
  NotFound: 'MSO_NOT_FOUND',
  RunNotFound: 'MSO_RUN_NOT_FOUND',
  RunExists: 'MSO_RUN_EXISTS',
  RunTransition: 'MSO_RUN_INVALID_TRANSITION',
  MaxActiveRuns: 'MSO_MAX_ACTIVE_RUNS',
  LockTimeout: 'MSO_LOCK_TIMEOUT',
  PeerMissingBlocked: 'MSO_PEER_MISSING_BLOCKED',
  ValidationFailed: 'MSO_VALIDATION_FAILED',
  AuditReadOnly: 'MSO_AUDIT_READONLY',
  AuditKeyConflict: 'MSO_AUDIT_KEY_CONFLICT',
  AllProvidersUnavailable: 'MSO_ALL_PROVIDERS_UNAVAILABLE',
  TicketTransition: 'MSO_TICKET_INVALID_TRANSITION',
  TicketConflict: 'MSO_TICKET_CONFLICT',
  RunBusy: 'MSO_RUN_BUSY',
  OrphanSurvived: 'MSO_ORPHAN_SURVIVED',
  GovernanceFailed: 'MSO_GOVERNANCE_FAILED',
  NoUsableAgent: 'MSO_NO_USABLE_AGENT',
  PlannerUnavailable: 'MSO_PLANNER_UNAVAILABLE',
  ServerStopping: 'MSO_SERVER_STOPPING',
  QueueUnavailable: 'MSO_QUEUE_UNAVAILABLE',
  StorageReadOnly: 'MSO_STORAGE_READONLY',
  StorageFull: 'MSO_STORAGE_FULL',
  StorageIo: 'MSO_STORAGE_IO',
  AuditBusy: 'MSO_AUDIT_BUSY',
  AuditWalLost: 'MSO_AUDIT_WAL_LOST',
  AuditStoreUnavailable: 'MSO_AUDIT_STORE_UNAVAILABLE',
  AuditCopy: 'MSO_AUDIT_COPY',
  BlobCorrupt: 'MSO_BLOB_CORRUPT',
  ApplyRefused: 'MSO_APPLY_REFUSED',
  ExportFailed: 'MSO_EXPORT_FAILED',
  Internal: 'MSO_INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** What kind of failure an error is; decides the exit code and the MCP error shape. */
export const ErrorCategory = {
  Invalid: 'invalid',
  NotFound: 'not_found',
  Conflict: 'conflict',
  Unavailable: 'unavailable',
  Failed: 'failed',
  /** Someone else holds what this needs right now (another coordinator of the run): try again later. */
  Busy: 'busy',
  Internal: 'internal',
} as const;
export type ErrorCategory = (typeof ErrorCategory)[keyof typeof ErrorCategory];

/**
 * CLI exit codes per category (DESIGN.md): 1 failed, 2 bad input, 3 busy (another coordinator holds the run), 70
 * internal. 0 and 3 (waiting for a person) are also results.
 */
export const EXIT_CODES = {
  invalid: 2,
  not_found: 2,
  conflict: 1,
  unavailable: 1,
  failed: 1,
  busy: 3,
  internal: 70,
} as const satisfies Record<ErrorCategory, number>;

/** Exit code of a run or command that stopped to wait for a human decision. */
export const EXIT_WAITING_FOR_HUMAN = 3;
