import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { EventFeed } from '../app/index.js';
import type { FeedEvent } from '../contracts/index.js';

/** A subscriber of the live feed: gets each batch of new audit events. */
export type FeedListener = (events: readonly FeedEvent[]) => void;

/** Reads the audit log's events table by sequence and fans new events out to the open event streams. */
export interface LiveHub {
  /** The last sequence number sent. */
  readonly seq: number;
  /** Open subscriptions (one per event stream): 0 once every client went away. */
  readonly subscribers: number;
  subscribe(listener: FeedListener): () => void;
  close(): void;
}

/**
 * Reads new events of `feed` as soon as its database file changes (a watcher of its folder), and every `intervalMs`
 * in any case (a file system without change notices, a missed notice). Reading the table, not an in-process bus, is
 * what makes a run started by another process — a terminal, an MCP host, a worker — show up and move on the page.
 */
export function startLiveHub(feed: EventFeed, intervalMs = 100): LiveHub {
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
  // A write to the log's WAL comes in a burst of a few writes: read once it settled (a few ms), not on each.
  let soon: NodeJS.Timeout | null = null;
  const wake = (): void => {
    if (soon || closed || listeners.size === 0) return;
    soon = setTimeout(() => {
      soon = null;
      poll();
    }, 4);
  };
  const name = basename(feed.file);
  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(dirname(feed.file), { persistent: false }, (_, file) => {
      if (file === null || file.startsWith(name)) wake();
    });
    watcher.on('error', () => watcher?.close());
  } catch {
    // No change notices here: the interval alone reads the log.
  }
  return {
    get seq() {
      return seq;
    },
    get subscribers() {
      return listeners.size;
    },
    subscribe(listener) {
      // Catch up first, so a new stream starts from the current head and not from events it never saw.
      if (listeners.size === 0) seq = Math.max(seq, feed.head());
      // A wrapper per subscription: the same function subscribed twice is two subscribers, removed one at a time.
      const entry: FeedListener = (events) => listener(events);
      listeners.add(entry);
      return () => listeners.delete(entry);
    },
    close() {
      closed = true;
      clearInterval(timer);
      if (soon) clearTimeout(soon);
      watcher?.close();
      listeners.clear();
      feed.close();
    },
  };
}
