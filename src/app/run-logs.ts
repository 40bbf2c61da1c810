import { readTranscript, toolText, type TranscriptEntry } from '../agents/index.js';
import { createBlobReader, openAuditReader, readRowBlob, streamBlob } from '../audit/index.js';
import { InvalidArgumentError, NotFoundError } from '../contracts/index.js';
import { liveLogPath } from '../engine/index.js';
import { readTextIfExists } from '../workspace/index.js';
import { planNodeIds } from './run-artifacts.js';
import { shownStatus, type RunOpsContext } from './run-support.js';
import type { ShownRunStatus } from './run-types.js';
import { auditReaderOptions } from './settings.js';

/** One line of a node's log: what its agent said, the tools and commands it ran, its output and errors. */
export interface LogEntry {
  readonly node: string;
  readonly attempt_id: string;
  readonly attempt: number;
  readonly agent: string | null;
  readonly kind: TranscriptEntry['kind'] | 'start' | 'end';
  readonly text: string;
  /** True while the attempt runs: the line comes from the live log, not yet from the stored transcript. */
  readonly live: boolean;
}

export interface LogsResult {
  readonly run_id: string;
  readonly node: string | null;
  readonly status: ShownRunStatus;
  readonly entries: readonly LogEntry[];
}

interface AttemptRow {
  attempt_id: string;
  node_id: string;
  attempt_no: number;
  agent: string | null;
  status: string;
  error_message: string | null;
  cost_usd: number | null;
  evidence: string | null;
}

/** Where an attempt's output was kept whole (`evidence.fullOutput`, set when it outgrew the transcript). */
interface FullOutputRef {
  readonly blob: string;
  readonly bytes: number;
  readonly sha256: string;
}
const fullOutputOf = (evidence: string | null): { stdout?: FullOutputRef; stderr?: FullOutputRef } => {
  try {
    const e = JSON.parse(evidence ?? '{}') as { fullOutput?: { stdout?: FullOutputRef; stderr?: FullOutputRef } };
    return e.fullOutput ?? {};
  } catch {
    return {};
  }
};
interface CallRow {
  attempt_id: string;
  agent: string;
  kind: string;
  transcript_blob: string | null;
  request_blob: string | null;
  status: string;
}

/**
 * `mso logs`: each attempt's transcript (stored once its agent call ended, live before), in the order they ran.
 * Read-only: it answers from a database it cannot write.
 */
