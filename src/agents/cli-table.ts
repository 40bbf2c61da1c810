import type { ErrorClass } from './types.js';

/**
 * One table per coding-agent CLI: the environment it reads, how the prompt goes in, how each neutral permission
 * mode maps to its flags, which of its stream frames are progress, and how its failure wording is classified.
 * Adapters and `mso doctor` read these tables; nothing else special-cases a CLI. Checked against Claude Code
 * 2.1.330, Codex 0.169.0 and Gemini CLI 0.61.0 (see test/interop/).
 */

/** Our permission vocabulary, narrowest first. Each CLI maps it to its own flags. */
export const NEUTRAL_MODES = ['read-only', 'edit', 'full'] as const;
export type NeutralMode = (typeof NEUTRAL_MODES)[number];
const RANK: Readonly<Record<NeutralMode, number>> = { 'read-only': 0, edit: 1, full: 2 };

/**
 * Older plan and policy names, mapped onto the neutral ones. `plan`, `default` and `dontAsk` cannot write anything
 * unattended (nobody answers a prompt), so they are read-only; `acceptEdits`/`auto_edit` edit files; the bypass
 * names are full access. Anything else (`experimental`, Claude's `auto`) has no safe meaning and is refused.
 */
export const MODE_ALIASES: Readonly<Record<string, NeutralMode>> = {
  'read-only': 'read-only',
  readonly: 'read-only',
  plan: 'read-only',
  default: 'read-only',
  dontAsk: 'read-only',
  edit: 'edit',
  acceptEdits: 'edit',
  auto_edit: 'edit',
  'workspace-write': 'edit',
  full: 'full',
  bypassPermissions: 'full',
  yolo: 'full',
  'danger-full-access': 'full',
};

/** The neutral mode for a plan/policy name, or null when it names none. */
export function toNeutralMode(name: string | undefined): NeutralMode | null {
  if (name === undefined) return null;
  return Object.hasOwn(MODE_ALIASES, name) ? (MODE_ALIASES[name] ?? null) : null;
}

export const wider = (a: NeutralMode, b: NeutralMode): boolean => RANK[a] > RANK[b];

/** One failure wording of a CLI (or of the provider APIs they relay) and what it means. */
export interface FailureRule {
  readonly match: RegExp;
  readonly cls: ErrorClass;
}

/** Variables every CLI may need to reach its provider from a corporate network. */
const NETWORK_ENV = [
  'HTTPS_PROXY',
  'HTTP_PROXY',
  'NO_PROXY',
  'https_proxy',
  'http_proxy',
  'no_proxy',
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'XDG_CONFIG_HOME',
] as const;

export type CliKind = 'claude-code' | 'codex' | 'gemini';

export interface CliTable {
  readonly kind: CliKind;
  readonly command: string;
  readonly provider: string;
  /** Parent variables passed through by default (extended by an agent's `env_allow`). */
  readonly env: readonly string[];
  /** Of those, the ones whose values are credentials (redacted at every sink, never recorded). */
  readonly credentialEnv: readonly string[];
  /** Fixed variables set for every call. */
  readonly fixedEnv: Readonly<Record<string, string>>;
  /** Variables that, when set, let the CLI authenticate without a config file (doctor reads these). */
  readonly authEnv: readonly (readonly string[])[];
  /** Config files (relative to HOME, or to the variable named first) that hold a login. */
  readonly authFiles: readonly { readonly dirEnv?: string; readonly path: string }[];
  /** The prompt always goes in on stdin (no ARG_MAX limit; a prompt starting with `-` is not read as a flag). */
  readonly prompt: 'stdin';
  /** Flags per neutral mode; null where the CLI cannot honour the mode. */
  readonly modes: Readonly<Record<NeutralMode, readonly string[] | null>>;
  /** Classes of the CLI's own failure wording, checked before the shared classifier. */
  readonly failures: readonly FailureRule[];
  /** How to install it, and how to log in without an API key. */
  readonly install: string;
  readonly login: string;
}

