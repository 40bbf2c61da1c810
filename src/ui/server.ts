import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { MsoApp } from '../app/index.js';
import { UsageError, isMsoError, type ErrorCategory, type MsoError } from '../contracts/index.js';
import { registerEvents, type StreamStats } from './events.js';
import { createJobs, type Jobs } from './jobs.js';
import { createLayoutCache } from './layout.js';
import { startLiveHub, type LiveHub } from './live.js';
import { registerRoutes } from './routes.js';
import { guard, isLoopbackHost, newToken } from './security.js';
import { defaultWebRoot, loadWebAssets, type WebAsset } from './static.js';

// Every error category has its HTTP status (a new category fails to compile until it is mapped here).
const STATUS = {
  invalid: 400,
  not_found: 404,
  conflict: 409,
  busy: 409,
  unavailable: 503,
  failed: 422,
  internal: 500,
} as const satisfies Record<ErrorCategory, number>;

export interface UiOptions {
  readonly port?: number | undefined;
  readonly host?: string | undefined;
  /** The access token; a fresh random one when not given. Required for a host other than loopback. */
  readonly token?: string | undefined;
  /** The built browser app (default: dist/web of this package). */
  readonly webRoot?: string | undefined;
  /** How often the audit log is polled for new events (ms). */
  readonly pollMs?: number | undefined;
  readonly version: string;
  readonly log: (line: string) => void;
}

/** The dashboard's HTTP handler and what it holds open. */
export interface UiHandler {
  readonly fetch: (req: Request) => Response | Promise<Response>;
  readonly token: string;
  readonly jobs: Jobs;
  /** What the event streams hold open now (also served at `GET /api/health`). */
  streams(): StreamStats;
  close(): Promise<void>;
}

const errorBody = (e: MsoError): { error: Record<string, unknown> } => ({
  error: { code: e.code, message: e.message, ...e.details },
});

/** Builds the dashboard handler over the app: JSON API, live events, and the built page. */
export async function createUiHandler(app: MsoApp, options: UiOptions): Promise<UiHandler> {
  const host = options.host ?? '127.0.0.1';
  const loopback = isLoopbackHost(host);
  const token = options.token ?? newToken();
  const webRoot = options.webRoot ?? defaultWebRoot();
  const assets: Map<string, WebAsset> = webRoot ? loadWebAssets(webRoot) : new Map();
  const hub: LiveHub = startLiveHub(await app.dashboard.feed(), options.pollMs);
  const jobs = createJobs(app, options.log);
  const api = new Hono();
  api.use('*', guard({ token, loopback }));
  api.onError((e, c) => {
    if (isMsoError(e)) return c.json(errorBody(e), STATUS[e.category]);
    options.log(`internal error: ${(e as Error).stack ?? String(e)}`);
    return c.json({ error: { code: 'MSO_INTERNAL', message: 'internal error (see the server log)' } }, 500);
  });
  const layouts = createLayoutCache();
  const { warm } = registerRoutes(api, app, jobs, layouts, options.version);
  // The newest big runs are laid out while the server waits for its first page.
  void app.dashboard.runs().then(warm, () => undefined);
  const streams = registerEvents(api, hub);
  api.get('/api/health', (c) => c.json({ ok: true, seq: hub.seq, jobs: jobs.running, ...streams() }));
  api.all('/api/*', (c) => c.json({ error: { code: 'MSO_NOT_FOUND', message: 'no such endpoint' } }, 404));
  api.get('*', (c) => {
    const asset = assets.get(c.req.path);
    if (!asset) {
      if (c.req.path === '/' && assets.size === 0)
        return c.text('the dashboard page is not built: run npm run build', 503);
      return c.text('not found', 404);
    }
    return c.body(asset.body as Uint8Array<ArrayBuffer>, 200, { 'Content-Type': asset.type });
  });
  return {
    fetch: (req) => api.fetch(req),
    token,
    jobs,
    streams,
    async close() {
      hub.close();
      await jobs.close();
      await layouts.close();
    },
  };
}

/** A running dashboard server. */
export interface UiServer {
  readonly url: string;
  readonly token: string;
  close(): Promise<void>;
}

/**
 * Starts `mso ui`: binds 127.0.0.1 by default; a host other than loopback needs an explicit token.
 * @example const ui = await startUi(app, { port: 4317, version, log: console.error }); console.log(ui.url)
 */
export async function startUi(app: MsoApp, options: UiOptions): Promise<UiServer> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host) && !options.token)
    // No word after `--token` but punctuation: the redactor takes `--token WORD` for a token on a command line.
    throw new UsageError(
      `--host ${host} is not loopback: give an access token (--token, or MSO_UI_TOKEN) so the dashboard is not open`,
    );
  if (options.token !== undefined && options.token.length < 16)
    throw new UsageError('the access token must be at least 16 characters');
  const port = options.port ?? 4317;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port ${port} is not a port`);
  const handler = await createUiHandler(app, options);
  const server = await new Promise<ReturnType<typeof serve>>((done, fail) => {
    const s = serve({ fetch: handler.fetch, port, hostname: host }, () => done(s));
    s.once('error', fail);
  }).catch(async (e: unknown) => {
    await handler.close();
    throw new UsageError(`cannot listen on ${host}:${port}: ${(e as Error).message}`);
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${bound}/`,
    token: handler.token,
    async close() {
      await handler.close();
      await new Promise<void>((done) => {
        server.close(() => done());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
    },
  };
}
