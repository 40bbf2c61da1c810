import type { SpilledOutput } from './process/output-spill.js';

/** Kinds of agent adapters; an agent in `policy.yaml` names one. */
export const AgentKind = {
  Manual: 'manual',
  Shell: 'shell',
  ClaudeCode: 'claude-code',
  Codex: 'codex',
  Gemini: 'gemini',
  OpenAI: 'openai',
  Anthropic: 'anthropic',
  Google: 'google',
  OpenAICompatible: 'openai-compatible',
} as const;
export type AgentKind = (typeof AgentKind)[keyof typeof AgentKind];
export const AGENT_KINDS = Object.values(AgentKind) as [AgentKind, ...AgentKind[]];

/** How an agent call ended (ACP-aligned outcome vocabulary). */
export type AgentStatus = 'success' | 'failure' | 'partial' | 'blocked' | 'timeout' | 'cancelled';

/** Why a call failed; decides retries, fallback and circuit breaking. */
export const ErrorClass = {
  RateLimit: 'rate_limit',
  Quota: 'quota',
  Auth: 'auth',
  BadRequest: 'bad_request',
  ServerError: 'server_error',
  Network: 'network',
  Timeout: 'timeout',
  StalledStream: 'stalled_stream',
  MaxTurns: 'max_turns',
  Budget: 'budget',
  Permission: 'permission',
  Protocol: 'protocol',
  Process: 'process',
  Cancelled: 'cancelled',
  BreakerOpen: 'breaker_open',
  Unavailable: 'unavailable',
  ManualRequired: 'manual_required',
  Unknown: 'unknown',
} as const;
export type ErrorClass = (typeof ErrorClass)[keyof typeof ErrorClass];

/** Classes worth another try of the same agent (never auth, bad request, quota or budget). */
export const RETRYABLE_CLASSES: ReadonlySet<ErrorClass> = new Set<ErrorClass>([
  'rate_limit',
  'server_error',
  'network',
  'timeout',
  'stalled_stream',
]);
/** Classes after which the next agent of a fallback chain is tried. */
export const FALLBACK_CLASSES: ReadonlySet<ErrorClass> = new Set<ErrorClass>([
  'rate_limit',
  'quota',
  'server_error',
  'network',
  'timeout',
  'stalled_stream',
  'breaker_open',
  'unavailable',
  'auth',
  'permission',
  'process',
  'protocol',
]);

export interface Deadlines {
  /** No output at all within this long: a hang. */
  readonly firstOutputMs?: number | undefined;
  /** No output for this long after the last output: a stall. */
  readonly inactivityMs?: number | undefined;
  /** The whole call. */
  readonly totalMs?: number | undefined;
}

/** One request to an agent. */
export interface AgentRequest {
  readonly runId: string;
  readonly ticketId?: string | undefined;
  readonly nodeId?: string | undefined;
  readonly attemptId?: string | undefined;
  readonly persona?: string | undefined;
  /** What to do: the prompt for model-backed agents; for `shell`, shown to nobody (the command runs). */
  readonly instructions: string;
  /** The shell command for the shell agent (a node's `command`). */
  readonly command?: string | undefined;
  /** What the call is for: a node's work (default) or one of its gates. Replay tells them apart by it. */
  readonly purpose?: 'work' | 'gate' | undefined;
  /** Absolute working directory (a worktree). */
  readonly cwd: string;
  /** The commit HEAD points at as the call starts, when the caller knows it (the engine does): saves a git call. */
  readonly headBefore?: string | undefined;
  /**
   * The caller commits the worktree as soon as the call ends and takes the changed files and HEAD from that commit
   * (the engine does for a node's shell step): the shell adapter then skips its `git status` and leaves
   * `changedFiles` empty and `evidence.headAfter` null for the caller to fill.
   */
  readonly committedByCaller?: boolean | undefined;
  /** Extra environment for this call, on top of the allow-list. */
  readonly env?: Readonly<Record<string, string>> | undefined;
  readonly deadlines?: Deadlines | undefined;
  readonly budgetUsd?: number | undefined;
  readonly maxTurns?: number | undefined;
  readonly permissionMode?: string | undefined;
  readonly model?: string | undefined;
  /** Pre-assigned session id (Claude Code, Gemini); recorded before the process starts. */
  readonly sessionId?: string | undefined;
  readonly signal?: AbortSignal | undefined;
}

