import type { Redactor } from '../platform/index.js';

export type { Redactor } from '../platform/index.js';

/**
 * Names of environment variables whose values are credentials. Separated words only (`GIT_AUTHOR_NAME` and
 * `KEYBOARD` are not secrets), so `*_KEY`, `*_TOKEN`, `*_SECRET`, `*_PASSWORD`, `*_CREDENTIALS`, `*_AUTH_*`, ...
 */
const CREDENTIAL_NAME =
  /(^|_)(KEY|KEYS|TOKEN|TOKENS|SECRET|SECRETS|PASSWORD|PASSWD|PASS|PASSPHRASE|PW|PWD|CREDENTIAL|CREDENTIALS|AUTH|PRIVATE|COOKIE)($|_)|API_?KEY|ACCESS_?KEY|SECRET_?KEY/i;

/** Credential variables of the agent CLIs and providers mso drives, whatever the name pattern says. */
const KNOWN_CREDENTIAL_NAMES: readonly string[] = [
  'ANTHROPIC_API_KEY',
  'ANTHROPIC_AUTH_TOKEN',
  'CLAUDE_CODE_OAUTH_TOKEN',
  'OPENAI_API_KEY',
  'CODEX_API_KEY',
  'GEMINI_API_KEY',
  'GOOGLE_API_KEY',
  'GOOGLE_GENAI_API_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AZURE_OPENAI_API_KEY',
  'GITHUB_TOKEN',
  'GH_TOKEN',
  'NPM_TOKEN',
  'HF_TOKEN',
];
const KNOWN = new Set(KNOWN_CREDENTIAL_NAMES);
/** Paths (sockets, key files) and PATH-like variables name where a secret lives, not the secret itself. */
const NOT_A_SECRET_VALUE = /^(?:[/~.]|[A-Za-z]:\\)/;
/** Shorter values of secret-named variables are flags (`1`, `true`, `none`), never credentials. */
const MIN_ENV_VALUE = 8;
/** Shortest literal value accepted from `redaction.values`. */
export const MIN_LISTED_VALUE = 4;

/** True for an environment variable name whose value is treated as a credential. */
export function isCredentialEnvName(name: string): boolean {
  return KNOWN.has(name) || CREDENTIAL_NAME.test(name);
}

interface Pattern {
  readonly kind: string;
  /** Global regex; a named group `pre` (if any) is kept, the rest of the match is replaced. */
  readonly re: RegExp;
  /** Extra check on the matched secret, for shapes a regex alone cannot tell apart cheaply. */
  readonly accept?: (secret: string) => boolean;
  /**
   * Text every match contains, checked first: a pattern that opens with a look-behind is tried at every position,
   * while a plain literal is found by a fast scan (a megabyte of agent output is read in ~1 ms instead of ~30 ms).
   */
  readonly hint: RegExp | ((text: string) => boolean);
}

