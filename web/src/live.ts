import { createContext, useCallback, useContext, useEffect, useRef, useState } from 'react';
import type { FeedEvent } from '../../src/contracts/dashboard.js';
import { ApiError } from './api.js';

/**
 * The live stream as views see it: the latest audit events (a window, oldest first; a view takes those past the last
 * sequence number it handled, so batches React renders together are not lost), and `opened`, which grows on each
 * (re)connection, after which everything may have changed.
 */
export interface LiveTick {
  readonly n: number;
  readonly opened: number;
  readonly events: readonly FeedEvent[];
  readonly connected: boolean;
}
export const LiveContext = createContext<LiveTick>({ n: 0, opened: 0, events: [], connected: false });

/** How many of the latest events the tick keeps. */
const WINDOW = 4000;

/** The tick after a batch of events. */
export function withEvents(t: LiveTick, events: readonly FeedEvent[]): LiveTick {
  const all =
    t.events.length + events.length > WINDOW ? [...t.events, ...events].slice(-WINDOW) : [...t.events, ...events];
  return { ...t, n: t.n + 1, events: all, connected: true };
}

/**
 * Calls `on` with the events of each tick that this caller has not seen yet (`reset` true after a (re)connection,
 * when it may have missed some).
 */
export function useLiveEvents(on: (events: readonly FeedEvent[], reset: boolean) => void): void {
  const tick = useContext(LiveContext);
  const seen = useRef({ seq: -1, opened: -1 });
  const onRef = useRef(on);
  onRef.current = on;
  useEffect(() => {
    if (tick.n === 0) return;
    const s = seen.current;
    const reset = s.opened !== -1 && tick.opened !== s.opened;
    const fresh = s.seq < 0 ? [] : tick.events.filter((e) => e.seq > s.seq);
    s.opened = tick.opened;
    s.seq = Math.max(s.seq, tick.events.at(-1)?.seq ?? 0);
    if (reset || fresh.length > 0) onRef.current(fresh, reset);
  }, [tick]);
}

/** The first wait before a failed load is tried again; each failure in a row doubles it, up to RETRY_MAX_MS. */
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 15_000;

/** A failure worth trying again: the server unreachable or failing (5xx, 429), not a refusal of the request. */
function retryable(e: unknown): boolean {
  return !(e instanceof ApiError) || e.status >= 500 || e.status === 429;
}

/**
 * Loads data and loads it again whenever the live stream reports events of `runId` (any run when undefined).
 * Reloads never overlap: events arriving during a load cause one more load after it. A load that failed for a reason
 * that may pass (the server unreachable or failing) is tried again after a wait that doubles with each failure: a
 * finished run sends no more events, so nothing else would load it again. The last data stays while it fails.
 */
export function useLiveData<T>(
  load: () => Promise<T>,
  deps: readonly unknown[],
  runId?: string,
  /** Wait this long after an event before reloading (events during the wait cause no further load). */
  settleMs = 0,
): { data: T | null; error: string | null; reload: () => void } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const busy = useRef(false);
  const again = useRef(false);
  const loadRef = useRef(load);
  loadRef.current = load;
  const mounted = useRef(true);
  const retry = useRef<{ timer: ReturnType<typeof setTimeout> | null; waitMs: number }>({ timer: null, waitMs: 0 });
  const reload = useCallback(() => {
    if (busy.current) {
      again.current = true;
      return;
    }
    busy.current = true;
    const r = retry.current;
    if (r.timer !== null) clearTimeout(r.timer);
    r.timer = null;
    void loadRef
      .current()
      .then(
        (d) => {
          r.waitMs = 0;
          setData(d);
          setError(null);
        },
        (e: unknown) => {
          setError((e as Error).message);
          if (!mounted.current || !retryable(e)) return;
          r.waitMs = Math.min(r.waitMs === 0 ? RETRY_FIRST_MS : r.waitMs * 2, RETRY_MAX_MS);
          r.timer = setTimeout(() => {
            r.timer = null;
            reload();
          }, r.waitMs);
        },
      )
      .finally(() => {
        busy.current = false;
        if (again.current) {
          again.current = false;
          reload();
        }
      });
  }, []);
  useEffect(() => {
    setData(null);
    reload();
  }, deps);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => {
    // Set here too: React's strict mode mounts, unmounts and mounts a view again.
    mounted.current = true;
    return () => {
      mounted.current = false;
      if (timer.current) clearTimeout(timer.current);
      if (retry.current.timer) clearTimeout(retry.current.timer);
    };
  }, []);
  useLiveEvents((events, reset) => {
    if (!reset && runId !== undefined && !events.some((e) => e.run_id === runId)) return;
    if (settleMs <= 0) reload();
    else
      timer.current ??= setTimeout(() => {
        timer.current = null;
        reload();
      }, settleMs);
  });
  return { data, error, reload };
}
