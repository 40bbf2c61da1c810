import type { FeedEvent } from '../../src/contracts/dashboard.js';

/** The access token: from the link `mso ui` printed (#access=..., or #token=...), kept for this tab only. */
const KEY = 'mso-ui-token';

export function takeTokenFromUrl(): void {
  const m = /(?:^#|&)(?:access|token)=([0-9A-Za-z_.~-]+)/.exec(location.hash);
  if (m?.[1]) {
    sessionStorage.setItem(KEY, m[1]);
    history.replaceState(null, '', `${location.pathname}${location.search}#/`);
  }
}
export const getToken = (): string | null => sessionStorage.getItem(KEY);
export const setToken = (t: string): void => sessionStorage.setItem(KEY, t.trim());

/** An error the server answered with: its code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await fetch(path, {
    method,
    headers: {
      'x-mso-token': getToken() ?? '',
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const data = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
  if (!res.ok) throw new ApiError(res.status, data.error?.code ?? 'HTTP', data.error?.message ?? res.statusText);
  return data as T;
}

export const get = <T>(path: string): Promise<T> => call<T>('GET', path);
export const post = <T>(path: string, body: unknown = {}): Promise<T> => call<T>('POST', path, body);
export const enc = encodeURIComponent;

/**
 * Follows the server's event stream (Server-Sent Events read with fetch, so the token goes in a header).
 * Reconnects after a drop; `onOpen` fires on each (re)connection so views re-read what they may have missed.
 */
export function followEvents(handlers: {
  onOpen(): void;
  onEvents(events: readonly FeedEvent[]): void;
  onState(live: boolean): void;
}): () => void {
  const controller = new AbortController();
  const loop = async (): Promise<void> => {
    while (!controller.signal.aborted) {
      try {
        const res = await fetch('/api/events', {
          headers: { 'x-mso-token': getToken() ?? '', accept: 'text/event-stream' },
          signal: controller.signal,
        });
        if (!res.ok || !res.body) throw new Error(`events: ${res.status}`);
        handlers.onState(true);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let cut: number;
          while ((cut = buf.indexOf('\n\n')) >= 0) {
            const frame = buf.slice(0, cut);
            buf = buf.slice(cut + 2);
            let event = 'message';
            let data = '';
            for (const line of frame.split('\n')) {
              if (line.startsWith('event:')) event = line.slice(6).trim();
              else if (line.startsWith('data:')) data += line.slice(5).trimStart();
            }
            if (event === 'hello') handlers.onOpen();
            else if (event === 'audit') handlers.onEvents(JSON.parse(data) as FeedEvent[]);
          }
        }
      } catch {
        // dropped or refused: retry below
      }
      handlers.onState(false);
      if (!controller.signal.aborted) await new Promise((r) => setTimeout(r, 1000));
    }
  };
  void loop();
  return () => controller.abort();
}