const isB64 = (c: number): boolean =>
  (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 43 || c === 47;
/** A run of exactly 40 base64 characters (41 after a JSON escape's `\`): what an AWS secret key can be. */
function hasRun40(text: string): boolean {
  let run = 0;
  for (let i = 0; i <= text.length; i++) {
    if (i < text.length && isB64(text.charCodeAt(i))) run++;
    else {
      if (run === 40 || run === 41) return true;
      run = 0;
    }
  }
  return false;
}

/** At least two upper, two lower and two digits: a random 40-character AWS secret, never a git SHA or a word path. */
function mixedCase(s: string): boolean {
  let upper = 0;
  let lower = 0;
  let digit = 0;
  for (const c of s) {
    if (c >= 'A' && c <= 'Z') upper++;
    else if (c >= 'a' && c <= 'z') lower++;
    else if (c >= '0' && c <= '9') digit++;
  }
  return upper >= 2 && lower >= 2 && digit >= 2;
}

// Value characters of `name=value` assignments: printable ASCII up to whitespace, quotes, separators, brackets and
// backslashes (so JSON escapes and the text after the value stay intact); never ending on a sentence's full stop.
const VALUE = String.raw`(?!\[REDACTED)(?!(?:null|true|false|none|undefined)\b)(?![$%{<])[!#$%*+\-./0-9:=?@A-Z^_a-z~]*[!#$%*+\-/0-9=?@A-Z^_a-z~]`;
const ASSIGNED_NAME = String.raw`(?:password|passwd|passphrase|pwd|pw|pass|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret|credentials?|auth)`;

// The start of a token: after a non-word character, or right after a JSON escape (`\n`, `\t`), since serialized
// text is redacted as it is and `\nsk-...` must still count as a fresh token.
const B = String.raw`(?:(?<![A-Za-z0-9_])|(?<=\\[nrt]))`;
/** Like B, for base64 runs: `/`, `+` and `=` continue a token. */
const B64 = String.raw`(?:(?<![A-Za-z0-9/+=])|(?<=\\[nrt]))`;
const g = (source: string, flags = 'g'): RegExp => new RegExp(source, flags);
const ASSIGNED_HINT = new RegExp(ASSIGNED_NAME, 'i');

/** Secret-looking substrings, whatever their source. The order matters: whole blocks and prefixed keys first. */
const PATTERNS: readonly Pattern[] = [
  {
    kind: 'private-key',
    re: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?:(?!-----BEGIN )[\s\S]){0,20000}?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----/g,
    hint: /-----BEGIN /,
  },
  // A block cut short (no END line): its base64 lines, with literal or JSON-escaped line breaks.
  {
    kind: 'private-key',
    re: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?:[A-Za-z0-9+/=\r\n \t]|\\[rn])*/g,
    hint: /-----BEGIN /,
  },
  { kind: 'jwt', re: g(String.raw`${B}eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*`), hint: /eyJ/ },
  { kind: 'anthropic', re: g(String.raw`${B}sk-ant-[A-Za-z0-9_-]{20,}`), hint: /sk-ant-/ },
  { kind: 'openai', re: g(String.raw`${B}sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,}`), hint: /sk-/ },
  {
    kind: 'stripe',
    re: g(String.raw`${B}(?:(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9]{20,})`),
    hint: /k_live_|k_test_|whsec_/,
  },
  {
    kind: 'github',
    re: g(String.raw`${B}(?:(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})`),
    hint: /gh[opusr]_|github_pat_/,
  },
  { kind: 'gitlab', re: g(String.raw`${B}glpat-[A-Za-z0-9_-]{20,}`), hint: /glpat-/ },
  { kind: 'npm', re: g(String.raw`${B}npm_[A-Za-z0-9]{30,}`), hint: /npm_/ },
  { kind: 'huggingface', re: g(String.raw`${B}hf_[A-Za-z0-9]{30,}`), hint: /hf_/ },
  { kind: 'slack', re: g(String.raw`${B}xox[abposrce]-[A-Za-z0-9-]{10,}`), hint: /xox/ },
  { kind: 'slack-webhook', re: /(?<pre>hooks\.slack\.com\/services\/)[A-Za-z0-9/]{20,}/g, hint: /hooks\.slack\.com/ },
  { kind: 'google', re: g(String.raw`${B}(?:AIza[0-9A-Za-z_-]{30,}|ya29\.[0-9A-Za-z_-]{20,})`), hint: /AIza|ya29\./ },
  {
    kind: 'aws-access-key',
    re: g(String.raw`${B}(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])`),
    hint: /A(?:KIA|SIA|GPA|IDA|ROA|IPA|NPA|NVA|BIA|CCA)/,
  },
  {
    kind: 'aws-secret-key',
    re: g(String.raw`${B64}[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])`),
    accept: mixedCase,
    hint: hasRun40,
  },
  // The scheme word stays (`Bearer [REDACTED:bearer]`); the token needs a digit, so prose ("Bearer authentication") is kept.
  {
    kind: 'bearer',
    re: g(String.raw`(?<pre>${B}(?:Bearer|Token)\s+)(?=[A-Za-z0-9._~+/-]*\d)[A-Za-z0-9._~+/-]{12,}=*`, 'gi'),
    hint: /bearer|token/i,
  },
  {
    kind: 'basic-auth',
    re: g(String.raw`(?<pre>${B}Authorization\s*:\s*Basic\s+)[A-Za-z0-9+/]{8,}=*`, 'gi'),
    hint: /authorization/i,
  },
  {
    kind: 'url-password',
    re: g(String.raw`(?<pre>${B}[a-z][a-z0-9+.-]*:\/\/[^\s:/@"'<>\\]+:)(?!\[REDACTED)[^\s/@"'<>\\]+(?=@)`, 'gi'),
    hint: /:\/\//,
  },
  { kind: 'password', re: g(String.raw`(?<pre>--${ASSIGNED_NAME}[ =]["']?)${VALUE}`, 'gi'), hint: ASSIGNED_HINT },
  {
    kind: 'password',
    re: g(String.raw`(?<pre>${B}(?:[A-Za-z0-9_.-]*[_.-])?${ASSIGNED_NAME}["']?\s*[:=]\s*["']?)${VALUE}`, 'gi'),
    // A count or a port (`token: 4096`) is not a secret; a long number may be.
    accept: (s) => !/^\d{1,5}$/.test(s),
    hint: ASSIGNED_HINT,
  },
];

/** Texts up to this length have their redaction remembered, up to this many at once. */
const MEMO_MAX_LENGTH = 256;
const MEMO_ENTRIES = 4096;

const marker = (kind: string): string => `[REDACTED:${kind}]`;