export const CLAUDE_TABLE: CliTable = {
  kind: 'claude-code',
  command: 'claude',
  provider: 'anthropic',
  env: [
    'ANTHROPIC_API_KEY',
    'ANTHROPIC_AUTH_TOKEN',
    'ANTHROPIC_BASE_URL',
    'ANTHROPIC_CUSTOM_HEADERS',
    'ANTHROPIC_MODEL',
    'ANTHROPIC_SMALL_FAST_MODEL',
    'CLAUDE_CONFIG_DIR',
    'CLAUDE_CODE_USE_BEDROCK',
    'CLAUDE_CODE_USE_VERTEX',
    'ANTHROPIC_BEDROCK_BASE_URL',
    'ANTHROPIC_VERTEX_BASE_URL',
    'ANTHROPIC_VERTEX_PROJECT_ID',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_BEARER_TOKEN_BEDROCK',
    'AWS_PROFILE',
    'AWS_REGION',
    'AWS_DEFAULT_REGION',
    'CLOUD_ML_REGION',
    'GOOGLE_APPLICATION_CREDENTIALS',
    'GOOGLE_CLOUD_PROJECT',
    'CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC',
    'DISABLE_TELEMETRY',
    'IS_SANDBOX',
    ...NETWORK_ENV,
  ],
  credentialEnv: [
    'ANTHROPIC_API_KEY',
    'ANTHROPIC_AUTH_TOKEN',
    'ANTHROPIC_CUSTOM_HEADERS',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'AWS_SESSION_TOKEN',
    'AWS_BEARER_TOKEN_BEDROCK',
  ],
  fixedEnv: {},
  authEnv: [
    ['ANTHROPIC_API_KEY'],
    ['ANTHROPIC_AUTH_TOKEN'],
    ['CLAUDE_CODE_USE_BEDROCK', 'AWS_REGION'],
    ['CLAUDE_CODE_USE_VERTEX', 'CLOUD_ML_REGION'],
  ],
  authFiles: [{ dirEnv: 'CLAUDE_CONFIG_DIR', path: '.claude/.credentials.json' }],
  prompt: 'stdin',
  modes: {
    'read-only': ['--permission-mode', 'plan'],
    edit: ['--permission-mode', 'acceptEdits'],
    full: ['--permission-mode', 'bypassPermissions'],
  },
  failures: [
    // api_retry / assistant `error` values (SDKAssistantMessageError) and the API's error types.
    { match: /\bauthentication_(failed|error)\b/, cls: 'auth' },
    { match: /\bpermission_error\b/, cls: 'permission' },
    // `full` (bypassPermissions) as root needs IS_SANDBOX=1: the user's call, so a configuration problem.
    { match: /cannot be used with root\/sudo privileges/, cls: 'permission' },
    { match: /\bbilling_error\b/, cls: 'quota' },
    { match: /\brate_limit(_error)?\b/, cls: 'rate_limit' },
    { match: /\b(overloaded(_error)?|api_error|server_error)\b/, cls: 'server_error' },
    { match: /\bmodel_not_found\b/, cls: 'bad_request' },
    { match: /\binvalid_request\b/, cls: 'bad_request' },
  ],
  install: 'npm install -g @anthropic-ai/claude-code',
  login: 'run `claude` once and /login, or set ANTHROPIC_API_KEY',
};

export const CODEX_TABLE: CliTable = {
  kind: 'codex',
  command: 'codex',
  provider: 'openai',
  env: [
    'CODEX_API_KEY',
    'CODEX_HOME',
    'OPENAI_API_KEY',
    'OPENAI_BASE_URL',
    'OPENAI_ORGANIZATION',
    'OPENAI_PROJECT',
    'AZURE_OPENAI_API_KEY',
    ...NETWORK_ENV,
  ],
  credentialEnv: ['CODEX_API_KEY', 'OPENAI_API_KEY', 'AZURE_OPENAI_API_KEY'],
  fixedEnv: {},
  // `codex exec` reads CODEX_API_KEY; OPENAI_API_KEY only through a provider's `env_key` or `codex login`.
  authEnv: [['CODEX_API_KEY']],
  authFiles: [{ dirEnv: 'CODEX_HOME', path: '.codex/auth.json' }],
  prompt: 'stdin',
  modes: {
    'read-only': ['--sandbox', 'read-only', '-c', 'approval_policy="never"'],
    edit: ['--sandbox', 'workspace-write', '-c', 'approval_policy="never"'],
    full: ['--sandbox', 'danger-full-access', '-c', 'approval_policy="never"'],
  },
  failures: [
    // "unexpected status 401 Unauthorized: ..." inside `error` / `turn.failed` messages.
    { match: /\bstatus (401|407)\b/, cls: 'auth' },
    { match: /\bstatus 403\b/, cls: 'permission' },
    { match: /\bstatus 429\b/, cls: 'rate_limit' },
    { match: /\bstatus 5\d\d\b|\bexperiencing high demand\b/, cls: 'server_error' },
    { match: /\bstatus 4(00|04|13|22)\b/, cls: 'bad_request' },
    { match: /\bstream disconnected\b|\berror sending request\b|\bconnection (closed|reset)\b/, cls: 'network' },
  ],
  install: 'npm install -g @openai/codex',
  login: 'run `codex login`, or set CODEX_API_KEY',
};

