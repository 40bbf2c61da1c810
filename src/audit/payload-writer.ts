import { AuditPayloadSchema, parseArtifact, type AuditPayload } from '../contracts/index.js';
import type { Random, SqliteDb } from '../platform/index.js';
import { sha256Hex } from './blobs.js';
import type { Redactor } from './redact.js';
import type { RowTimes, RowWriters } from './row-writers.js';

/** The result of appending a CC-05 payload. */
export interface AppendResult {
  readonly id: string;
  readonly created: boolean;
  readonly run_id: string;
}

export interface PayloadWriterDeps {
  readonly db: SqliteDb;
  readonly redactor: Redactor;
  readonly random: Random;
  readonly times: RowTimes;
  readonly transaction: <T>(fn: () => T) => T;
  /** The payload's node snapshot and decisions are stored through these, in the payload's transaction. */
  readonly rows: Pick<RowWriters, 'recordSnapshot' | 'recordDecision'>;
}

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
 * Stores CC-05 payloads (MSO 1.5's `audit_logs` rows, with the snapshot and decisions they carry): validated, redacted,
 * and keyed by the hash of their canonical JSON, so an identical payload returns the stored id.
 */
export function createPayloadWriter({
  db,
  redactor,
  random,
  times,
  transaction,
  rows,
}: PayloadWriterDeps): (payload: unknown, source?: string) => AppendResult {
  const { now, dateOnly, stamp } = times;
  const { recordSnapshot, recordDecision } = rows;
  function appendPayload(raw: unknown, source = 'payload'): AppendResult {
    const p: AuditPayload = redactor.value(parseArtifact(AuditPayloadSchema, raw, source));
    const hash = sha256Hex(canonical(p));
    return transaction(() => {
      const existing = db.prepare('SELECT id FROM audit_logs WHERE payload_hash = ?').get(hash) as
        { id: string } | undefined;
      if (existing) return { id: existing.id, created: false, run_id: p.run_id };
      let id = p.task_id ?? `TASK-${stamp()}-${random.id('t').slice(2)}`;
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

  return appendPayload;
}