export interface RedactorOptions {
  /** Environment: the values of credential-named variables (see `isCredentialEnvName`) are redacted. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Names whose values in `env` are credentials whatever they are called (`redaction.env`, `api_key_env`). */
  readonly envNames?: readonly string[];
  /** Literal values (`redaction.values` in policy.yaml). */
  readonly values?: readonly string[];
}

/**
 * Builds the one redactor every sink goes through: the values of credential-named environment variables (at least
 * 8 characters), listed names and values, and known shapes (API keys of OpenAI/Anthropic/GitHub/GitLab/Slack/Stripe/
 * npm/Google/AWS, JWTs, bearer tokens, private key blocks, passwords in URLs, `password=`/`token:`-style
 * assignments). A match becomes `[REDACTED:kind]`; the text around it is kept. Redacting twice changes nothing.
 */
export function createRedactor(opts: RedactorOptions = {}): Redactor {
  // value -> kind, longest first so a value containing another is replaced whole.
  const literals = new Map<string, string>();
  let sorted: Array<readonly [string, string]> = [];
  const addLiteral = (value: string, kind: string): void => {
    if (value.length < MIN_LISTED_VALUE || literals.has(value) || value.startsWith('[REDACTED')) return;
    literals.set(value, kind);
    // The JSON-escaped form too, so serialized text is matched.
    const escaped = JSON.stringify(value).slice(1, -1);
    if (escaped !== value) literals.set(escaped, kind);
  };
  // Short texts repeat (run ids, event types, node ids, small payloads) and every writer redacts what it stores
  // again at the database's edge: results are remembered, cleared whenever a secret is added. An output maps to
  // itself, since redacting twice changes nothing.
  const memo = new Map<string, string>();
  const resort = (): void => {
    sorted = [...literals.entries()].sort((a, b) => b[0].length - a[0].length);
    memo.clear();
  };
  const addEnv = (env: Readonly<Record<string, string | undefined>>, names: readonly string[] | undefined): void => {
    const listed = new Set(names ?? []);
    for (const [name, v] of Object.entries(env)) {
      if (v === undefined) continue;
      if (listed.has(name)) addLiteral(v, name);
      else if (isCredentialEnvName(name) && v.length >= MIN_ENV_VALUE && !NOT_A_SECRET_VALUE.test(v))
        addLiteral(v, name);
    }
  };
  addEnv(opts.env ?? {}, opts.envNames);
  for (const v of opts.values ?? []) addLiteral(v, 'listed');
  resort();

  const text = (s: string): string => {
    if (s.length < 4) return s;
    if (s.length > MEMO_MAX_LENGTH) return redactText(s);
    const known = memo.get(s);
    if (known !== undefined) return known;
    const out = redactText(s);
    if (memo.size >= MEMO_ENTRIES) memo.clear();
    memo.set(s, out);
    if (out !== s) memo.set(out, out);
    return out;
  };
  const redactText = (s: string): string => {
    let out = s;
    for (const [v, kind] of sorted) if (out.includes(v)) out = out.split(v).join(marker(kind));
    for (const p of PATTERNS) {
      if (!(typeof p.hint === 'function' ? p.hint(out) : p.hint.test(out))) continue;
      p.re.lastIndex = 0;
      if (!p.re.test(out)) continue;
      p.re.lastIndex = 0;
      out = out.replace(p.re, (...args: unknown[]) => {
        const match = args[0] as string;
        const groups = args.at(-1) as { pre?: string } | undefined;
        const pre = typeof groups === 'object' && groups !== null ? (groups.pre ?? '') : '';
        const secret = match.slice(pre.length);
        if (p.accept && !p.accept(secret)) return match;
        return `${pre}${marker(p.kind)}`;
      });
    }
    return out;
  };
  const value = <T>(v: T): T => {
    if (typeof v === 'string') return text(v) as T;
    if (Array.isArray(v)) return v.map((x) => value(x)) as T;
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [text(k), value(x)])) as T;
    }
    return v;
  };
  const json = (v: unknown, space?: number): string => {
    const raw = JSON.stringify(v ?? {}, null, space);
    const out = text(raw);
    if (out === raw) return raw;
    try {
      JSON.parse(out);
      return out;
    } catch {
      // A pattern straddled JSON syntax: redact field by field instead.
      return JSON.stringify(value(v ?? {}), null, space);
    }
  };
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const bytes = (b: Uint8Array): Uint8Array => {
    let s: string;
    try {
      s = decoder.decode(b);
    } catch {
      // Not UTF-8 text (an image, an archive): stored as it is.
      return b;
    }
    const out = text(s);
    return out === s ? b : Buffer.from(out, 'utf8');
  };
  return {
    text,
    value,
    json,
    bytes,
    add(more) {
      addEnv(more.env ?? {}, more.envNames);
      for (const v of more.values ?? []) addLiteral(v, 'listed');
      resort();
    },
  };
}
