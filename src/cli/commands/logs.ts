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
        if (!o.follow) {
          const r = await app.engine.logs(runId, node);
          ctx.done({ data: r, human: r.entries.length ? r.entries.map(renderLogEntry) : ['(no agent calls yet)'] });
          return;
        }
        // --follow: each entry as it comes (NDJSON with --json), until the run is no longer running.
        for await (const e of app.engine.followLogs(runId, node, ctx.io.signal))
          ctx.io.stdout(ctx.json ? `${JSON.stringify(e)}\n` : `${renderLogEntry(e)}\n`);
        ctx.done({ data: null, human: [], streamed: true });
      },
    );
}
