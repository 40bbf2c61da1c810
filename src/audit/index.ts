/** The audit log: one SQLite database for every run, node, attempt, agent call, decision and snapshot. */
export { openAuditLog, type AuditLog, type OpenAuditOptions } from './audit-log.js';
export type { AppendResult } from './payload-writer.js';
export { createBlobReader, readRowBlob, ROW_BLOB_MAX } from './blob-store.js';
export {
  openAuditReader,
  runReadOnlyQuery,
  readEvents,
  auditStats,
  type AuditReader,
  type QueryResult,
  type EventView,
  type AuditStats,
} from './queries.js';
export { exportRunRows, exportRunOtlp, type OtlpTraces } from './export.js';
export { migrate, schemaIsCurrent, AUDIT_SCHEMA_VERSION, SEED_MARKER, type MigrationReport } from './migrate.js';
export { errorFingerprint, normalizeErrorMessage, type FingerprintInput } from './fingerprint.js';
export { createRedactor, isCredentialEnvName, type Redactor, type RedactorOptions } from './redact.js';
export { blobPath, sha256Hex, streamBlob } from './blobs.js';
export type { BlobStream, StreamedBlob } from './blob-stream.js';
export type {
  EventInput,
  RunRow,
  AttemptRow,
  AgentCallRow,
  BreakerEventInput,
  SnapshotInput,
  DecisionInput,
} from './records.js';
export type { AuditDatabase } from './db-types.js';
export {
  acquireRunLease,
  readRunLease,
  liveRunHolder,
  holderIsDead,
  LEASE_RENEW_MS,
  LEASE_REMOTE_EXPIRY_MS,
  type LeaseHolder,
  type RunLease,
  type LeaseDeps,
} from './lease.js';
