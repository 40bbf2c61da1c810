import type { ErrorClass } from './types.js';

/** One rule of the shared classifier: wording seen in the CLIs' and APIs' actual error messages → class. */
interface Rule {
  readonly match: RegExp;
  readonly cls: ErrorClass;
}

/**
 * The shared classifier, first match wins. Cases come from real messages: Anthropic error types
 * (`authentication_error`, `permission_error`, `rate_limit_error`, `overloaded_error`), OpenAI codes
 * (`invalid_api_key`, `insufficient_quota`), Google RPC statuses (`UNAUTHENTICATED`, `PERMISSION_DENIED`,
 * `RESOURCE_EXHAUSTED`), Codex's "unexpected status 401 Unauthorized", Node's socket errors.
 */
const RULES: readonly Rule[] = [
  {
    match: /\b(insufficient_quota|quota exceeded|exceeded your (current )?quota|billing(_error)?|credit balance)\b/i,
    cls: 'quota',
  },
  { match: /\b(rate[ _-]?limit(ed|_error)?|too many requests|resource_exhausted|429)\b/i, cls: 'rate_limit' },
  {
    match:
      /\b(unauthori[sz]ed|unauthenticated|authentication(_error|_failed)?|invalid[ _](x-)?api[ _]key|api key not valid|incorrect api key|401|not logged in|login required)\b/i,
    cls: 'auth',
  },
  { match: /\b(permission_denied|permission_error|forbidden|403)\b/i, cls: 'permission' },
  {
    match:
      /\b(overloaded(_error)?|api_error|internal server error|service unavailable|bad gateway|gateway timeout|50[0234]|529)\b/i,
    cls: 'server_error',
  },
  {
    match:
      /\b(econnreset|econnrefused|enotfound|socket hang up|network|fetch failed|stream disconnected|connection (reset|refused|closed))\b/i,
    cls: 'network',
  },
  { match: /\b(timed? ?out|timeout|deadline exceeded)\b/i, cls: 'timeout' },
  { match: /\b(invalid request|bad request|400|invalid_request(_error)?)\b/i, cls: 'bad_request' },
  { match: /\b(max(imum)?( session| number of)? turns( exceeded)?|max_turns|turn limit)\b/i, cls: 'max_turns' },
];

/** Maps an HTTP status (and the error body's wording) to an error class. */
export function classifyHttp(status: number | undefined, message = ''): ErrorClass {
  if (status === 429) return /quota|insufficient_quota|billing|credit/i.test(message) ? 'quota' : 'rate_limit';
  if (status === 401 || status === 407) return 'auth';
  if (status === 403) return /\b(quota|billing)\b/i.test(message) ? 'quota' : 'permission';
  if (status === 402) return 'quota';
  if (status === 408) return 'timeout';
  if (status === 400 || status === 404 || status === 409 || status === 413 || status === 422) return 'bad_request';
  if (status !== undefined && status >= 500) return 'server_error';
  return classifyMessage(message);
}

/**
 * Classifies free-text error messages from CLIs and SDKs (word boundaries, not substrings of other words). `first`
 * holds a CLI's own rules (its table's `failures`), checked before the shared ones.
 */
export function classifyMessage(message: string, first: readonly Rule[] = []): ErrorClass {
  for (const r of [...first, ...RULES]) if (r.match.test(message)) return r.cls;
  return 'unknown';
}

/** Classes that mean the agent is misconfigured (a key, a login, an account's rights), not that it is unwell. */
export const CONFIGURATION_CLASSES: ReadonlySet<ErrorClass> = new Set<ErrorClass>(['auth', 'permission']);

/** Parses a Retry-After header (seconds or an HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | null {
  if (!value) return null;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, Math.round(secs * 1000));
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now.getTime());
}

/**
 * A retry delay named in an error text: Google's `"retryDelay": "7s"`, "Please retry in 7.5s", "try again in 20s",
 * "retry-after: 7". Milliseconds, or null.
 */
export function retryDelayInText(text: string): number | null {
  const m =
    /"retryDelay"\s*:\s*"(\d+(?:\.\d+)?)s"/.exec(text) ??
    /\b(?:retry|try again) (?:in|after) (\d+(?:\.\d+)?)\s*s(?:ec(?:ond)?s?)?\b/i.exec(text) ??
    /\bretry-after:?\s*(\d+(?:\.\d+)?)\b/i.exec(text);
  return m?.[1] ? Math.round(Number(m[1]) * 1000) : null;
}
