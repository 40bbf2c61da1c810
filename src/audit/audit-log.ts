import type { z } from 'zod';
import {
  withStorageErrors,
  AuditPayloadSchema,
  BlobCorruptError,
  InvalidArgumentError,
  InvalidArtifactError,
  NotFoundError,
  redactUrl,
  parseArtifact,
  toFieldIssues,
  type AuditPayload,
} from '../contracts/index.js';
import type { PlatformDeps, SqliteDb } from '../platform/index.js';
import { blobPath, inspectBlob, readBlob, sha256Hex, writeBlob } from './blobs.js';
import type { BlobStream, StreamedBlob } from './blob-stream.js';
import { errorFingerprint } from './fingerprint.js';
import { migrate, type MigrationReport } from './migrate.js';
import {
  AgentCallRowSchema,
  AttemptRowSchema,
  BreakerEventSchema,
  DecisionInputSchema,
  RunRowSchema,
  SnapshotInputSchema,
  type AgentCallRow,
  type AttemptRow,
  type BreakerEventInput,
  type DecisionInput,
  type EventInput,
  type RunRow,
  type SnapshotInput,
} from './records.js';
import { createRedactor, type Redactor } from './redact.js';
import { auditDbEdge } from './db-edge.js';
import { createEventWriter } from './event-writer.js';

export interface OpenAuditOptions {
  readonly file: string;
  /**
   * A `postgres://` URL: the log (blobs included) lives in that PostgreSQL database instead of `file` (audit.url in
   * policy.yaml, or MSO_AUDIT_URL). Absent: the embedded SQLite file.
   */
  readonly url?: string | undefined;
  readonly blobsDir: string;
  /** Environment whose secret-named values are redacted from everything stored (when `deps.redactor` is absent). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Milliseconds a writer waits for the lock held by another process (default 10 s). */
  readonly busyTimeoutMs?: number;
}

/** The result of appending a CC-05 payload. */
export interface AppendResult {
  readonly id: string;
  readonly created: boolean;
  readonly run_id: string;
}

/** The one writer every domain records through. Synchronous writes: each call is committed when it returns. */
export interface AuditLog {
  readonly file: string;
  readonly db: SqliteDb;
  readonly schema: MigrationReport;
  readonly redactor: Redactor;
  appendEvent(input: EventInput): number;
  appendEvents(inputs: readonly EventInput[]): number[];
  upsertRun(row: RunRow): void;
  recordAttempt(row: AttemptRow): { fingerprint: string | null };
  recordAgentCall(row: AgentCallRow): void;
  recordBreakerEvent(input: BreakerEventInput): number;
  recordSnapshot(input: SnapshotInput): string;
  recordDecision(input: DecisionInput): string;
  /** Validates and stores a CC-05 payload as an `audit_logs` row; an identical payload returns the same id. */
  appendPayload(payload: unknown, source?: string): AppendResult;
  putBlob(data: string | Uint8Array, mediaType?: string): Promise<string>;
  /** A blob too big to hold in memory, written as a stream (redacted, hashed on the way); recorded when it ends. */
  openBlobStream(mediaType?: string): BlobStream;
  getBlob(hash: string): Promise<Buffer>;
  /** The stored bytes of a blob and whether they still match its hash (for replay, which reports alterations). */
  inspectBlob(hash: string): Promise<{ bytes: Buffer; intact: boolean; path: string }>;
  /** Runs `fn` in one immediate transaction (all or nothing). */
  transaction<T>(fn: () => T): T;
  close(): void;
}

/** Opens the PostgreSQL store through the platform's driver. */
function openStore(deps: PlatformDeps, url: string): SqliteDb {
  if (!deps.openPostgres) throw new InvalidArgumentError('audit.url', 'this build has no PostgreSQL driver');
  return deps.openPostgres(url);
}

/**
 * A blob whose bytes the shared (PostgreSQL) store keeps, verified against its hash: `MSO_NOT_FOUND` when absent,
 * `MSO_BLOB_CORRUPT` when altered. For readers that hold only the database handle.
 */
export function readStoredBlob(db: SqliteDb, hash: string): Buffer {
  const b = storedBlob(db, db.name, hash);
  if (!b.intact) throw new BlobCorruptError(hash, null, 'its bytes no longer match its sha256 (edited)', b.path);
  return b.bytes;
}

