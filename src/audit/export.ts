import { createHash } from 'node:crypto';
import { RunNotFoundError } from '../contracts/index.js';
import type { AuditReader } from './queries.js';

/** Every audit row of one run, table by table, for `--format jsonl`. */
export async function exportRunRows(
  reader: AuditReader,
  runId: string,
): Promise<Array<{ table: string; row: Record<string, unknown> }>> {
  const db = await reader.query();
  const out: Array<{ table: string; row: Record<string, unknown> }> = [];
  const push = (table: string, rows: readonly Record<string, unknown>[]): void => {
    for (const row of rows) out.push({ table, row });
  };
  push('runs', await db.selectFrom('runs').selectAll().where('run_id', '=', runId).execute());
  push('events', await db.selectFrom('events').selectAll().where('run_id', '=', runId).orderBy('seq').execute());
  push(
    'attempts',
    await db.selectFrom('attempts').selectAll().where('run_id', '=', runId).orderBy('started_at').execute(),
  );
  push(
    'agent_calls',
    await db.selectFrom('agent_calls').selectAll().where('run_id', '=', runId).orderBy('started_at').execute(),
  );
  push(
    'node_snapshots',
    await db.selectFrom('node_snapshots').selectAll().where('run_id', '=', runId).orderBy('created_at').execute(),
  );
  push(
    'audit_logs',
    await db.selectFrom('audit_logs').selectAll().where('run_id', '=', runId).orderBy('created_at').execute(),
  );
  return out;
}

type AttrValue = { stringValue: string } | { intValue: string } | { doubleValue: number } | { boolValue: boolean };
interface OtlpAttribute {
  key: string;
  value: AttrValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtlpAttribute[];
  status: { code: number; message?: string };
}

/** OTLP/JSON `ExportTraceServiceRequest` body. */
export interface OtlpTraces {
  resourceSpans: Array<{
    resource: { attributes: OtlpAttribute[] };
    scopeSpans: Array<{ scope: { name: string; version: string }; spans: OtlpSpan[] }>;
  }>;
}

const hex = (s: string, n: number): string => createHash('sha256').update(s).digest('hex').slice(0, n);
const nanos = (iso: string | null | undefined, fallback: string): string =>
  `${BigInt(Date.parse(iso ?? fallback)) * 1_000_000n}`;

function attrs(pairs: Record<string, string | number | boolean | null | undefined>): OtlpAttribute[] {
  const out: OtlpAttribute[] = [];
  for (const [key, v] of Object.entries(pairs)) {
    if (v === null || v === undefined) continue;
    if (typeof v === 'string') out.push({ key, value: { stringValue: v } });
    else if (typeof v === 'boolean') out.push({ key, value: { boolValue: v } });
    else if (Number.isInteger(v)) out.push({ key, value: { intValue: String(v) } });
    else out.push({ key, value: { doubleValue: v } });
  }
  return out;
}

const FAILED = new Set(['failure', 'timeout', 'blocked', 'cancelled', 'failed']);

/**
 * One run as OpenTelemetry traces with the GenAI conventions: `invoke_workflow` for the run, `invoke_agent
 * <persona>` per attempt, `chat <model>` per LLM or CLI call, usage and failure attributes. Ids are derived from the
 * run, attempt and call ids, so an export is reproducible.
 */
