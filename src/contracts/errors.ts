import { ErrorCategory, ErrorCode } from './error-codes.js';

/** One failing field of an artifact or input: `path` is like `nodes[2].gates[0]`, or `(root)`. */
export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

/** Base of every error mso throws on purpose. `code` is stable API; `details` is JSON-safe context. */
export abstract class MsoError extends Error {
  abstract readonly code: ErrorCode;
  abstract readonly category: ErrorCategory;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
  /** JSON-safe context fields for `{"error":{code,message,...details}}`. */
  get details(): Record<string, unknown> {
    return {};
  }
}

/** True when `e` is an MsoError (checked structurally so it survives duplicated module copies). */
export function isMsoError(e: unknown): e is MsoError {
  return e instanceof MsoError || (typeof e === 'object' && e !== null && 'code' in e && 'category' in e);
}

/** Bad command-line usage: unknown option, missing argument, conflicting flags. */
export class UsageError extends MsoError {
  readonly code = ErrorCode.Usage;
  readonly category = ErrorCategory.Invalid;
}

/** An argument has a value mso cannot accept; `field` names it. */
export class InvalidArgumentError extends MsoError {
  readonly code = ErrorCode.InvalidArgument;
  readonly category = ErrorCategory.Invalid;
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`invalid ${field}: ${reason}`);
  }
  override get details(): Record<string, unknown> {
    return { field: this.field };
  }
}

