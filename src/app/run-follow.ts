import { runLogs, type LogEntry } from './run-logs.js';
import type { RunOpsContext } from './run-support.js';

/** What a follower was given of one attempt: how many entries, and the live lines among them (not yet stored). */
interface Given {
  count: number;
  live: string[];
}

/**
 * The entries of a fresh read not yet given: per attempt, those past the count already given. An attempt whose live
 * lines were given and that is now read from its stored transcript (its call ended) repeats those lines, with its
 * command and agent added: only the stored entries that were not given live are new.
 */
export function unseen(entries: readonly LogEntry[], given: Map<string, Given>): LogEntry[] {
  const byAttempt = new Map<string, LogEntry[]>();
  for (const e of entries) byAttempt.set(e.attempt_id, [...(byAttempt.get(e.attempt_id) ?? []), e]);
  const key = (e: LogEntry): string => `${e.kind}\0${e.text}`;
  const out: LogEntry[] = [];
  for (const [id, list] of byAttempt) {
    const was = given.get(id) ?? { count: 0, live: [] };
    if (was.live.length > 0 && !list.some((e) => e.live)) {
      const left = [...was.live];
      for (const e of list.slice(1)) {
        const i = left.indexOf(key(e));
        if (i >= 0) left.splice(i, 1);
        else out.push(e);
      }
    } else out.push(...list.slice(was.count));
    given.set(id, { count: list.length, live: list.filter((e) => e.live).map(key) });
  }
  return out;
}

/** How often `followLogs` reads the run again while it is active. */
const FOLLOW_POLL_MS = 500;

/**
 * `mso logs --follow`: the run's log entries as they come, each once (a line seen live is not given again when its
 * attempt's transcript is stored), read again every {@link FOLLOW_POLL_MS} until the run is no longer active or
 * `signal` aborts.
 */
export async function* followLogs(
  c: RunOpsContext,
  runId: string,
  node?: string,
  signal?: AbortSignal,
): AsyncGenerator<LogEntry> {
  const given = new Map<string, Given>();
  for (;;) {
    const r = await runLogs(c, runId, node);
    yield* unseen(r.entries, given);
    if (r.status !== 'active' || signal?.aborted) return;
    // An abort ends the wait early; the loop then stops after one last read.
    await c.deps.clock.sleep(FOLLOW_POLL_MS, signal).catch(() => undefined);
  }
}
