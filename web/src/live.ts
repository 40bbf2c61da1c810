import { createContext, useCallback, useContext, useEffect, useRef, useState } from 'react';

/** The last batch of audit events: which runs moved (`*`: everything may have, after a (re)connect). */
export interface LiveTick {
  readonly n: number;
  readonly runs: ReadonlySet<string>;
  readonly connected: boolean;
}
export const LiveContext = createContext<LiveTick>({ n: 0, runs: new Set(['*']), connected: false });

/**
 * Loads data and loads it again whenever the live stream reports events of `runId` (any run when undefined).
 * Reloads never overlap: events arriving during a load cause one more load after it.
 */
export function useLiveData<T>(
  load: () => Promise<T>,
  deps: readonly unknown[],
  runId?: string,
): { data: T | null; error: string | null; reload: () => void } {
  const tick = useContext(LiveContext);
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const busy = useRef(false);
  const again = useRef(false);
  const loadRef = useRef(load);
  loadRef.current = load;
  const reload = useCallback(() => {
    if (busy.current) {
      again.current = true;
      return;
    }
    busy.current = true;
    void loadRef
      .current()
      .then(
        (d) => {
          setData(d);
          setError(null);
        },
        (e: unknown) => setError((e as Error).message),
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
  useEffect(() => {
    if (tick.n === 0) return;
    if (runId === undefined || tick.runs.has('*') || tick.runs.has(runId)) reload();
  }, [tick, runId, reload]);
  return { data, error, reload };
}
