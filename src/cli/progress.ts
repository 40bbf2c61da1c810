import type { createLogUpdate as CreateLogUpdate } from 'log-update';
import type { ProgressListener, ProgressNode, RunProgress, RunSummary } from '../app/index.js';
// The view's fold has no imports of its own: taking it from the light entry keeps the CLI's start light (main.ts).
import { createProgressView, decideCommand } from '../app/light.js';
import type { CliContext } from './context.js';
import type { CliIo } from './io.js';

/** How `mso run`/`resume` show progress: a live view (TTY), one line per change, NDJSON events, or nothing. */
export type ProgressMode = 'live' | 'lines' | 'events' | 'none';

export function progressMode(io: CliIo, o: { json: boolean; quiet: boolean; events: boolean }): ProgressMode {
  if (o.events) return 'events';
  if (o.json || o.quiet) return 'none';
  return io.isTTY ? 'live' : 'lines';
}

export interface ProgressRenderer {
  /** Undefined when nothing is shown (the run gets no hook at all). */
  readonly listener: ProgressListener | undefined;
  /** Ends the live view (leaves its last frame) before the summary is printed. */
  stop(): void;
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const usd = (x: number): string => `$${x.toFixed(4)}`;
const MARK: Record<string, string> = {
  running: '▶',
  done: '✓',
  failed: '✗',
  waiting: '⏸',
  blocked: '·',
  cancelled: '⊘',
  pending: '·',
};

/** A node's events that say nothing of its work having begun (see the `lines` mode's held `running`). */
const NOT_WORK = new Set(['hitl.created', 'ticket.transition', 'ticket.move_failed']);

/** Renders a run's progress on the CLI's streams in the given mode. */
export function createProgressRenderer(
  io: CliIo,
  mode: ProgressMode,
  createLogUpdate?: typeof CreateLogUpdate,
): ProgressRenderer {
  if (mode === 'none') return { listener: undefined, stop: () => undefined };
  if (mode === 'events') return { listener: (e) => io.stdout(`${JSON.stringify(e)}\n`), stop: () => undefined };
  let fold: ReturnType<typeof createProgressView> | undefined;
  const model = (e: RunProgress): ReturnType<typeof createProgressView> => (fold ??= createProgressView(e.run_id));
  const agentOf = (n: ProgressNode | undefined): string => (n?.agent ? ` (${n.agent})` : '');
  const nodeLine = (e: RunProgress): string | null => {
    const v = model(e).view();
    const n = e.node ? v.nodes.get(e.node) : undefined;
    if (e.type === 'node.state' && n) {
      // How long it worked: not for a node waiting or blocked, which it spent waiting.
      // A node sent back to pending (a loop's next iteration) has not worked for that state: no time is given.
      const worked = !['waiting', 'blocked', 'pending'].includes(n.state) && n.startedAt !== null && n.endedAt !== null;
      const took = worked ? ` in ${secs((n.endedAt as number) - (n.startedAt as number))}` : '';
      const cost = n.costUsd > 0 ? ` ${usd(n.costUsd)}` : '';
      const why = n.state !== 'running' && n.state !== 'done' && n.detail ? `: ${n.detail}` : '';
      return `${n.id} ${n.state}${agentOf(n)}${took}${cost}${why}  [${v.done}/${v.total} done]`;
    }
    if (e.type === 'agent.chain' && n?.fellBack) {
      const f = n.fellBack;
      const and = (xs: readonly string[]): string =>
        xs.length === 1 ? (xs[0] as string) : `${xs.slice(0, -1).join(', ')} and ${xs.at(-1)}`;
      // A reason's first line, cut at a word past `max` characters, with an ellipsis saying it was cut.
      const short = (why: string, max: number): string => {
        const line = why.split('\n')[0] ?? '';
        if (line.length <= max) return line;
        const cut = line.slice(0, max);
        const space = cut.lastIndexOf(' ');
        return `${(space > max / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
      };
      // One reason when every agent failed alike; else each agent with its own (a network error is no bad key).
      const alike = f.failed.every((x) => x.why === f.failed[0]?.why);
      const what = alike
        ? `${and(f.failed.map((x) => x.agent))} failed (${short(f.failed[0]?.why ?? '', 160)})`
        : `${and(f.failed.map((x) => `${x.agent} (${short(x.why, 80)})`))} failed`;
      return `${n.id} ${what}; went on with ${f.to}  [${v.done}/${v.total} done]`;
    }
    if (e.type === 'node.retry' && n?.retry) {
      const r = n.retry;
      return `${n.id} failed${agentOf(n)}: ${r.why.split('\n')[0]?.slice(0, 200)}; retry ${r.n} of ${r.of}  [${v.done}/${v.total} done]`;
    }
    if (e.type === 'hitl.created') {
      const item = String(e.payload['item']);
      const hint = decideCommand(e.run_id, item, e.payload['kind'] === 'manual_work');
      return `waiting for a person: ${item} ${String(e.payload['title'] ?? '')} (${hint})`;
    }
    if (e.type === 'run.started') return `run ${e.run_id}: ${v.total} node(s), ${v.done} already done`;
    return null;
  };

  if (mode === 'lines' || !createLogUpdate) {
    // A node's `running` line waits for its work to begin (its attempt, its merge), and is written then, with the
    // counts of that moment: a node stopped before any work (at its human gate, a cancelled ticket) was dispatched
    // and never ran, and printing `running` then `waiting` said it did. Its item for a person and its ticket's moves
    // (a gate's rejection blocks the ticket) are not work.
    const held = new Map<string, RunProgress>();
    const print = (line: string | null): void => {
      if (line) io.stderr(`mso: ${line}\n`);
    };
    return {
      listener(e) {
        const changed = model(e).apply(e);
        const state = e.type === 'node.state' ? e.payload['state'] : undefined;
        const started = e.node ? held.get(e.node) : undefined;
        if (e.node && started && state !== 'running') {
          held.delete(e.node);
          // Another event of its own before it settled: its work began.
          if (!NOT_WORK.has(e.type) && state === undefined) print(nodeLine(started));
        }
        if (!changed) return;
        if (e.node && state === 'running') held.set(e.node, e);
        else print(nodeLine(e));
      },
      stop: () => undefined,
    };
  }

  // The live view: finished nodes and human items scroll above; running nodes, counts and cost stay below.
  const stream = {
    isTTY: true,
    columns: io.columns ?? 80,
    rows: io.rows ?? 24,
    write: (s: string): boolean => (io.stderr(s), true),
  } as unknown as NodeJS.WriteStream;
  const live = createLogUpdate(stream, { showCursor: true });
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let cancelling = false;
  const onAbort = (): void => {
    cancelling = true;
    draw();
  };
  io.signal?.addEventListener('abort', onAbort, { once: true });
  const draw = (): void => {
    if (!fold || stopped) return;
    const v = fold.view();
    const now = Date.now();
    const running = [...v.nodes.values()].filter((n) => n.state === 'running');
    const lines = [
      `mso ${v.runId}  ${v.done}/${v.total} done${v.failed ? ` · ${v.failed} failed` : ''}${
        running.length ? ` · ${running.length} running` : ''
      } · ${usd(v.costUsd)}`,
      ...running.map(
        (n) =>
          `  ▶ ${n.id.padEnd(24)} ${(n.agent ?? '-').padEnd(14)} ${secs(now - (n.startedAt ?? now)).padStart(8)}  ${usd(n.costUsd)}`,
      ),
      ...v.waiting.map((w) => `  ⏸ ${w}`),
      ...(cancelling ? ['  cancelling: ending the running agents (Ctrl-C again to exit at once)'] : []),
    ];
    live(lines.join('\n'));
  };
  return {
    listener(e) {
      const m = model(e);
      if (!m.apply(e)) return;
      if (e.type === 'node.state' || e.type === 'hitl.created' || e.type === 'node.retry' || e.type === 'agent.chain') {
        const n = e.node ? m.view().nodes.get(e.node) : undefined;
        if (e.type !== 'node.state' || (n && n.state !== 'running' && n.state !== 'pending')) {
          const line = nodeLine(e);
          // An item for a person is marked as waiting, whatever its node's state at that moment; a retry as such.
          const mark =
            e.type === 'hitl.created'
              ? MARK['waiting']
              : e.type === 'node.retry' || e.type === 'agent.chain'
                ? '↻'
                : MARK[n?.state ?? 'waiting'];
          if (line) live.persist(`${mark ?? '·'} ${line}`);
        }
      }
      if (!timer) {
        timer = setInterval(draw, 1000);
        timer.unref();
      }
      draw();
    },
    stop() {
      if (stopped) return;
      draw();
      stopped = true;
      if (timer) clearInterval(timer);
      io.signal?.removeEventListener('abort', onAbort);
      live.done();
    },
  };
}

/** Runs `fn` with a progress renderer for the CLI's mode; the live view ends before the summary prints. */
export async function withProgress<T>(
  ctx: CliContext,
  events: boolean | undefined,
  fn: (onProgress: ProgressListener | undefined) => Promise<T>,
  summaryOf: (r: T) => RunSummary = (r) => r as unknown as RunSummary,
): Promise<{ summary: T; streamed: boolean }> {
  const mode = progressMode(ctx.io, { json: ctx.json, quiet: ctx.quiet, events: events === true });
  // log-update is loaded only for the live view (the CLI's start stays light).
  const view = createProgressRenderer(
    ctx.io,
    mode,
    mode === 'live' ? (await import('log-update')).createLogUpdate : undefined,
  );
  try {
    const summary = await fn(view.listener);
    const s = summaryOf(summary);
    if (mode === 'events') ctx.io.stdout(`${JSON.stringify({ type: 'run.summary', run_id: s.run_id, summary: s })}\n`);
    return { summary, streamed: mode === 'events' };
  } finally {
    view.stop();
  }
}
