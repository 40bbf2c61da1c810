import { Option, type Command } from 'commander';
import { InvalidArgumentError } from '../../contracts/light.js';
import type { CliContext } from '../context.js';
import { EXIT_INTERRUPTED, pause } from '../io.js';

function parseLimit(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('--limit', `${v} is not a positive integer`);
  return n;
}

/** `mso audit init|append|query|tail|stats|export`. */
export function registerAudit(program: Command, ctx: CliContext): void {
  const audit = program
    .command('audit')
    .description('the audit log (SQLite, or PostgreSQL with audit.url): append, query, tail, stats, export, migrate');
  audit
    .command('init')
    .description(
      'create or migrate the audit log (.mso-context/audit.db, or the audit.url store) to the current schema',
    )
    .action(async () => {
      const r = await ctx.app().audit.init();
      ctx.done({
        data: r,
        human: `OK db=${r.file} schema=${r.schema.to}${r.schema.applied.length ? ` (${r.schema.applied.length} migration${r.schema.applied.length === 1 ? '' : 's'} applied)` : ''}`,
      });
    });
  audit
    .command('migrate')
    .description(
      'copy the SQLite audit log and its blobs into an empty PostgreSQL store, verified by counts and hashes',
    )
    .requiredOption('--to <url>', 'postgres://user@host:5432/db[?schema=name]')
    .option('--from <file>', 'the SQLite file to copy (default: the workspace audit.db)')
    .action(async (opts: { to: string; from?: string }) => {
      const r = await ctx.app().audit.migrate({ to: opts.to, from: opts.from });
      ctx.done({
        data: r,
        human: [
          ...r.tables.map(
            (t) => `${t.ok ? 'OK ' : 'BAD'} ${t.table.padEnd(20)} ${t.rows} rows  sha256 ${t.sha256.slice(0, 16)}`,
          ),
          `blobs: ${r.blobs.copied} copied${r.blobs.missing.length ? `, ${r.blobs.missing.length} missing` : ''}${r.blobs.corrupt.length ? `, ${r.blobs.corrupt.length} altered` : ''}`,
          `migrated ${r.from} -> ${r.to}; set audit.url in policy.yaml (or MSO_AUDIT_URL) to use it`,
        ],
      });
    });
  audit
    .command('append')
    .description('store a CC-05 audit payload (JSON file); prints the stored id')
    .argument('<payload>', 'payload JSON file')
    .action(async (file: string) => {
      const r = await ctx.app().audit.append(file);
      ctx.done({ data: r, human: r.id });
    });
  audit
    .command('query')
    .description('run one read-only SQL statement against the audit log')
    .argument('<sql>')
    .action(async (text: string) => {
      const r = await ctx.app().audit.query(text);
      const human =
        r.rows.length === 0
          ? ['(no rows)']
          : [r.columns.join('\t'), ...r.rows.map((row) => r.columns.map((c) => String(row[c] ?? '')).join('\t'))];
      ctx.done({ data: { columns: r.columns, rows: r.rows, count: r.rows.length }, human });
    });
  audit
    .command('tail')
    .description(
      'the last events (with --follow, keep printing new ones until interrupted; --json then prints JSON Lines)',
    )
    .option('--run-id <id>', 'only events of this run')
    .option('--limit <n>', 'how many events to show first', parseLimit, 20)
    .option('--follow', 'keep printing new events')
    .option('--interval <ms>', 'poll interval for --follow', (v) => parseLimit(v), 500)
    .action(async (opts: { runId?: string; limit: number; follow?: boolean; interval: number }) => {
      const app = ctx.app();
      const json = program.opts()['json'] === true;
      const render = (e: {
        seq: number;
        at: string;
        run_id: string;
        type: string;
        node_id: string | null;
        payload: unknown;
      }): string =>
        json
          ? JSON.stringify(e)
          : `${String(e.seq).padStart(6)} ${e.at} ${e.run_id} ${e.type}${e.node_id ? ` ${e.node_id}` : ''} ${JSON.stringify(e.payload)}`;
      const first = await app.audit.tail({ runId: opts.runId, limit: opts.limit });
      if (!opts.follow) {
        ctx.done({
          data: { events: first, count: first.length },
          human: first.length ? first.map(render) : ['(no events)'],
        });
        return;
      }
      let last = first.at(-1)?.seq ?? 0;
      for (const e of first) ctx.io.stdout(`${render(e)}\n`);
      const signal = ctx.io.signal;
      while (!signal?.aborted) {
        await pause(opts.interval, signal);
        const next = await app.audit.tail({ runId: opts.runId, afterSeq: last, limit: 1000 });
        for (const e of next) ctx.io.stdout(`${render(e)}\n`);
        last = next.at(-1)?.seq ?? last;
      }
      ctx.done({ data: null, human: '', exitCode: EXIT_INTERRUPTED, streamed: true });
    });
  audit
    .command('stats')
    .description('counts, failures, cost and durations (of one run or all)')
    .option('--run-id <id>', 'only this run')
    .action(async (opts: { runId?: string }) => {
      const s = await ctx.app().audit.stats(opts.runId);
      ctx.done({
        data: s,
        human: [
          `events     ${s.events.total} (${
            Object.entries(s.events.by_type)
              .map(([k, v]) => `${k}=${v}`)
              .join(', ') || 'none'
          })`,
          `attempts   ${s.attempts.total} (${
            Object.entries(s.attempts.by_status)
              .map(([k, v]) => `${k}=${v}`)
              .join(', ') || 'none'
          }), retries ${s.attempts.retries}, failures ${s.attempts.failures}`,
          `duration   avg ${s.attempts.duration_ms.avg ?? '-'} ms, p50 ${s.attempts.duration_ms.p50 ?? '-'} ms, p95 ${s.attempts.duration_ms.p95 ?? '-'} ms`,
          `cost       $${s.cost.usd} (reported $${s.cost.reported_usd}, estimated $${s.cost.estimated_usd})`,
          `tokens     in ${s.tokens.input}, out ${s.tokens.output}, cache read ${s.tokens.cache_read}`,
          ...s.top_failures.map(
            (f) => `failure    ${f.fingerprint} x${f.count} ${f.error_class ?? ''} ${f.example ?? ''}`,
          ),
        ],
      });
    });
  audit
    .command('export')
    .description('export one run as JSON Lines or as OTLP traces (GenAI conventions) to a file, a collector or stdout')
    .requiredOption('--run-id <id>', 'the run')
    .addOption(new Option('--format <format>', 'jsonl or otlp').choices(['jsonl', 'otlp']).default('jsonl'))
    .option('--out <file>', 'write to this file')
    .option('--endpoint <url>', 'POST OTLP/JSON to this collector (…/v1/traces is appended when missing)')
    .action(async (opts: { runId: string; format: 'jsonl' | 'otlp'; out?: string; endpoint?: string }) => {
      const r = await ctx
        .app()
        .audit.export({ runId: opts.runId, format: opts.format, out: opts.out, endpoint: opts.endpoint });
      if (r.content !== undefined && program.opts()['json'] !== true) {
        ctx.done({ data: r, human: r.content.trimEnd() });
        return;
      }
      ctx.done({
        data: r,
        human: r.out
          ? `WROTE ${r.out} (${r.records} records)`
          : r.endpoint
            ? `SENT ${r.records} spans to ${r.endpoint} (HTTP ${r.http_status})`
            : '',
      });
    });
}