export async function runLogs(c: RunOpsContext, runId: string, node?: string): Promise<LogsResult> {
  const ws = await c.open(false);
  const ref = await ws.runs.get(runId);
  const reader = openAuditReader(c.deps, ws.layout.auditDb, auditReaderOptions(ws, c.deps));
  // Insertion order breaks ties of equal start times: SQLite's rowid; PostgreSQL has none, so the attempt's own keys.
  const pg = reader.raw.dialect === 'postgres';
  const log = {
    db: reader.raw,
    ...createBlobReader(c.deps, { db: reader.raw, blobsDir: ws.layout.blobsDir, where: reader.raw.name }),
  };
  try {
    const attempts = log.db
      .prepare(
        `SELECT attempt_id, node_id, attempt_no, agent, status, error_message, cost_usd, evidence FROM attempts
         WHERE run_id = ? AND node_id IS NOT NULL ${node !== undefined ? 'AND node_id = ?' : ''}
         ORDER BY started_at, ${pg ? 'attempt_no, attempt_id' : 'rowid'}`,
      )
      .all(...(node !== undefined ? [runId, node] : [runId])) as AttemptRow[];
    if (node !== undefined && attempts.length === 0) {
      // A node of the plan that has not run yet has an empty log, as one that ran no agent: only a name the run never
      // had is not found.
      const known =
        log.db
          .prepare("SELECT 1 FROM events WHERE run_id = ? AND node_id = ? AND type = 'node.state' LIMIT 1")
          .get(runId, node) !== undefined || ((await planNodeIds(c.deps, ref.dir)) ?? []).includes(node);
      if (!known) throw new NotFoundError('node', `${runId}/${node}`);
    }
    const calls = log.db
      .prepare(
        `SELECT attempt_id, agent, kind, transcript_blob, request_blob, status FROM agent_calls
         WHERE run_id = ? AND attempt_id IS NOT NULL ORDER BY started_at, ${pg ? 'call_id' : 'rowid'}`,
      )
      .all(runId) as CallRow[];
    const callsOf = new Map<string, CallRow[]>();
    for (const r of calls) callsOf.set(r.attempt_id, [...(callsOf.get(r.attempt_id) ?? []), r]);
    const liveCache = new Map<string, string>();
    const entries: LogEntry[] = [];
    for (const a of attempts) {
      const base = { node: a.node_id, attempt_id: a.attempt_id, attempt: a.attempt_no, agent: a.agent };
      const stored = callsOf.get(a.attempt_id) ?? [];
      entries.push({ ...base, kind: 'start', text: `attempt ${a.attempt_no}`, live: false });
      if (stored.length === 0 && a.status === 'running') {
        let text = liveCache.get(a.node_id);
        if (text === undefined) {
          text = (await readTextIfExists(c.deps.fs, liveLogPath(ref.dir, a.node_id))) ?? '';
          liveCache.set(a.node_id, text);
        }
        for (const e of liveEntries(text, a.attempt_id)) entries.push({ ...base, ...e, live: true });
        continue;
      }
      for (const call of stored) {
        const kind = ws.policy.agents[call.agent]?.kind ?? call.agent;
        if (call.request_blob && kind === 'shell') {
          const req = JSON.parse((await log.getBlob(call.request_blob)).toString('utf8')) as { command?: unknown };
          if (typeof req.command === 'string')
            entries.push({ ...base, kind: 'tool', text: `$ ${req.command}`, live: false });
        }
        const transcript = call.transcript_blob ? (await log.getBlob(call.transcript_blob)).toString('utf8') : '';
        for (const e of readTranscript(kind, transcript))
          entries.push({ ...base, agent: call.agent, ...e, live: false });
      }
      for (const [stream, full] of Object.entries(fullOutputOf(a.evidence)))
        entries.push({
          ...base,
          kind: 'output',
          text: `[mso: the whole ${stream} (${full.bytes} bytes) is kept: mso logs ${runId} ${a.node_id} --full${stream === 'stderr' ? ' --stderr' : ''} --attempt ${a.attempt_no}]`,
          live: false,
        });
      if (a.status !== 'running')
        entries.push({
          ...base,
          kind: 'end',
          text: `${a.status}${a.error_message ? `: ${a.error_message}` : ''}${a.cost_usd ? ` ($${a.cost_usd.toFixed(4)})` : ''}`,
          live: false,
        });
    }
    return { run_id: runId, node: node ?? null, status: shownStatus(c, log, runId, ref.manifest.status), entries };
  } finally {
    await reader.close();
  }
}

/** The whole output of one attempt of a node, as `mso logs RUN NODE --full` streams it. */
export interface FullOutput {
  readonly run_id: string;
  readonly node: string;
  readonly attempt: number;
  readonly stream: 'stdout' | 'stderr';
  /** Bytes the process printed and their SHA-256 (before redaction). */
  readonly bytes: number;
  readonly sha256: string;
  readonly blob: string;
  /** The blob's file, and its size (differs from `bytes` where secrets were replaced). */
  readonly path: string;
  readonly stored_bytes: number;
  /** The stored bytes in 1 MB pieces (the blob's hash was checked first). */
  chunks(): AsyncGenerator<Buffer>;
}

/**
 * `mso logs RUN NODE --full`: the whole stdout (or stderr) of a node's attempt — the last one that kept its output
 * whole, or attempt `attempt` — read from its blob in constant memory. Exit 2 when no attempt kept it (its output fit
 * the transcript: plain `mso logs` shows all of it).
 */