export const GEMINI_TABLE: CliTable = {
  kind: 'gemini',
  command: 'gemini',
  provider: 'google',
  env: [
    'GEMINI_API_KEY',
    'GOOGLE_API_KEY',
    'GOOGLE_APPLICATION_CREDENTIALS',
    'GOOGLE_CLOUD_PROJECT',
    'GOOGLE_CLOUD_LOCATION',
    'GOOGLE_GENAI_USE_VERTEXAI',
    'GOOGLE_GENAI_USE_GCA',
    'GOOGLE_GEMINI_BASE_URL',
    'GOOGLE_VERTEX_BASE_URL',
    'GEMINI_MODEL',
    'GEMINI_CLI_HOME',
    ...NETWORK_ENV,
  ],
  credentialEnv: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'],
  // Headless runs cannot answer the trusted-folder prompt; the worktree is ours.
  fixedEnv: { GEMINI_CLI_TRUST_WORKSPACE: 'true' },
  authEnv: [['GEMINI_API_KEY'], ['GOOGLE_API_KEY'], ['GOOGLE_GENAI_USE_VERTEXAI', 'GOOGLE_CLOUD_PROJECT']],
  authFiles: [{ dirEnv: 'GEMINI_CLI_HOME', path: '.gemini/oauth_creds.json' }],
  prompt: 'stdin',
  modes: {
    'read-only': ['--approval-mode', 'plan'],
    edit: ['--approval-mode', 'auto_edit'],
    full: ['--approval-mode', 'yolo'],
  },
  failures: [
    // The relayed API error (`status: 401`, `"status": "UNAUTHENTICATED"`) and gemini's own wording.
    { match: /\bUNAUTHENTICATED\b|\bstatus: 401\b|\bAPI key not valid\b/, cls: 'auth' },
    { match: /\bPERMISSION_DENIED\b|\bstatus: 403\b/, cls: 'permission' },
    { match: /\bRESOURCE_EXHAUSTED\b|\bstatus: 429\b|\bResource has been exhausted\b/, cls: 'rate_limit' },
    { match: /\b(INTERNAL|UNAVAILABLE)\b|\bstatus: 5\d\d\b/, cls: 'server_error' },
    { match: /\bInvalid auth method selected\b|\bmust specify the GEMINI_API_KEY\b/, cls: 'auth' },
  ],
  install: 'npm install -g @google/gemini-cli',
  login: 'run `gemini` once and sign in with Google, or set GEMINI_API_KEY',
};

export const CLI_TABLES: Readonly<Record<CliKind, CliTable>> = {
  'claude-code': CLAUDE_TABLE,
  codex: CODEX_TABLE,
  gemini: GEMINI_TABLE,
};

export const isCliKind = (kind: string): kind is CliKind => Object.hasOwn(CLI_TABLES, kind);

/** API key variables of the LLM (HTTP) agents' providers. */
const LLM_KEY_ENV = ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'GOOGLE_GENERATIVE_AI_API_KEY', 'GEMINI_API_KEY'];

/**
 * Names of the environment variables that carry credentials: every CLI table's, the LLM providers' keys, and any
 * `extra` (an agent's `api_key_env`). A redactor removes their values from every sink.
 */
export function credentialEnvNames(extra: readonly string[] = []): string[] {
  const names = new Set<string>([...LLM_KEY_ENV, ...extra]);
  for (const t of Object.values(CLI_TABLES)) for (const n of t.credentialEnv) names.add(n);
  return [...names].sort();
}

/** How a requested mode resolves for one agent: the flags to pass, or why it cannot run. */
export type ModeDecision =
  | { readonly ok: true; readonly mode: NeutralMode; readonly flags: readonly string[] }
  | { readonly ok: false; readonly reason: string };

/**
 * The mode a CLI call runs in: the request's mode (a plan node's), else the agent's own, else `edit`. The agent's
 * configured mode is a ceiling: a wider request is refused, never widened. A mode the CLI cannot honour is refused.
 */
export function decideMode(table: CliTable, requested: string | undefined, ceiling: string | undefined): ModeDecision {
  const cap = toNeutralMode(ceiling);
  if (ceiling !== undefined && !cap)
    return { ok: false, reason: `agent permission_mode "${ceiling}" is not a mode (use ${NEUTRAL_MODES.join(', ')})` };
  const want = requested !== undefined ? toNeutralMode(requested) : (cap ?? 'edit');
  if (!want)
    return {
      ok: false,
      reason: `permission mode "${requested}" is not one ${table.kind} can honour (use ${NEUTRAL_MODES.join(', ')})`,
    };
  if (cap && wider(want, cap))
    return {
      ok: false,
      reason: `permission mode ${want} is wider than the agent's own ${cap}, which a request cannot raise`,
    };
  const flags = table.modes[want];
  if (!flags) return { ok: false, reason: `${table.kind} has no ${want} mode` };
  return { ok: true, mode: want, flags };
}

/**
 * Why an agent of `kind` (with its own configured mode) cannot run a node asking for `requested`, or null when it
 * can. Coding-agent CLIs go by their table; a shell command cannot be held to read-only; LLM agents and people
 * write nothing by themselves, so any mode holds for them.
 */
export function modeRefusal(kind: string, ceiling: string | undefined, requested: string | undefined): string | null {
  if (isCliKind(kind)) {
    const d = decideMode(CLI_TABLES[kind], requested, ceiling);
    return d.ok ? null : d.reason;
  }
  if (requested === undefined) return null;
  const want = toNeutralMode(requested);
  if (!want) return `permission mode "${requested}" is not a mode (use ${NEUTRAL_MODES.join(', ')})`;
  if (kind === 'shell' && want === 'read-only') return 'a shell command cannot be held to read-only';
  return null;
}
