import type { EventFeed } from '../app/index.js';
import type { FeedEvent } from '../contracts/index.js';

/** A subscriber of the live feed: gets each batch of new audit events. */
export type FeedListener = (events: readonly FeedEvent[]) => void;

/** Polls the audit log's events table by sequence and fans new events out to the open event streams. */
export interface LiveHub {
  /** The last sequence number sent. */
  readonly seq: number;
  subscribe(listener: FeedListener): () => void;
  close(): void;
}

/**
 * Starts polling `feed` every `intervalMs`. Polling the table (not an in-process bus) is what makes a run started by
 * another process — a terminal, an MCP host, a worker — show up and move on the page.
 */
export function startLiveHub(feed: EventFeed, intervalMs = 200): LiveHub {
  const listeners = new Set<FeedListener>();
  let seq = feed.head();
  let closed = false;
  const poll = (): void => {
    if (closed || listeners.size === 0) return;
    try {
      for (let batch = feed.after(seq); batch.length > 0; batch = feed.after(seq)) {
        seq = batch[batch.length - 1]?.seq ?? seq;
        for (const l of listeners) l(batch);
      }
    } catch {
      // A busy or briefly locked database: the next tick reads from the same sequence number.
    }
  };
  const timer = setInterval(poll, intervalMs);
  timer.unref();
  return {
    get seq() {
      return seq;
    },
    subscribe(listener) {
      // Catch up first, so a new stream starts from the current head and not from events it never saw.
      if (listeners.size === 0) seq = Math.max(seq, feed.head());
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      closed = true;
      clearInterval(timer);
      listeners.clear();
      feed.close();
    },
  };
}