export async function runFullOutput(
  c: RunOpsContext,
  runId: string,
  node: string,
  o: { readonly stream?: 'stdout' | 'stderr'; readonly attempt?: number | undefined } = {},
): Promise<FullOutput> {
  const stream = o.stream ?? 'stdout';
  const ws = await c.open(false);
  await ws.runs.get(runId);
  const reader = openAuditReader(c.deps, ws.layout.auditDb, auditReaderOptions(ws, c.deps));
  const pg = reader.raw.dialect === 'postgres';
  const where = reader.raw.name;
  let rows: Array<{ attempt_no: number; evidence: string | null }>;
  /** The chosen blob's bytes when its row keeps them (PostgreSQL; a blob an SQLite store kept in its row). */
  let inRow: Buffer | undefined;
  let hit: { no: number; full: FullOutputRef | undefined } | undefined;
  try {
    rows = reader.raw
      .prepare(
        `SELECT attempt_no, evidence FROM attempts WHERE run_id = ? AND node_id = ? ${o.attempt !== undefined ? 'AND attempt_no = ?' : ''}
         ORDER BY started_at DESC, ${pg ? 'attempt_no DESC' : 'rowid DESC'}`,
      )
      .all(...[runId, node, ...(o.attempt !== undefined ? [o.attempt] : [])]) as typeof rows;
    hit = rows.map((r) => ({ no: r.attempt_no, full: fullOutputOf(r.evidence)[stream] })).find((r) => r.full);
    if (hit?.full) inRow = readRowBlob(reader.raw, where, hit.full.blob);
  } finally {
    await reader.close();
  }
  if (rows.length === 0)
    throw new NotFoundError('attempt', `${runId}/${node}${o.attempt !== undefined ? `#${o.attempt}` : ''}`);
  if (!hit?.full)
    throw new InvalidArgumentError(
      '--full',
      `no attempt of ${node} kept its ${stream} apart: it fit the transcript, which mso logs ${runId} ${node} shows whole`,
    );
  const blob = hit.full.blob;
  const bytes = inRow;
  if (!bytes && pg) throw new NotFoundError('blob', blob);
  const b = bytes
    ? {
        path: `${where}#blobs/${blob}`,
        size: bytes.length,
        async *chunks() {
          yield bytes;
        },
      }
    : await streamBlob(c.deps, ws.layout.blobsDir, blob);
  return {
    run_id: runId,
    node,
    attempt: hit.no,
    stream,
    bytes: hit.full.bytes,
    sha256: hit.full.sha256,
    blob: hit.full.blob,
    path: b.path,
    stored_bytes: b.size,
    chunks: b.chunks,
  };
}

function liveEntries(text: string, attemptId: string): TranscriptEntry[] {
  const out: TranscriptEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    let e: Record<string, unknown>;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue; // a line being written
    }
    if (e['attempt_id'] !== attemptId) continue;
    const last = out.at(-1);
    // An LLM streams its answer in pieces: one text entry per run of pieces.
    if (e['type'] === 'message' && last?.kind === 'text')
      out[out.length - 1] = { kind: 'text', text: last.text + String(e['text'] ?? '') };
    else if (e['type'] === 'message') out.push({ kind: 'text', text: String(e['text'] ?? '') });
    else if (e['type'] === 'tool_use')
      out.push({ kind: 'tool', text: toolText(String(e['name'] ?? 'tool'), e['input']) });
    else if (e['type'] === 'error') out.push({ kind: 'error', text: String(e['message'] ?? '') });
    // A command's lines as it printed them (shell steps).
    else if (e['type'] === 'output')
      out.push({ kind: e['stream'] === 'stderr' ? 'stderr' : 'output', text: String(e['text'] ?? '') });
  }
  return out;
}