export async function exportRunOtlp(reader: AuditReader, runId: string, version: string): Promise<OtlpTraces> {
  const db = await reader.query();
  const run = await db.selectFrom('runs').selectAll().where('run_id', '=', runId).executeTakeFirst();
  const attempts = await db
    .selectFrom('attempts')
    .selectAll()
    .where('run_id', '=', runId)
    .orderBy('started_at')
    .execute();
  const calls = await db
    .selectFrom('agent_calls')
    .selectAll()
    .where('run_id', '=', runId)
    .orderBy('started_at')
    .execute();
  const firstEvent = await db
    .selectFrom('events')
    .select(['at'])
    .where('run_id', '=', runId)
    .orderBy('seq')
    .limit(1)
    .executeTakeFirst();
  const lastEvent = await db
    .selectFrom('events')
    .select(['at'])
    .where('run_id', '=', runId)
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!run && attempts.length === 0 && !firstEvent) throw new RunNotFoundError(runId);
  const traceId = hex(`trace:${runId}`, 32);
  const rootId = hex(`run:${runId}`, 16);
  const start = run?.created_at ?? firstEvent?.at ?? attempts[0]?.started_at ?? new Date(0).toISOString();
  const end = run?.finished_at ?? lastEvent?.at ?? attempts.at(-1)?.ended_at ?? start;
  const spans: OtlpSpan[] = [
    {
      traceId,
      spanId: rootId,
      name: 'invoke_workflow',
      kind: 1,
      startTimeUnixNano: nanos(start, start),
      endTimeUnixNano: nanos(end, start),
      attributes: attrs({
        'gen_ai.operation.name': 'invoke_workflow',
        'mso.run_id': runId,
        'mso.run.status': run?.status,
        'mso.goal': run?.goal,
      }),
      status: run && FAILED.has(run.status) ? { code: 2, message: run.status } : { code: 1 },
    },
  ];
  const attemptSpan = new Map<string, string>();
  for (const a of attempts) {
    const spanId = hex(`attempt:${a.attempt_id}`, 16);
    attemptSpan.set(a.attempt_id, spanId);
    const who = a.persona ?? a.agent ?? 'agent';
    spans.push({
      traceId,
      spanId,
      parentSpanId: rootId,
      name: `invoke_agent ${who}`,
      kind: 1,
      startTimeUnixNano: nanos(a.started_at, start),
      endTimeUnixNano: nanos(a.ended_at ?? a.started_at, start),
      attributes: attrs({
        'gen_ai.operation.name': 'invoke_agent',
        'gen_ai.agent.name': who,
        'gen_ai.agent.id': a.agent,
        'gen_ai.provider.name': a.provider,
        'gen_ai.request.model': a.model,
        'gen_ai.usage.input_tokens': a.input_tokens,
        'gen_ai.usage.output_tokens': a.output_tokens,
        'gen_ai.usage.cache_read.input_tokens': a.cache_read_tokens,
        'mso.node_id': a.node_id,
        'mso.ticket_id': a.ticket_id,
        'mso.attempt_id': a.attempt_id,
        'mso.attempt_no': a.attempt_no,
        'mso.cost_usd': a.cost_usd,
        'mso.cost_source': a.cost_source,
        'mso.error_fingerprint': a.error_fingerprint,
        'error.type': FAILED.has(a.status) ? (a.error_class ?? a.status) : null,
      }),
      status: FAILED.has(a.status) ? { code: 2, message: a.error_message ?? a.status } : { code: 1 },
    });
  }
  for (const c of calls) {
    spans.push({
      traceId,
      spanId: hex(`call:${c.call_id}`, 16),
      parentSpanId: (c.attempt_id && attemptSpan.get(c.attempt_id)) || rootId,
      name: `chat ${c.model ?? c.agent ?? c.kind}`,
      kind: 3,
      startTimeUnixNano: nanos(c.started_at, start),
      endTimeUnixNano: nanos(c.ended_at ?? c.started_at, start),
      attributes: attrs({
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': c.provider ?? c.agent,
        'gen_ai.request.model': c.model,
        'gen_ai.usage.input_tokens': c.input_tokens,
        'gen_ai.usage.output_tokens': c.output_tokens,
        'mso.call_id': c.call_id,
        'mso.call.kind': c.kind,
        'mso.latency_ms': c.latency_ms,
        'mso.first_token_ms': c.first_token_ms,
        'error.type': c.error_class,
      }),
      status: c.error_class ? { code: 2, message: c.error_class } : { code: 1 },
    });
  }
  return {
    resourceSpans: [
      {
        resource: { attributes: attrs({ 'service.name': 'mso', 'service.version': version }) },
        scopeSpans: [{ scope: { name: 'mso.audit', version }, spans }],
      },
    ],
  };
}