/** A file on disk does not match its schema or cannot be parsed; names the file and each failing field. */
export class InvalidArtifactError extends MsoError {
  readonly code = ErrorCode.InvalidArtifact;
  readonly category = ErrorCategory.Invalid;
  constructor(
    readonly file: string,
    readonly issues: readonly FieldIssue[],
  ) {
    super(`${file}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
  }
  override get details(): Record<string, unknown> {
    return { file: this.file, issues: this.issues };
  }
}

/** A run id that is malformed, has an impossible date, or could escape the workspace. */
export class InvalidRunIdError extends MsoError {
  readonly code = ErrorCode.InvalidRunId;
  readonly category = ErrorCategory.Invalid;
  constructor(
    readonly runId: string,
    readonly reason: string,
  ) {
    super(`invalid run id ${JSON.stringify(runId)}: ${reason}`);
  }
  override get details(): Record<string, unknown> {
    return { run_id: this.runId };
  }
}

/** A path or name that would leave the workspace (`..`, `/`, NUL). */
export class UnsafePathError extends MsoError {
  readonly code = ErrorCode.UnsafePath;
  readonly category = ErrorCategory.Invalid;
  constructor(
    readonly field: string,
    readonly value: string,
  ) {
    super(`${field} ${JSON.stringify(value)} could escape the workspace`);
  }
  override get details(): Record<string, unknown> {
    return { field: this.field, value: this.value };
  }
}

/** A file or object the caller named does not exist. */
export class NotFoundError extends MsoError {
  readonly code = ErrorCode.NotFound;
  readonly category = ErrorCategory.NotFound;
  constructor(
    readonly what: string,
    readonly ref: string,
  ) {
    super(`${what} not found: ${ref}`);
  }
  override get details(): Record<string, unknown> {
    return { what: this.what, ref: this.ref };
  }
}

/** No run with this id in the workspace (active or archived). */
export class RunNotFoundError extends MsoError {
  readonly code = ErrorCode.RunNotFound;
  readonly category = ErrorCategory.NotFound;
  constructor(readonly runId: string) {
    super(`run ${runId} not found`);
  }
  override get details(): Record<string, unknown> {
    return { run_id: this.runId };
  }
}

/** A run with this explicit id already exists. */
export class RunExistsError extends MsoError {
  readonly code = ErrorCode.RunExists;
  readonly category = ErrorCategory.Conflict;
  constructor(readonly runId: string) {
    super(`run ${runId} already exists`);
  }
  override get details(): Record<string, unknown> {
    return { run_id: this.runId };
  }
}

/** A run status change the run lifecycle does not allow, e.g. archived → completed. */
export class RunTransitionError extends MsoError {
  readonly code = ErrorCode.RunTransition;
  readonly category = ErrorCategory.Conflict;
  constructor(
    readonly runId: string,
    readonly from: string,
    readonly to: string,
    /** Why, in the words of the command that asked (the default names the two statuses). */
    why?: string,
  ) {
    super(why ?? `run ${runId} cannot move from ${from} to ${to}`);
  }
  override get details(): Record<string, unknown> {
    return { run_id: this.runId, from: this.from, to: this.to };
  }
}

/** Starting a run (or making one that runs at once) would exceed `run_policy.max_active_runs`. */
export class MaxActiveRunsError extends MsoError {
  readonly code = ErrorCode.MaxActiveRuns;
  readonly category = ErrorCategory.Conflict;
  constructor(
    readonly active: number,
    readonly limit: number,
  ) {
    super(
      `max_active_runs exceeded: ${active}/${limit} runs are active; cancel (mso cancel RUN) or finish one, archive finished ones (mso runs archive --auto), or raise run_policy.max_active_runs`,
    );
  }
  override get details(): Record<string, unknown> {
    return { active: this.active, limit: this.limit };
  }
}

/** A workspace lock could not be taken in time (another process holds it). */
export class LockTimeoutError extends MsoError {
  readonly code = ErrorCode.LockTimeout;
  readonly category = ErrorCategory.Unavailable;
  constructor(
    readonly lockPath: string,
    readonly waitedMs: number,
  ) {
    super(`lock ${lockPath} still held by another process after ${waitedMs} ms`);
  }
  override get details(): Record<string, unknown> {
    return { lock: this.lockPath, waited_ms: this.waitedMs };
  }
}

/** The peer space is missing and `relocation_policy.on_peer_missing` is `block`. */
export class PeerMissingBlockedError extends MsoError {
  readonly code = ErrorCode.PeerMissingBlocked;
  readonly category = ErrorCategory.Failed;
  constructor(
    readonly peer: string,
    readonly lastKnownPath: string,
  ) {
    super(
      `${peer} peer missing (last known at ${lastKnownPath}) and on_peer_missing is block; ` +
        'restore it, point MSO_OBSERVATION_ROOT at it, or run `mso workspace relink`',
    );
  }
  override get details(): Record<string, unknown> {
    return { peer: this.peer, last_known_path: this.lastKnownPath };
  }
}

/** A validation command found failures (the report is in details). */
export class ValidationFailedError extends MsoError {
  readonly code = ErrorCode.ValidationFailed;
  readonly category = ErrorCategory.Failed;
  constructor(
    message: string,
    readonly issues: readonly FieldIssue[],
  ) {
    super(message);
  }
  override get details(): Record<string, unknown> {
    return { issues: this.issues };
  }
}

/** A statement given to the read-only audit query would write. */
export class AuditReadOnlyError extends MsoError {
  readonly code = ErrorCode.AuditReadOnly;
  readonly category = ErrorCategory.Invalid;
  constructor(readonly reason: string) {
    super(`audit queries are read-only: ${reason}`);
  }
}

/** An audit record reused an idempotency key with different content. */
export class AuditKeyConflictError extends MsoError {
  readonly code = ErrorCode.AuditKeyConflict;
  readonly category = ErrorCategory.Conflict;
  constructor(
    readonly table: string,
    readonly key: string,
    /** The columns whose stored value differs (when the writer tells them). */
    readonly fields: readonly string[] = [],
  ) {
    super(
      `${table} key ${key} was already recorded with different content${fields.length ? ` (${fields.join(', ')})` : ''}`,
    );
  }
  override get details(): Record<string, unknown> {
    return { table: this.table, key: this.key, ...(this.fields.length ? { fields: this.fields } : {}) };
  }
}

/** The state of one agent of a fallback chain when the chain could not run. */
export interface ChainAgentState {
  readonly agent: string;
  readonly available: boolean;
  readonly reason: string;
  readonly breaker: string | null;
}

/** ALL_PROVIDERS_UNAVAILABLE: no agent of the chain could take the call; lists each one's state. */
export class AllProvidersUnavailableError extends MsoError {
  readonly code = ErrorCode.AllProvidersUnavailable;
  readonly category = ErrorCategory.Unavailable;
  constructor(readonly agents: readonly ChainAgentState[]) {
    super(
      `ALL_PROVIDERS_UNAVAILABLE: ${agents.map((a) => `${a.agent} (${a.breaker ? `breaker ${a.breaker}, ` : ''}${a.reason})`).join('; ')}`,
    );
  }
  override get details(): Record<string, unknown> {
    return { agents: this.agents };
  }
}

/** A ticket status change the state machine does not allow. */
export class TicketTransitionError extends MsoError {
  readonly code = ErrorCode.TicketTransition;
  readonly category = ErrorCategory.Conflict;
  constructor(
    readonly ticketId: string,
    readonly from: string,
    readonly to: string,
  ) {
    super(`invalid transition ${from} -> ${to} (ticket ${ticketId})`);
  }
  override get details(): Record<string, unknown> {
    return { ticket: this.ticketId, from: this.from, to: this.to };
  }
}

/** Another process changed the ticket between our read and our write. */
export class TicketConflictError extends MsoError {
  readonly code = ErrorCode.TicketConflict;
  readonly category = ErrorCategory.Conflict;
  constructor(
    readonly ticketId: string,
    readonly now: string,
  ) {
    super(`ticket ${ticketId} was changed by another process (it is now ${now}); read it again and retry`);
  }
  override get details(): Record<string, unknown> {
    return { ticket: this.ticketId, status: this.now };
  }
}

/** Another live coordinator is running this run. */
export class RunBusyError extends MsoError {
  readonly code = ErrorCode.RunBusy;
  readonly category = ErrorCategory.Busy;
  constructor(
    readonly runId: string,
    readonly pid: number,
    readonly host?: string,
    readonly since?: string,
  ) {
    super(
      `run ${runId} is being coordinated by process ${pid}${host ? ` on ${host}` : ''}${since ? ` (since ${since})` : ''}; use mso status ${runId}, or mso cancel ${runId}`,
    );
  }
  override get details(): Record<string, unknown> {
    return { run_id: this.runId, pid: this.pid, host: this.host ?? null, since: this.since ?? null };
  }
}

/** Anything unexpected, wrapped at the edge. */
/** An agent process group of an earlier coordinator is still there after SIGKILL: its node is not run again. */
export class OrphanSurvivedError extends MsoError {
  readonly code = ErrorCode.OrphanSurvived;
  readonly category = ErrorCategory.Failed;
  constructor(
    readonly runId: string,
    readonly pids: readonly number[],
  ) {
    super(
      `run ${runId}: agent process group(s) ${pids.join(', ')} of an earlier coordinator survived SIGTERM and SIGKILL; end them (kill -KILL -PGID) and resume again`,
    );
  }
  override get details(): Record<string, unknown> {
    return { run_id: this.runId, pids: this.pids };
  }
}

/** `mso apply` cannot bring a run's result into the repository as asked (dirty tree, no result, a conflict). */
export class ApplyRefusedError extends MsoError {
  readonly code = ErrorCode.ApplyRefused;
  readonly category = ErrorCategory.Conflict;
  constructor(
    readonly runId: string,
    readonly reason: string,
  ) {
    super(`cannot apply ${runId}: ${reason}`);
  }
  override get details(): Record<string, unknown> {
    return { run_id: this.runId, reason: this.reason };
  }
}

/** Sending an export to a collector failed (unreachable, refused, or it answered an error): nothing was sent. */
export class ExportFailedError extends MsoError {
  readonly code = ErrorCode.ExportFailed;
  readonly category = ErrorCategory.Failed;
  constructor(
    readonly endpoint: string,
    readonly reason: string,
  ) {
    super(`export to ${endpoint} failed: ${reason}`);
  }
  override get details(): Record<string, unknown> {
    return { endpoint: this.endpoint, reason: this.reason };
  }
}

export class InternalError extends MsoError {
  readonly code = ErrorCode.Internal;
  readonly category = ErrorCategory.Internal;
}

/** The agents a run would use for some of its nodes: each with whether it can run, and why not. */
export interface AgentCheck {
  readonly agent: string;
  readonly usable: boolean;
  readonly reason: string;
  /** A usable coding-agent CLI that shows no login: how to log in (its calls may fail and fall back). */
  readonly noLogin?: string;
}

/**
 * A run whose nodes no agent can do, refused before anything is written: without it every node would silently go to
 * a person. `advice` says what to do (mso doctor, a policy snippet, --allow-manual).
 */
export class NoUsableAgentError extends MsoError {
  readonly code = ErrorCode.NoUsableAgent;
  readonly category = ErrorCategory.Invalid;
  constructor(
    readonly where: string,
    readonly agents: readonly AgentCheck[],
    readonly advice: string,
  ) {
    super(
      `no usable agent for ${where}: ${agents.map((a) => `${a.agent} (${a.reason})`).join('; ') || 'none configured'}. Nothing was written.\n${advice}`,
    );
  }
  override get details(): Record<string, unknown> {
    return { where: this.where, agents: this.agents };
  }
}

/** `--planner llm` when no model of `design.planner_chain` can be called: refused instead of quietly planning offline. */
export class PlannerUnavailableError extends MsoError {
  readonly code = ErrorCode.PlannerUnavailable;
  readonly category = ErrorCategory.Invalid;
  constructor(readonly agents: readonly AgentCheck[]) {
    super(
      `--planner llm needs a usable model, and design.planner_chain has none: ${agents.map((a) => `${a.agent} (${a.reason})`).join('; ') || 'empty chain'}. Configure one (see mso doctor), or use --planner heuristic, or --planner auto (LLM if available, else heuristic)`,
    );
  }
  override get details(): Record<string, unknown> {
    return { agents: this.agents };
  }
}

/** The MCP server is stopping (its host left): it starts nothing new. */
export class ServerStoppingError extends MsoError {
  readonly code = ErrorCode.ServerStopping;
  readonly category = ErrorCategory.Unavailable;
  constructor(readonly reason: string) {
    super(`the server is stopping (${reason}): start a new one and call run_resume`);
  }
}

/** The distributed backend's Redis cannot be reached (down, wrong URL, refused): nothing was enqueued or written. */
export class QueueUnavailableError extends MsoError {
  readonly code = ErrorCode.QueueUnavailable;
  readonly category = ErrorCategory.Unavailable;
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`cannot reach Redis at ${url}: ${reason}`);
  }
  override get details(): Record<string, unknown> {
    return { url: this.url };
  }
}
