import type { CliTable } from '../cli-table.js';
import type { SupervisedExit } from '../process/supervise.js';
import type { AgentEvent, AgentRequest, AgentStatus, ErrorClass, TokenUsage } from '../types.js';

/** What a dialect concluded from the stream and the exit. */
/** A number a CLI's JSON reported, or 0 when it is missing or not a finite number (token counts, costs). */
export const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

export interface DialectOutcome {
  readonly status: AgentStatus;
  readonly errorClass: ErrorClass | null;
  readonly errorMessage: string | null;
  readonly output: string;
  readonly usage: TokenUsage;
  readonly reportedCostUsd: number | null;
  readonly sessionId: string | null;
  readonly model: string | null;
}

/** Parsing state shared by all dialects. */
export interface StreamState {
  garbage: number;
  sessionId: string | null;
  /** The CLI's version when its stream says it (Claude Code's init frame does). */
  cliVersion: string | null;
  model: string | null;
  texts: string[];
  terminal: Record<string, unknown> | null;
  errors: string[];
  errorClass: ErrorClass | null;
  usage: { input: number; output: number; cacheRead: number };
  /** A failure the stream made certain (a bad key, a rejected rate limit): the call is ended at once. */
  fatal: { cls: ErrorClass; message: string } | null;
  /** The last failure the CLI is retrying by itself (not progress); names a stall that follows it. */
  retrying: { cls: ErrorClass; message: string } | null;
  /** A wait the provider asked for (Retry-After), when the stream carried one. */
  retryAfterMs: number | null;
}

export function newStreamState(): StreamState {
  return {
    garbage: 0,
    sessionId: null,
    cliVersion: null,
    model: null,
    texts: [],
    terminal: null,
    errors: [],
    errorClass: null,
    usage: { input: 0, output: 0, cacheRead: 0 },
    fatal: null,
    retrying: null,
    retryAfterMs: null,
  };
}

/** How one coding-agent CLI is invoked and how its stream is read. */
export interface CliDialect {
  /** The CLI's table: env, prompt, modes, failure wording. */
  readonly table: CliTable;
  /** The stream says the CLI's version (so it is never asked `--version`). */
  readonly versionInStream?: boolean;
  args(
    req: AgentRequest,
    cfg: {
      readonly args: readonly string[];
      readonly model?: string | undefined;
      readonly maxTurns?: number | undefined;
    },
    sessionId: string,
    modeFlags: readonly string[],
  ): string[];
  /** The model the CLI's own config selects, when its stream never names one (Codex). */
  configuredModel?(
    env: Readonly<Record<string, string>>,
    read: (path: string) => Promise<string | null>,
  ): Promise<string | null>;
  isTerminal(line: string): boolean;
  /** True for a stdout line that is a model or tool event; retry and status chatter is not progress. */
  isProgress(line: string): boolean;
  /** Reads one stdout line (JSON or not) into the state; returns events to stream. */
  parseLine(line: string, state: StreamState): AgentEvent[];
  /** Reads one stderr line (error output some CLIs print there). */
  parseStderr?(line: string, state: StreamState): void;
  finalize(state: StreamState, exit: SupervisedExit): DialectOutcome;
}

/** Parses a JSON object line, or counts it as garbage. */
export function parseJsonLine(line: string, state: StreamState): Record<string, unknown> | null {
  const t = line.trim();
  if (t === '') return null;
  try {
    const v = JSON.parse(t) as unknown;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // not JSON
  }
  state.garbage++;
  return null;
}

/** The outcome when no terminal event arrived: decided by who stopped the process and its exit. */
export function outcomeWithoutTerminal(
  state: StreamState,
  exit: SupervisedExit,
  classifyExit?: (code: number) => ErrorClass | null,
): Pick<DialectOutcome, 'status' | 'errorClass' | 'errorMessage'> {
  if (exit.spawnError)
    return { status: 'failure', errorClass: 'unavailable', errorMessage: `could not start: ${exit.spawnError}` };
  switch (exit.stoppedBy) {
    case 'cancelled':
      return { status: 'cancelled', errorClass: 'cancelled', errorMessage: 'cancelled' };
    case 'first_output':
      return {
        status: 'timeout',
        errorClass: 'timeout',
        errorMessage: 'no output before the first-output deadline (hang)',
      };
    case 'inactivity':
      return {
        status: 'timeout',
        errorClass: 'stalled_stream',
        errorMessage: 'output stopped for longer than the inactivity deadline (stalled)',
      };
    case 'total':
      return { status: 'timeout', errorClass: 'timeout', errorMessage: 'the total deadline passed' };
    default:
      break;
  }
  const last = state.errors.at(-1) ?? exit.stderrTail.split('\n').filter(Boolean).at(-1) ?? null;
  if (exit.exitCode !== 0 || exit.signal) {
    const cls = (exit.exitCode !== null ? classifyExit?.(exit.exitCode) : null) ?? state.errorClass ?? 'process';
    return { status: 'failure', errorClass: cls, errorMessage: last ?? `exited with ${exit.exitCode ?? exit.signal}` };
  }
  return {
    status: 'failure',
    errorClass: state.errorClass ?? 'protocol',
    errorMessage: last ?? 'exited without a final result event',
  };
}

/** Failures no retry by the CLI itself can cure: the call is ended at once and reported. */
const END_NOW: ReadonlySet<ErrorClass> = new Set<ErrorClass>(['auth', 'permission', 'quota', 'rate_limit']);
const UNREACHABLE =
  /\b(name does not resolve|failed to lookup address|ENOTFOUND|EAI_AGAIN|getaddrinfo|ECONNREFUSED|connection refused)\b/i;

/**
 * Notes a failure the CLI reported while retrying by itself. A bad key, missing rights, an exhausted quota or a rate
 * limit ends the call now (with the provider's wait, for a rate limit); anything else is chatter that names a later
 * stall. Returns the retry event to stream, if any.
 */
export function noteRetry(
  state: StreamState,
  cls: ErrorClass,
  message: string,
  delayMs: number | null,
  attempt: number,
): AgentEvent | null {
  // A host that does not resolve or refuses connections will not within the CLI's retries (offline: Codex
  // reconnects for minutes); mso's own retry and fallback take over.
  if (cls === 'network' && UNREACHABLE.test(message)) {
    state.fatal ??= { cls, message };
    return null;
  }
  if (END_NOW.has(cls)) {
    state.fatal ??= { cls, message };
    if (cls === 'rate_limit' && delayMs !== null) state.retryAfterMs ??= delayMs;
    return null;
  }
  state.retrying = { cls, message };
  return { type: 'retry', attempt, delayMs: delayMs ?? 0, errorClass: cls };
}

/** The model that did most of the work in a per-model usage map (Claude `modelUsage`, Gemini `stats.models`). */
export function mainModel(
  byModel: Readonly<Record<string, Record<string, unknown>>>,
  weight: (u: Record<string, unknown>) => number,
): string | null {
  let best: string | null = null;
  let most = -1;
  for (const [m, u] of Object.entries(byModel)) {
    const w = weight(u);
    if (w > most) {
      best = m;
      most = w;
    }
  }
  return best;
}
