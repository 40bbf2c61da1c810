import type { ErrorClass } from './types.js';

/** Maps an HTTP status (and the error body's wording) to an error class. */
export function classifyHttp(status: number | undefined, message = ''): ErrorClass {
  const m = message.toLowerCase();
  if (status === 429) return /quota|insufficient_quota|billing|credit/.test(m) ? 'quota' : 'rate_limit';
  if (status === 401 || status === 403) return 'auth';
  if (status === 402) return 'quota';
  if (status === 408) return 'timeout';
  if (status === 400 || status === 404 || status === 409 || status === 413 || status === 422) return 'bad_request';
  if (status !== undefined && status >= 500) return 'server_error';
  return classifyMessage(message);
}

/** Classifies free-text error messages from CLIs and SDKs (word boundaries, not substrings of other words). */
export function classifyMessage(message: string): ErrorClass {
  const m = message.toLowerCase();
  if (/\b(insufficient_quota|quota exceeded|exceeded your (current )?quota|billing|credit balance)\b/.test(m))
    return 'quota';
  if (/\b(rate[ _-]?limit(ed)?|too many requests|429)\b/.test(m)) return 'rate_limit';
  if (
    /\b(unauthori[sz]ed|authentication|invalid api key|api key not valid|401|403|forbidden|not logged in|login required)\b/.test(
      m,
    )
  )
    return 'auth';
  if (/\b(overloaded|internal server error|service unavailable|bad gateway|gateway timeout|50[0234]|529)\b/.test(m))
    return 'server_error';
  if (
    /\b(econnreset|econnrefused|enotfound|socket hang up|network|fetch failed|connection (reset|refused|closed))\b/.test(
      m,
    )
  )
    return 'network';
  if (/\b(timed? ?out|timeout|deadline exceeded)\b/.test(m)) return 'timeout';
  if (/\b(invalid request|bad request|400|invalid_request_error)\b/.test(m)) return 'bad_request';
  if (/\b(max(imum)?( session| number of)? turns( exceeded)?|max_turns|turn limit)\b/.test(m)) return 'max_turns';
  return 'unknown';
}

/** Parses a Retry-After header (seconds or an HTTP date) into milliseconds from `now`. */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | null {
  if (!value) return null;
  const secs = Number(value);
  if (Number.isFinite(secs)) return Math.max(0, Math.round(secs * 1000));
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now.getTime());
}