export interface TokenUsage {
  readonly input: number;
  readonly output: number;
  readonly cacheRead: number;
}

export interface AgentCost {
  readonly usd: number;
  readonly source: 'reported' | 'estimated' | 'none';
}

export interface AgentEvidence {
  readonly pid: number | null;
  readonly startedAt: string;
  readonly endedAt: string;
  readonly transcriptSha256: string | null;
  readonly headBefore: string | null;
  readonly headAfter: string | null;
  readonly garbageLines: number;
  readonly stderrTail: string;
  readonly firstOutputMs: number | null;
  readonly lingerKilled: boolean;
  /** The agent CLI's version (from its stream, or `--version` once per process); null for non-CLI agents. */
  readonly cliVersion: string | null;
  /** The neutral permission mode a coding-agent CLI ran in. */
  readonly mode?: string | undefined;
  /** Names (never values) of the environment variables the process was given. */
  readonly envNames?: readonly string[] | undefined;
  /**
   * Where each output stream went whole when the transcript could keep only its head and tail: a blob per stream
   * (`mso logs RUN NODE --full`), with the byte count and SHA-256 of what the process printed.
   */
  readonly fullOutput?: { readonly stdout?: SpilledOutput; readonly stderr?: SpilledOutput } | undefined;
  /** Why the whole output could not be kept (a storage failure), when it could not. */
  readonly fullOutputError?: string | undefined;
}

/** What an adapter returns. `changedFiles` comes from git status, never from the agent's word. */
export interface AgentResult {
  readonly agent: string;
  readonly kind: AgentKind;
  readonly provider: string;
  readonly model: string | null;
  readonly status: AgentStatus;
  readonly summary: string;
  readonly output: string;
  readonly changedFiles: readonly string[];
  readonly usage: TokenUsage;
  readonly cost: AgentCost;
  readonly sessionId: string | null;
  readonly exitCode: number | null;
  readonly errorClass: ErrorClass | null;
  readonly errorMessage: string | null;
  /** Server-advised wait before retrying (Retry-After), when known. */
  readonly retryAfterMs: number | null;
  readonly requiresManualConfirmation: boolean;
  readonly evidence: AgentEvidence;
  /** The raw transcript (stdout/stderr lines or the HTTP exchange), to be stored as a blob. */
  readonly transcript: string;
}

/** Events streamed while an agent works (ACP session/update vocabulary). */
export type AgentEvent =
  | { readonly type: 'started'; readonly pid: number | null; readonly sessionId: string | null }
  | { readonly type: 'message'; readonly text: string }
  | { readonly type: 'tool_use'; readonly name: string; readonly input: unknown }
  | { readonly type: 'usage'; readonly usage: TokenUsage }
  | { readonly type: 'retry'; readonly attempt: number; readonly delayMs: number; readonly errorClass: string }
  | { readonly type: 'error'; readonly message: string; readonly errorClass: ErrorClass | null }
  /** A line a command printed, as it comes (shell steps; bounded: see `LIVE_OUTPUT_LINES`). */
  | { readonly type: 'output'; readonly stream: 'stdout' | 'stderr'; readonly text: string };

export interface Availability {
  readonly available: boolean;
  readonly reason: string;
  /**
   * For a coding-agent CLI found on PATH (its own command, not one the policy names): whether it shows a login. An
   * agent without one is still available (it may log in in a way mso cannot see), but its calls may fail.
   */
  readonly login?: { readonly ready: boolean; readonly hint: string };
}

/** One configured agent. */
export interface AgentAdapter {
  readonly name: string;
  readonly kind: AgentKind;
  readonly provider: string;
  readonly model: string | null;
  availability(): Promise<Availability>;
  run(request: AgentRequest, onEvent?: (e: AgentEvent) => void): Promise<AgentResult>;
}

export const ZERO_USAGE: TokenUsage = Object.freeze({ input: 0, output: 0, cacheRead: 0 });
