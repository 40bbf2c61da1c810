import { useCallback, useEffect, useRef, useState } from 'react';
import { enc, get } from './api.js';
import { useLiveEvents } from './live.js';
import type { FeedEvent, RunGraph, RunLayout } from '../../src/contracts/dashboard.js';

/** A graph with node states from live events newer than it applied (changed nodes only get new objects). */
export function applyStates(g: RunGraph, events: readonly FeedEvent[]): RunGraph {
  const changes = new Map<string, FeedEvent>();
  for (const e of events)
    if (e.seq > g.seq && e.run_id === g.run.run_id && e.node_id && e.state) changes.set(e.node_id, e);
  if (changes.size === 0) return g;
  let done = 0;
  let failed = 0;
  const nodes = g.nodes.map((n) => {
    const c = changes.get(n.id);
    const next =
      c?.state && (c.state !== n.state || (c.detail ?? null) !== n.detail)
        ? { ...n, state: c.state, detail: c.detail ?? null }
        : n;
    if (next.state === 'done') done++;
    if (next.state === 'failed') failed++;
    return next;
  });
  return { ...g, nodes, run: { ...g.run, nodes_done: done, nodes_failed: failed } };
}

/** The new graph with each node equal to the old one's replaced by that old object, so views skip what did not change. */
function shareNodes(old: RunGraph | null, g: RunGraph): RunGraph {
  if (!old || old.run.run_id !== g.run.run_id) return g;
  const before = new Map(old.nodes.map((n) => [n.id, n]));
  const nodes = g.nodes.map((n) => {
    const o = before.get(n.id);
    return o && JSON.stringify(o) === JSON.stringify(n) ? o : n;
  });
  return { ...g, nodes };
}

/**
 * A run's graph, live: a node's new state is applied from the event stream at once (no request), and the whole graph
 * (costs, tickets, human items) is read again once events settle — later for a big graph. The layout is asked for on
 * the first read and when the topology changes (a loop), never on each update.
 */
export function useRunGraph(runId: string): {
  graph: RunGraph | null;
  layout: RunLayout | null;
  error: string | null;
  reload: () => void;
} {
  const [graph, setGraph] = useState<RunGraph | null>(null);
  const [layout, setLayout] = useState<RunLayout | null>(null);
  const [error, setError] = useState<string | null>(null);
  const layoutKey = useRef<string | null>(null);
  const pending = useRef<FeedEvent[]>([]);
  const busy = useRef(false);
  const again = useRef(false);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const size = useRef(0);

  const reload = useCallback(() => {
    if (busy.current) {
      again.current = true;
      return;
    }
    busy.current = true;
    const read = async (): Promise<void> => {
      let g = await get<RunGraph>(`/api/runs/${enc(runId)}${layoutKey.current === null ? '?layout=1' : ''}`);
      if (g.layout === undefined && g.topology !== layoutKey.current)
        g = await get<RunGraph>(`/api/runs/${enc(runId)}?layout=1`);
      if (g.layout) {
        layoutKey.current = g.layout.key;
        setLayout(g.layout);
      }
      // Events newer than this read stay applied on top of it.
      pending.current = pending.current.filter((e) => e.seq > g.seq);
      size.current = g.nodes.length;
      const plain = { ...g };
      delete plain.layout;
      setGraph((old) => applyStates(shareNodes(old, plain), pending.current));
      setError(null);
    };
    read()
      .catch((e: unknown) => setError((e as Error).message))
      .finally(() => {
        busy.current = false;
        if (again.current) {
          again.current = false;
          reload();
        }
      });
  }, [runId]);

  useEffect(() => {
    setGraph(null);
    setLayout(null);
    layoutKey.current = null;
    pending.current = [];
    reload();
    return () => {
      if (timer.current) clearTimeout(timer.current);
      timer.current = null;
    };
  }, [runId, reload]);

  useLiveEvents((events, reset) => {
    const mine = events.filter((e) => e.run_id === runId);
    if (!reset && mine.length === 0) return;
    const states = mine.filter((e) => e.state);
    if (states.length > 0) {
      pending.current.push(...states);
      setGraph((g) => (g ? applyStates(g, states) : g));
    }
    // The rest (costs, tickets, the run's status) follows with one read once the events settle.
    timer.current ??= setTimeout(
      () => {
        timer.current = null;
        reload();
      },
      reset ? 0 : size.current > 300 ? 1500 : 150,
    );
  });

  return { graph, layout, error, reload };
}
