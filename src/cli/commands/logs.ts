import type { Command } from 'commander';
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

/** The entries of a fresh read not yet shown: per attempt, those past the count already printed. */
function unseen(entries: readonly LogEntry[], shown: Map<string, number>): LogEntry[] {
  const byAttempt = new Map<string, LogEntry[]>();
  for (const e of entries) byAttempt.set(e.attempt_id, [...(byAttempt.get(e.attempt_id) ?? []), e]);
  const out: LogEntry[] = [];
  for (const [id, list] of byAttempt) {
    const n = shown.get(id) ?? 0;
    out.push(...list.slice(n));
    shown.set(id, list.length);
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
    .action(async (runId: string, node: string | undefined, o: { follow?: boolean }) => {
      const app = ctx.app();
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
      const shown = new Map<string, number>();
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
    });
}
