import type { Command } from 'commander';
import { InvalidArgumentError, UsageError } from '../../contracts/light.js';
import type { LogEntry } from '../../app/index.js';
import type { CliContext } from '../context.js';

const PREFIX: Record<LogEntry['kind'], string> = {
  start: '──',
  end: '──',
  text: '  ',
  tool: '  ⚙',
  output: '  │',
  stderr: '  !',
  error: '  ✗',
};

/** One log entry as a person reads it: `[node#attempt agent] text`, multi-line text indented under it. */
export function renderLogEntry(e: LogEntry): string {
  const head = `[${e.node}#${e.attempt}${e.agent ? ` ${e.agent}` : ''}]`;
  const text = e.text.replace(/\n/g, '\n      ');
  return e.kind === 'start' || e.kind === 'end'
    ? `${head} ${PREFIX[e.kind]} ${text}`
    : `${head}${PREFIX[e.kind]} ${text}`;
}

/** What `--follow` showed of one attempt: how many entries, and the live lines among them (not yet stored). */
interface Shown {
  count: number;
  live: string[];
}

/**
 * The entries of a fresh read not yet shown: per attempt, those past the count already printed. An attempt whose
 * live lines were shown and that is now read from its stored transcript (its call ended) repeats those lines, with
 * its command and agent added: only the stored entries that were not shown live are new.
 */
export function unseen(entries: readonly LogEntry[], shown: Map<string, Shown>): LogEntry[] {
  const byAttempt = new Map<string, LogEntry[]>();
  for (const e of entries) byAttempt.set(e.attempt_id, [...(byAttempt.get(e.attempt_id) ?? []), e]);
  const key = (e: LogEntry): string => `${e.kind}\0${e.text}`;
  const out: LogEntry[] = [];
  for (const [id, list] of byAttempt) {
    const was = shown.get(id) ?? { count: 0, live: [] };
    if (was.live.length > 0 && !list.some((e) => e.live)) {
      const left = [...was.live];
      for (const e of list.slice(1)) {
        const i = left.indexOf(key(e));
        if (i >= 0) left.splice(i, 1);
        else out.push(e);
      }
    } else out.push(...list.slice(was.count));
    shown.set(id, { count: list.length, live: list.filter((e) => e.live).map(key) });
  }
  return out;
}

/** `mso logs RUN [NODE] [--follow]`. */
export function registerLogs(program: Command, ctx: CliContext): void {
  program
    .command('logs')
    .description("what a run's agents said and did: text, tool calls, commands, output and errors, per attempt")
    .argument('<run-id>')
    .argument('[node]', 'only this node')
    .option('--follow', 'keep printing as the agents work, until the run stops')
    .option('--full', "a node's whole output, kept apart when it outgrew the transcript (--json: where it is)")
    .option('--stderr', 'with --full: the whole stderr instead of stdout')
    .option('--attempt <n>', 'with --full: this attempt (default: the last one that kept its output)', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('--attempt', `${v} is not a positive integer`);
      return n;
    })
    .action(
      async (
        runId: string,
        node: string | undefined,
        o: { follow?: boolean; full?: boolean; stderr?: boolean; attempt?: number },
      ) => {
        const app = ctx.app();
        if (o.full) {
          if (node === undefined) throw new UsageError('mso logs RUN NODE --full needs the node');
          const full = await app.engine.fullOutput(runId, node, {
            stream: o.stderr ? 'stderr' : 'stdout',
            attempt: o.attempt,
          });
          const { chunks: _c, ...about } = full;
          if (ctx.json) {
            ctx.done({ data: about, human: [] });
            return;
          }
          // The stored bytes, piece by piece (they were redacted when stored; invalid UTF-8 shows as U+FFFD here,
          // the blob at `--json`'s path holds the bytes as they are).
          const decoder = new TextDecoder();
          for await (const piece of full.chunks()) ctx.io.stdout(decoder.decode(piece, { stream: true }));
          ctx.io.stdout(decoder.decode());
          ctx.done({ data: null, human: [], streamed: true });
          return;
        }
        const first = await app.engine.logs(runId, node);
        if (!o.follow) {
          ctx.done({
            data: first,
            human: first.entries.length ? first.entries.map(renderLogEntry) : ['(no agent calls yet)'],
          });
          return;
        }
        // --follow: print as it comes (NDJSON entries with --json), poll until the run is no longer running.
        const print = (list: readonly LogEntry[]): void => {
          for (const e of list) ctx.io.stdout(ctx.json ? `${JSON.stringify(e)}\n` : `${renderLogEntry(e)}\n`);
        };
        const shown = new Map<string, Shown>();
        let r = first;
        print(unseen(r.entries, shown));
        while (r.status === 'active' && !ctx.io.signal?.aborted) {
          await new Promise<void>((done) => {
            const t = setTimeout(done, 500);
            ctx.io.signal?.addEventListener('abort', () => (clearTimeout(t), done()), { once: true });
          });
          r = await app.engine.logs(runId, node);
          print(unseen(r.entries, shown));
        }
        ctx.done({ data: null, human: [], streamed: true });
      },
    );
}
