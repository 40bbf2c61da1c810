import { createHash } from 'node:crypto';
import type {
  AgentCallRow,
  AttemptRow,
  AuditLog,
  BlobStream,
  BreakerEventInput,
  DecisionInput,
  EventInput,
  Redactor,
  SnapshotInput,
} from '../audit/index.js';

/** One audit write a worker made, in the order it made it, to be applied by the run's coordinator. */
export type RecordedWrite =
  | { readonly kind: 'event'; readonly input: EventInput }
  | { readonly kind: 'attempt'; readonly row: AttemptRow }
  | { readonly kind: 'call'; readonly row: AgentCallRow }
  | { readonly kind: 'breaker'; readonly input: BreakerEventInput }
  | { readonly kind: 'snapshot'; readonly input: SnapshotInput }
  | { readonly kind: 'decision'; readonly input: DecisionInput };

/** A blob a worker stored: its bytes (base64, already redacted) under the hash the records name. */
export interface RecordedBlob {
  readonly hash: string;
  readonly mediaType: string | null;
  readonly base64: string;
}

/**
 * Output spilled past a transcript's bounds that a worker keeps per stream: it travels to the coordinator through
 * Redis in the job's result, so it is capped; bytes past the cap are counted and hashed, not kept.
 */
export const WORKER_SPILL_MAX_BYTES = 16 * 1024 * 1024;

/** What a node step wrote while it ran away from the audit log. */
export interface Recording {
  readonly writes: readonly RecordedWrite[];
  readonly blobs: readonly RecordedBlob[];
}

/**
 * An audit log that writes nothing: it keeps every record a node step makes (events, attempts, agent calls, breaker
 * events, snapshots, decisions, blobs) in memory, in order, so a worker can hand them to the coordinator, the single
 * writer of the audit log, which applies them in one transaction ({@link applyRecording}). Reads of the database are
 * refused: a node step run on a worker is given what it needs to know in its job.
 */
export function createRecordingLog(redactor: Redactor, now: () => Date): { log: AuditLog; take(): Recording } {
  const kept: RecordedWrite[] = [];
  // Redacted here already, with the worker's secrets: the records travel through Redis before the coordinator
  // redacts them again with its own.
  const writes = { push: (w: RecordedWrite): number => kept.push(redactor.value(w)) };
  const blobs = new Map<string, RecordedBlob>();
  const at = (): string => now().toISOString();
  const noDb = (): never => {
    throw new Error('the audit database is not reachable from a worker: the coordinator applies what it records');
  };
  const log: AuditLog = {
    file: '(worker recording)',
    get db(): never {
      return noDb();
    },
    get schema(): never {
      return noDb();
    },
    redactor,
    appendEvent(input) {
      writes.push({ kind: 'event', input: { ...input, at: input.at ?? at() } });
      return 0;
    },
    appendEvents(inputs) {
      return inputs.map((i) => log.appendEvent(i));
    },
    upsertRun: noDb,
    recordAttempt(row) {
      writes.push({ kind: 'attempt', row });
      return { fingerprint: null };
    },
    recordAgentCall(row) {
      writes.push({ kind: 'call', row });
    },
    recordBreakerEvent(input) {
      writes.push({ kind: 'breaker', input });
      return 0;
    },
    recordSnapshot(input) {
      writes.push({ kind: 'snapshot', input });
      return '';
    },
    recordDecision(input) {
      writes.push({ kind: 'decision', input });
      return '';
    },
    appendPayload: noDb,
    putBlob(data, mediaType) {
      const bytes = redactor.bytes(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
      const hash = createHash('sha256').update(bytes).digest('hex');
      if (!blobs.has(hash))
        blobs.set(hash, { hash, mediaType: mediaType ?? null, base64: Buffer.from(bytes).toString('base64') });
      return Promise.resolve(hash);
    },
    openBlobStream(mediaType) {
      return recordingBlobStream(redactor, (bytes) => log.putBlob(bytes, mediaType));
    },
    getBlob(hash) {
      const b = blobs.get(hash);
      return b ? Promise.resolve(Buffer.from(b.base64, 'base64')) : Promise.reject(new Error(`no blob ${hash}`));
    },
    inspectBlob: noDb,
    transaction: (fn) => fn(),
    close: () => undefined,
  };
  return { log, take: () => ({ writes: kept.splice(0), blobs: [...blobs.values()] }) };
}

/**
 * A blob stream kept in memory up to {@link WORKER_SPILL_MAX_BYTES}, redacted whole at the end and stored through
 * `put` (the recording's blobs). The raw hash and size cover every byte written, kept or not, so a blob cut at the
 * cap shows as `rawSize` above what it holds.
 */
function recordingBlobStream(redactor: Redactor, put: (bytes: Buffer) => Promise<string>): BlobStream {
  const raw = createHash('sha256');
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let rawSize = 0;
  return {
    write(chunk) {
      raw.update(chunk);
      rawSize += chunk.length;
      const room = WORKER_SPILL_MAX_BYTES - keptBytes;
      if (room <= 0) return;
      const part = Buffer.from(chunk.subarray(0, room));
      kept.push(part);
      keptBytes += part.length;
    },
    backlog: 0,
    drained: () => Promise.resolve(),
    async end() {
      const bytes = redactor.bytes(Buffer.concat(kept, keptBytes));
      const hash = await put(Buffer.from(bytes));
      return { hash, size: bytes.length, rawSha256: raw.digest('hex'), rawSize, forcedCuts: 0 };
    },
    abort: () => Promise.resolve(),
  };
}

/**
 * Applies a worker's recording to the real audit log, in one transaction, once: the events get keys derived from
 * `key` (a job id), and a marker event `node.job_applied` keyed by it is written last, so applying the same job's
 * recording again (a resumed coordinator, a late duplicate) writes nothing. Returns false when it was already applied.
 * Blobs are stored first (content-addressed, so a repeat is harmless); a blob whose hash differs here (the
 * coordinator redacts more) is renamed in the records that cite it.
 */
export async function applyRecording(
  log: AuditLog,
  runId: string,
  nodeId: string,
  key: string,
  rec: Recording,
  marker: Record<string, unknown>,
): Promise<boolean> {
  const markerKey = `${key}#applied`;
  const seen = log.db.prepare('SELECT 1 AS x FROM events WHERE event_key = ?').get(markerKey);
  if (seen) return false;
  const renamed = new Map<string, string>();
  for (const b of rec.blobs) {
    const h = await log.putBlob(Buffer.from(b.base64, 'base64'), b.mediaType ?? undefined);
    if (h !== b.hash) renamed.set(b.hash, h);
  }
  const fix = <T>(v: T): T => {
    if (renamed.size === 0) return v;
    let text = JSON.stringify(v);
    for (const [from, to] of renamed) text = text.replaceAll(from, to);
    return JSON.parse(text) as T;
  };
  return log.transaction(() => {
    if (log.db.prepare('SELECT 1 AS x FROM events WHERE event_key = ?').get(markerKey)) return false;
    rec.writes.forEach((w, i) => {
      const x = fix(w);
      if (x.kind === 'event') log.appendEvent({ ...x.input, key: `${key}#${i}` });
      else if (x.kind === 'attempt') log.recordAttempt(x.row);
      else if (x.kind === 'call') log.recordAgentCall(x.row);
      else if (x.kind === 'breaker') log.recordBreakerEvent(x.input);
      else if (x.kind === 'snapshot') log.recordSnapshot(x.input);
      else log.recordDecision(x.input);
    });
    log.appendEvent({ runId, type: 'node.job_applied', nodeId, payload: marker, key: markerKey });
    return true;
  });
}
