import type { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { FeedEvent } from '../contracts/index.js';
import type { LiveHub } from './live.js';

/** What the event streams hold open: each open stream has one subscription and one heartbeat timer. */
export interface StreamStats {
  /** Event streams open now. */
  readonly streams: number;
  /** Heartbeat timers running now. */
  readonly timers: number;
  /** Subscriptions of the live feed. */
  readonly subscribers: number;
}

/** `GET /api/events`: Server-Sent Events of the audit log; everything a stream holds is released when it ends. */
export function registerEvents(api: Hono, hub: LiveHub, heartbeatMs = 15_000): () => StreamStats {
  let streams = 0;
  const timers = new Set<NodeJS.Timeout>();
  api.get('/api/events', (c) =>
    streamSSE(c, async (stream) => {
      streams++;
      let queue: Promise<void> = Promise.resolve();
      const send = (event: string, data: unknown): void => {
        queue = queue.then(() => stream.writeSSE({ event, data: JSON.stringify(data) })).catch(() => undefined);
      };
      const unsubscribe = hub.subscribe((events: readonly FeedEvent[]) => send('audit', events));
      const beat = setInterval(() => send('ping', {}), heartbeatMs);
      timers.add(beat);
      try {
        send('hello', { seq: hub.seq });
        // The client went away (its connection closed, or it cancelled the body): the stream aborts.
        await new Promise<void>((done) => stream.onAbort(done));
      } finally {
        clearInterval(beat);
        timers.delete(beat);
        unsubscribe();
        streams--;
      }
    }),
  );
  return () => ({ streams, timers: timers.size, subscribers: hub.subscribers });
}
