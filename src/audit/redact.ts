/** Names of environment variables whose values are secrets. */
const SECRET_NAME =
  /(^|_)(KEY|TOKEN|SECRET|PASSWORD|PASSWD|PASS|CREDENTIALS?|PRIVATE|AUTH|SESSION|COOKIE)($|_)|API_?KEY|ACCESS_?KEY/i;

/** Secret-looking substrings, whatever their source. */
const PATTERNS: ReadonlyArray<readonly [RegExp, string]> = [
  [/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----/g, '[REDACTED:private-key]'],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, '$1 [REDACTED]'],
  [/\bsk-(?:ant-|proj-|live-|test-)?[A-Za-z0-9_-]{16,}/g, '[REDACTED:sk]'],
  [/\b(?:ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}/g, '[REDACTED:github]'],
  [/\bxox[abposr]-[A-Za-z0-9-]{10,}/g, '[REDACTED:slack]'],
  [/\bAKIA[0-9A-Z]{16}\b/g, '[REDACTED:aws]'],
  [/\bAIza[0-9A-Za-z_-]{30,}/g, '[REDACTED:google]'],
  [
    /((?:api[_-]?key|access[_-]?token|auth[_-]?token|secret|password|passwd)["']?\s*[:=]\s*["']?)([^\s"',;]{6,})/gi,
    '$1[REDACTED]',
  ],
];

/** Every pattern above needs one of these substrings; text without them is left as it is. */
const MAYBE_SECRET = /PRIVATE KEY|bearer|basic|sk-|gh[pousr]_|github_pat|xox|AKIA|AIza|key|token|secret|passw/i;

/** Removes secrets from text and from every string inside a JSON-like value. */
export interface Redactor {
  text(s: string): string;
  value<T>(v: T): T;
  /** `JSON.stringify(v)` with secrets removed: one pass over the text, and still valid JSON. */
  json(v: unknown): string;
}

/**
 * A redactor for the values of secret-named environment variables (`*_KEY`, `*_TOKEN`, `*_SECRET`, `PASSWORD`, ...,
 * at least 6 characters long) plus bearer tokens, `sk-...` keys, GitHub/Slack/AWS/Google keys and private key blocks.
 */
export function createRedactor(env: Readonly<Record<string, string | undefined>> = {}): Redactor {
  const values = Object.entries(env)
    .filter(([name, v]) => v !== undefined && v.length >= 6 && SECRET_NAME.test(name))
    // Each value also in its JSON-escaped form, so `json()` finds it inside serialized strings.
    .flatMap(([name, v]) => [[v as string, name] as const, [JSON.stringify(v).slice(1, -1), name] as const])
    .sort((a, b) => b[0].length - a[0].length);
  const text = (s: string): string => {
    let out = s;
    for (const [v, name] of values) if (out.includes(v)) out = out.split(v).join(`[REDACTED:${name}]`);
    // One cheap scan first: most text holds none of the markers the patterns need.
    if (!MAYBE_SECRET.test(out)) return out;
    for (const [re, repl] of PATTERNS) out = out.replace(re, repl);
    return out;
  };
  const value = <T>(v: T): T => {
    if (typeof v === 'string') return text(v) as T;
    if (Array.isArray(v)) return v.map((x) => value(x)) as T;
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, value(x)])) as T;
    }
    return v;
  };
  const json = (v: unknown): string => {
    const raw = JSON.stringify(v ?? {});
    const out = text(raw);
    if (out === raw) return raw;
    try {
      JSON.parse(out);
      return out;
    } catch {
      // A pattern straddled JSON syntax: fall back to redacting field by field.
      return JSON.stringify(value(v ?? {}));
    }
  };
  return { text, value, json };
}
