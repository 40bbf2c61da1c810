import { randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { MiddlewareHandler } from 'hono';

/** The header every API request carries the access token in (never a cookie: a cross-site page cannot send it). */
export const TOKEN_HEADER = 'x-mso-token';

/** A fresh access token: 32 random bytes, hex. */
export function newToken(): string {
  return randomBytes(32).toString('hex');
}

/** True for 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Refuses a request whose Host is not this loopback server (DNS rebinding), and any API request without the token.
 * On a loopback bind only loopback Host names are served; on another bind the token alone guards the API.
 */
export function guard(options: { readonly token: string; readonly loopback: boolean }): MiddlewareHandler {
  return async (c, next) => {
    if (options.loopback) {
      const host = (c.req.header('host') ?? '').replace(/:\d+$/, '');
      if (!isLoopbackHost(host))
        return c.json(
          {
            error: {
              code: 'MSO_UI_HOST',
              message: `Host ${host} is not served (DNS-rebinding guard): open the dashboard at 127.0.0.1 or localhost, or bind another address with --host and --token`,
            },
          },
          403,
        );
    }
    if (c.req.path.startsWith('/api/')) {
      const given = c.req.header(TOKEN_HEADER) ?? '';
      if (!sameToken(given, options.token))
        return c.json({ error: { code: 'MSO_UI_TOKEN', message: `missing or wrong ${TOKEN_HEADER} header` } }, 401);
    }
    await next();
    // The page loads only its own scripts and styles and talks only to this server; it is never framed.
    c.header(
      'Content-Security-Policy',
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    );
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('Cache-Control', c.req.path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-store');
  };
}
