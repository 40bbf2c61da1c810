import type { z } from 'zod';
import { InvalidArtifactError, toFieldIssues } from '../contracts/index.js';
import type { Clock, Random, SqliteDb } from '../platform/index.js';
import { errorFingerprint } from './fingerprint.js';
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
  type RunRow,
  type SnapshotInput,
} from './records.js';
import type { Redactor } from './redact.js';

/** The times and id stamps the writers put on rows, from the injected clock. */
export interface RowTimes {
  /** ISO timestamp. */
  now(): string;
  /** `YYYY-MM-DD`. */
  dateOnly(): string;
  /** `YYYYMMDD`, the date part of generated ids (`SNAP-…`, `DEC-…`, `TASK-…`). */
  stamp(): string;
}

export function rowTimes(clock: Clock): RowTimes {
  const now = (): string => clock.now().toISOString();
  const dateOnly = (): string => now().slice(0, 10);
  return { now, dateOnly, stamp: () => dateOnly().replaceAll('-', '') };
}

/** The audit log's row writers other than events and CC-05 payloads (see `AuditLog` for each). */
export interface RowWriters {
  upsertRun(row: RunRow): void;
  recordAttempt(row: AttemptRow): { fingerprint: string | null };
  recordAgentCall(row: AgentCallRow): void;
  recordBreakerEvent(input: BreakerEventInput): number;
  /** One snapshot row (in the caller's transaction when there is one). */
  recordSnapshot(input: SnapshotInput): string;
  /** The decision with its evidence, impacts and tags, in one transaction. */
  recordDecision(input: DecisionInput): string;
}

export interface RowWriterDeps {
  readonly db: SqliteDb;
  readonly redactor: Redactor;
  readonly random: Random;
  readonly times: RowTimes;
  readonly transaction: <T>(fn: () => T) => T;
}

function parseRecord<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success) throw new InvalidArtifactError(what, toFieldIssues(r.error));
  return r.data;
}

const json = (v: unknown): string => JSON.stringify(v ?? {});

/** Prepares the statements once; each writer checks its input with the record's schema before it binds anything. */
export function createRowWriters({ db, redactor, random, times, transaction }: RowWriterDeps): RowWriters {
  const { now, dateOnly, stamp } = times;
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
    const id = `SNAP-${stamp()}-${random.id('s').slice(2)}`;
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
      const id = d.id ?? `DEC-${stamp()}-${random.id('d').slice(2)}`;
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

  return {
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
    recordSnapshot,
    recordDecision,
  };
}