/** A blob kept in the PostgreSQL store, with whether its bytes still match its hash. */
function storedBlob(db: SqliteDb, where: string, hash: string): { bytes: Buffer; intact: boolean; path: string } {
  const row = db.prepare('SELECT data FROM blobs WHERE hash = ?').get(hash) as { data: Buffer | null } | undefined;
  if (!row?.data) throw new NotFoundError('blob', hash);
  const bytes = Buffer.from(row.data);
  return { bytes, intact: sha256Hex(bytes) === hash, path: `${where}#blobs/${hash}` };
}

function parseRecord<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success) throw new InvalidArtifactError(what, toFieldIssues(r.error));
  return r.data;
}

const json = (v: unknown): string => JSON.stringify(v ?? {});

/** Stable JSON (sorted keys) for hashing. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * Opens (creating and migrating) the audit database: WAL, busy timeout, foreign keys on. Every text that is stored
 * — every string bound to a writing statement, and every blob — passes through the redactor first (`deps.redactor`,
 * else one built from `options.env`).
 */
export function openAuditLog(deps: PlatformDeps, options: OpenAuditOptions): AuditLog {
  const redactor = deps.redactor ?? createRedactor({ env: options.env ?? {} });
  const where = options.url ? redactUrl(options.url) : options.file;
  const db = auditDbEdge(
    withStorageErrors(where, () => (options.url ? openStore(deps, options.url) : deps.openSqlite(options.file))),
    redactor,
    where,
  );
  const pg = db.dialect === 'postgres';
  const now = (): string => deps.clock.now().toISOString();
  let schema: MigrationReport;
  try {
    // The busy timeout first: every later statement, the WAL switch included, may wait on another writer.
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10_000}`);
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = NORMAL');
    db.pragma('recursive_triggers = OFF');
    schema = migrate(db, now());
  } catch (e) {
    db.close();
    throw e;
  }
  const red = <T>(v: T): T => redactor.value(v);
  const dateOnly = (): string => now().slice(0, 10);
  const stamp = (): string => dateOnly().replaceAll('-', '');

  function transaction<T>(fn: () => T): T {
    if (db.inTransaction) return fn();
    db.exec('BEGIN IMMEDIATE');
    try {
      const out = fn();
      db.exec('COMMIT');
      return out;
    } catch (e) {
      // A COMMIT that failed (disk full) has already rolled back; rolling back again would hide the real error.
      if (db.inTransaction) {
        try {
          db.exec('ROLLBACK');
        } catch {
          // The first error is the one to report.
        }
      }
      throw e;
    }
  }

  const events = createEventWriter(db, redactor, deps.clock, deps.random);

  const upsertRunStmt = db.prepare(`
    INSERT INTO runs (run_id, skill_key, status, goal, parent_run_id, created_at, updated_at, finished_at, budget_usd, metadata)
    VALUES (@run_id, @skill_key, @status, @goal, @parent_run_id, @at, @at, @finished_at, @budget_usd, @metadata)
    ON CONFLICT(run_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at,
      skill_key = COALESCE(excluded.skill_key, runs.skill_key), goal = COALESCE(excluded.goal, runs.goal),
      parent_run_id = COALESCE(excluded.parent_run_id, runs.parent_run_id), finished_at = COALESCE(excluded.finished_at, runs.finished_at),
      budget_usd = COALESCE(excluded.budget_usd, runs.budget_usd), metadata = json_patch(runs.metadata, excluded.metadata)`);

  const upsertAttemptStmt = db.prepare(`
    INSERT INTO attempts (attempt_id, run_id, node_id, ticket_id, attempt_no, is_retry, stage, persona, agent, provider, model, status,
      queued_at, started_at, ended_at, duration_ms, input_tokens, output_tokens, cache_read_tokens, cost_usd, cost_source, exit_code,
      error_class, error_message, error_fingerprint, fallback_rule, files_changed, evidence)
    VALUES (@attempt_id, @run_id, @node_id, @ticket_id, @attempt_no, @is_retry, @stage, @persona, @agent, @provider, @model, @status,
      @queued_at, @started_at, @ended_at, @duration_ms, @input_tokens, @output_tokens, @cache_read_tokens, @cost_usd, @cost_source, @exit_code,
      @error_class, @error_message, @error_fingerprint, @fallback_rule, @files_changed, @evidence)
    ON CONFLICT(attempt_id) DO UPDATE SET status = excluded.status,
      agent = COALESCE(excluded.agent, attempts.agent), provider = COALESCE(excluded.provider, attempts.provider),
      model = COALESCE(excluded.model, attempts.model), started_at = COALESCE(excluded.started_at, attempts.started_at),
      ended_at = COALESCE(excluded.ended_at, attempts.ended_at), duration_ms = COALESCE(excluded.duration_ms, attempts.duration_ms),
      input_tokens = COALESCE(excluded.input_tokens, attempts.input_tokens), output_tokens = COALESCE(excluded.output_tokens, attempts.output_tokens),
      cache_read_tokens = COALESCE(excluded.cache_read_tokens, attempts.cache_read_tokens), cost_usd = COALESCE(excluded.cost_usd, attempts.cost_usd),
      cost_source = COALESCE(excluded.cost_source, attempts.cost_source), exit_code = COALESCE(excluded.exit_code, attempts.exit_code),
      error_class = COALESCE(excluded.error_class, attempts.error_class), error_message = COALESCE(excluded.error_message, attempts.error_message),
      error_fingerprint = COALESCE(excluded.error_fingerprint, attempts.error_fingerprint), fallback_rule = COALESCE(excluded.fallback_rule, attempts.fallback_rule),
      files_changed = excluded.files_changed, evidence = json_patch(attempts.evidence, excluded.evidence)`);

  const insertCallStmt = db.prepare(`
    INSERT INTO agent_calls (call_id, attempt_id, run_id, kind, agent, provider, model, request_blob, response_blob, transcript_blob, status,
      error_class, started_at, ended_at, latency_ms, first_token_ms, input_tokens, output_tokens, cache_read_tokens, cost_usd, cost_source)
    VALUES (@call_id, @attempt_id, @run_id, @kind, @agent, @provider, @model, @request_blob, @response_blob, @transcript_blob, @status,
      @error_class, @started_at, @ended_at, @latency_ms, @first_token_ms, @input_tokens, @output_tokens, @cache_read_tokens, @cost_usd, @cost_source)
    ON CONFLICT(call_id) DO UPDATE SET status = excluded.status, response_blob = COALESCE(excluded.response_blob, agent_calls.response_blob),
      transcript_blob = COALESCE(excluded.transcript_blob, agent_calls.transcript_blob), ended_at = COALESCE(excluded.ended_at, agent_calls.ended_at),
      latency_ms = COALESCE(excluded.latency_ms, agent_calls.latency_ms), error_class = COALESCE(excluded.error_class, agent_calls.error_class),
      input_tokens = COALESCE(excluded.input_tokens, agent_calls.input_tokens), output_tokens = COALESCE(excluded.output_tokens, agent_calls.output_tokens),
      cost_usd = COALESCE(excluded.cost_usd, agent_calls.cost_usd), cost_source = COALESCE(excluded.cost_source, agent_calls.cost_source)`);

  const insertBreakerStmt = db.prepare(
    'INSERT INTO breaker_events (at, breaker, provider, model, from_state, to_state, reason, metrics) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const insertSnapshotStmt = db.prepare(`
    INSERT INTO node_snapshots (id, run_id, node_id, node_type, parent_refs, tree_hash_type, tree_hash_ref, agent_role, phase, input_artifact_uri,
      output_artifact_uri, status, merge_policy, fallback_target, metadata, related_audit_id, created_at, updated_at)
    VALUES (?, ?, ?, ?, ?, 'sha256', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);

  function recordSnapshot(raw: SnapshotInput): string {
    const s = parseRecord(SnapshotInputSchema, raw, 'node snapshot');
    const id = `SNAP-${stamp()}-${deps.random.id('s').slice(2)}`;
    const at = now();
    insertSnapshotStmt.run(
      id,
      s.runId,
      s.nodeId,
      s.nodeType,
      json(s.parentRefs),
      s.treeHashRef ?? null,
      s.agentRole,
      s.phase,
      s.inputArtifactUri ?? null,
      s.outputArtifactUri ?? null,
      s.status,
      s.mergePolicy ? json(s.mergePolicy) : null,
      s.fallbackTarget ?? null,
      json(s.metadata),
      s.relatedAuditId ?? null,
      at,
      at,
    );
    return id;
  }

  function recordDecision(raw: DecisionInput): string {
    const d = parseRecord(DecisionInputSchema, raw, 'decision');
    return transaction(() => {
      const id = d.id ?? `DEC-${stamp()}-${deps.random.id('d').slice(2)}`;
      db.prepare(
        'INSERT INTO decisions (id, date, title, context, decision_content, requested_by, approved_by, related_audit_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(
        id,
        dateOnly(),
        d.title,
        d.context ?? null,
        d.content ?? null,
        d.requestedBy ?? null,
        d.approvedBy ?? null,
        d.relatedAuditId ?? null,
        now(),
        now(),
      );
      const ev = db.prepare('INSERT INTO evidence (decision_id, type, ref_path, description) VALUES (?, ?, ?, ?)');
      for (const e of d.evidence) ev.run(id, e.type, e.refPath, e.description ?? null);
      const im = db.prepare(
        'INSERT INTO impacts (decision_id, domain, description, reversibility) VALUES (?, ?, ?, ?)',
      );
      for (const i of d.impacts) im.run(id, i.domain, i.description ?? null, i.reversibility ?? null);
      for (const t of d.tags) {
        db.prepare('INSERT INTO tags (name) VALUES (?) ON CONFLICT(name) DO NOTHING').run(t);
        const tag = db.prepare('SELECT id FROM tags WHERE name = ?').get(t) as { id: number };
        db.prepare('INSERT OR IGNORE INTO decision_tags (decision_id, tag_id) VALUES (?, ?)').run(id, tag.id);
      }
      return id;
    });
  }

  function appendPayload(raw: unknown, source = 'payload'): AppendResult {
    const p: AuditPayload = red(parseArtifact(AuditPayloadSchema, raw, source));
    const hash = sha256Hex(canonical(p));
    return transaction(() => {
      const existing = db.prepare('SELECT id FROM audit_logs WHERE payload_hash = ?').get(hash) as
        { id: string } | undefined;
      if (existing) return { id: existing.id, created: false, run_id: p.run_id };
      let id = p.task_id ?? `TASK-${stamp()}-${deps.random.id('t').slice(2)}`;
      let repeated = 0;
      const taken = db.prepare('SELECT 1 FROM audit_logs WHERE id = ?');
      if (p.task_id && taken.get(id)) {
        repeated = 1;
        let n = 2;
        while (taken.get(`${p.task_id}-R${n}`)) n++;
        id = `${p.task_id}-R${n}`;
      }
      const meta = p.metadata as Record<string, unknown>;
      const flag = (k: string): number => (meta[k] === true || meta[k] === 1 ? 1 : 0);
      const notes =
        p.notes ??
        [
          `errors=${p.errors.join('; ')}`,
          `warnings=${p.warnings.join('; ')}`,
          `next_actions=${p.next_actions.join('; ')}`,
        ].join(' | ');
      db.prepare(
        `
        INSERT INTO audit_logs (id, date, task_name, mode, action, input_path, output_path, script_path, status, notes, context_for_next,
          continuation_hint, transition_repeated, transition_reuse, transition_decision, work_type, triggered_by, duration_sec, files_affected,
          sprint, pattern_tag, session_id, intent, run_id, payload_hash, payload, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        id,
        dateOnly(),
        p.task_name ?? 'pipeline-operation',
        p.mode ?? 'pipeline',
        p.action ?? 'record',
        p.artifact_uri,
        p.artifact_uri,
        typeof (p as Record<string, unknown>)['script'] === 'string'
          ? (p as Record<string, unknown>)['script']
          : 'mso audit append',
        p.status,
        notes,
        typeof meta['context_for_next'] === 'string' ? meta['context_for_next'] : null,
        typeof meta['continuation_hint'] === 'string' ? meta['continuation_hint'] : null,
        repeated || flag('transition_repeated'),
        flag('transition_reuse'),
        flag('transition_decision'),
        p.work_type ?? null,
        p.triggered_by ?? null,
        p.duration_sec ?? null,
        p.files_affected ? JSON.stringify(p.files_affected) : null,
        typeof (p as Record<string, unknown>)['sprint'] === 'string' ? (p as Record<string, unknown>)['sprint'] : null,
        typeof (p as Record<string, unknown>)['pattern_tag'] === 'string'
          ? (p as Record<string, unknown>)['pattern_tag']
          : null,
        p.session_id ?? null,
        p.intent ?? null,
        p.run_id,
        hash,
        JSON.stringify(p),
        now(),
        now(),
      );
      if (p.node_snapshot) {
        const s = p.node_snapshot;
        recordSnapshot({
          runId: p.run_id,
          nodeId: s.node_id,
          nodeType: s.node_type,
          parentRefs: s.parent_refs,
          treeHashRef: s.tree_hash_ref ?? null,
          agentRole: s.agent_role,
          phase: s.phase,
          status: s.status,
          mergePolicy: (s.merge_policy as Record<string, unknown> | undefined) ?? null,
          fallbackTarget: s.fallback_target ?? null,
          metadata: (s.metadata as Record<string, unknown> | undefined) ?? {},
          relatedAuditId: id,
          ...(s.input_artifact_uri ? { inputArtifactUri: s.input_artifact_uri } : {}),
          ...(s.output_artifact_uri ? { outputArtifactUri: s.output_artifact_uri } : {}),
        });
      }
      for (const [i, d] of (p.decisions ?? []).entries()) {
        recordDecision({
          id: d.id ?? `DEC-${id.slice(5)}-${String(i + 1).padStart(2, '0')}`,
          title: d.title,
          context: d.context ?? null,
          content: d.decision_content ?? null,
          requestedBy: d.requested_by ?? 'orchestrator',
          approvedBy: d.approved_by ?? null,
          relatedAuditId: id,
        });
      }
      return { id, created: true, run_id: p.run_id };
    });
  }

  return {
    file: where,
    db,
    schema,
    redactor,
    transaction,
    // One statement (plus a read of the existing row when the key was taken): atomic on its own. SQLite still wants
    // the explicit transaction (one commit of the insert); PostgreSQL would only add three round trips and the
    // store-wide write lock to every engine step.
    appendEvent: (input) => (pg ? events.appendOne(input) : transaction(() => events.appendOne(input))),
    appendEvents: (inputs) => transaction(() => events.appendMany(inputs)),
    upsertRun(raw) {
      const r = parseRecord(RunRowSchema, raw, 'run row');
      upsertRunStmt.run({
        run_id: r.runId,
        skill_key: r.skillKey ?? null,
        status: r.status,
        goal: r.goal ?? null,
        parent_run_id: r.parentRunId ?? null,
        at: now(),
        finished_at: r.finishedAt ?? null,
        budget_usd: r.budgetUsd ?? null,
        metadata: json(r.metadata ?? {}),
      });
    },
    recordAttempt(raw) {
      const a = parseRecord(AttemptRowSchema, raw, 'attempt');
      const failed = a.errorClass != null && !['success', 'running', 'queued'].includes(a.status);
      // Fingerprinted as stored: the same failure with two different leaked tokens is one failure.
      const message = a.errorMessage == null ? null : redactor.text(a.errorMessage);
      const fingerprint = failed
        ? errorFingerprint({
            stage: a.stage,
            persona: a.persona,
            provider: a.provider,
            model: a.model,
            errorClass: a.errorClass,
            message,
          })
        : null;
      upsertAttemptStmt.run({
        attempt_id: a.attemptId,
        run_id: a.runId,
        node_id: a.nodeId ?? null,
        ticket_id: a.ticketId ?? null,
        attempt_no: a.attemptNo,
        is_retry: a.isRetry ? 1 : 0,
        stage: a.stage ?? null,
        persona: a.persona ?? null,
        agent: a.agent ?? null,
        provider: a.provider ?? null,
        model: a.model ?? null,
        status: a.status,
        queued_at: a.queuedAt ?? null,
        started_at: a.startedAt ?? null,
        ended_at: a.endedAt ?? null,
        duration_ms: a.durationMs ?? null,
        input_tokens: a.inputTokens ?? null,
        output_tokens: a.outputTokens ?? null,
        cache_read_tokens: a.cacheReadTokens ?? null,
        cost_usd: a.costUsd ?? null,
        cost_source: a.costSource ?? null,
        exit_code: a.exitCode ?? null,
        error_class: a.errorClass ?? null,
        error_message: message,
        error_fingerprint: fingerprint,
        fallback_rule: a.fallbackRule ?? null,
        files_changed: json(a.filesChanged),
        evidence: json(a.evidence),
      });
      return { fingerprint };
    },
    recordAgentCall(raw) {
      const c = parseRecord(AgentCallRowSchema, raw, 'agent call');
      insertCallStmt.run({
        call_id: c.callId,
        attempt_id: c.attemptId ?? null,
        run_id: c.runId,
        kind: c.kind,
        agent: c.agent ?? null,
        provider: c.provider ?? null,
        model: c.model ?? null,
        request_blob: c.requestBlob ?? null,
        response_blob: c.responseBlob ?? null,
        transcript_blob: c.transcriptBlob ?? null,
        status: c.status,
        error_class: c.errorClass ?? null,
        started_at: c.startedAt,
        ended_at: c.endedAt ?? null,
        latency_ms: c.latencyMs ?? null,
        first_token_ms: c.firstTokenMs ?? null,
        input_tokens: c.inputTokens ?? null,
        output_tokens: c.outputTokens ?? null,
        cache_read_tokens: c.cacheReadTokens ?? null,
        cost_usd: c.costUsd ?? null,
        cost_source: c.costSource ?? null,
      });
    },
    recordBreakerEvent(raw) {
      const b = parseRecord(BreakerEventSchema, raw, 'breaker event');
      const r = insertBreakerStmt.run(
        now(),
        b.breaker,
        b.provider ?? null,
        b.model ?? null,
        b.fromState ?? null,
        b.toState,
        b.reason ?? null,
        json(b.metrics),
      );
      return Number(r.lastInsertRowid);
    },
    recordSnapshot: (input) => transaction(() => recordSnapshot(input)),
    recordDecision,
    appendPayload,
    async putBlob(data, mediaType) {
      // Redacted before hashing: a blob's hash is of the bytes stored, so replay can verify them.
      const bytes = redactor.bytes(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
      if (pg) {
        const hash = sha256Hex(bytes);
        db.prepare(
          'INSERT INTO blobs (hash, size, media_type, created_at, data) VALUES (?, ?, ?, ?, ?) ON CONFLICT(hash) DO NOTHING',
        ).run(hash, bytes.length, mediaType ?? null, now(), Buffer.from(bytes));
        return hash;
      }
      const { hash } = await writeBlob(deps, options.blobsDir, bytes);
      db.prepare(
        'INSERT INTO blobs (hash, size, media_type, created_at) VALUES (?, ?, ?, ?) ON CONFLICT(hash) DO NOTHING',
      ).run(hash, bytes.length, mediaType ?? null, now());
      return hash;
    },
    openBlobStream(mediaType) {
      // Loaded on first use: only a call whose output outgrows its transcript needs it, and start-up stays light.
      const real = import('./blob-stream.js').then((m) => m.openBlobStream(deps, options.blobsDir, redactor));
      let stream: BlobStream | null = null;
      let early: Uint8Array[] = [];
      let earlyBytes = 0;
      const ready = real.then((st) => {
        stream = st;
        for (const c of early) st.write(c);
        early = [];
        earlyBytes = 0;
        return st;
      });
      return {
        write(chunk) {
          if (stream) stream.write(chunk);
          else {
            early.push(chunk);
            earlyBytes += chunk.length;
          }
        },
        get backlog() {
          return stream ? stream.backlog : earlyBytes;
        },
        drained: async (below) => (await ready).drained(below),
        abort: async () => (await ready).abort(),
        async end(): Promise<StreamedBlob> {
          const b = await (await ready).end();
          if (pg) {
            // The shared store keeps the bytes itself (other machines read them): the spilled file, as written.
            const bytes = await deps.fs.readFile(blobPath(options.blobsDir, b.hash));
            db.prepare(
              'INSERT INTO blobs (hash, size, media_type, created_at, data) VALUES (?, ?, ?, ?, ?) ON CONFLICT(hash) DO NOTHING',
            ).run(b.hash, b.size, mediaType ?? null, now(), bytes);
            return b;
          }
          db.prepare(
            'INSERT INTO blobs (hash, size, media_type, created_at) VALUES (?, ?, ?, ?) ON CONFLICT(hash) DO NOTHING',
          ).run(b.hash, b.size, mediaType ?? null, now());
          return b;
        },
      };
    },
    getBlob: async (hash) => {
      if (!pg) return readBlob(deps, options.blobsDir, hash);
      const b = storedBlob(db, where, hash);
      if (!b.intact) throw new BlobCorruptError(hash, null, 'its bytes no longer match its sha256 (edited)', b.path);
      return b.bytes;
    },
    inspectBlob: async (hash) => (pg ? storedBlob(db, where, hash) : inspectBlob(deps, options.blobsDir, hash)),
    close: () => db.close(),
  };
}
