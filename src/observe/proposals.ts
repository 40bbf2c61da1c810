import { join } from 'node:path';
import { CHECKPOINT_ID_PATTERN, InvalidArgumentError, NotFoundError, RunTransitionError } from '../contracts/index.js';
import type { AuditLog } from '../audit/index.js';
import type { Clock } from '../platform/index.js';
import { parseJsonText, readTextIfExists, withLock, writeJsonAtomic, type AtomicDeps } from '../workspace/index.js';
import type { Finding, ProposalDraft } from './detectors.js';
import { assertPatch } from './json-patch.js';

/** An improvement proposal: a reviewable change to a design artifact or to policy.yaml, backed by audit rows. */
export interface Proposal extends ProposalDraft {
  readonly id: string;
  readonly run_id: string;
  readonly created_at: string;
  readonly pattern: string;
  readonly finding: {
    readonly kind: string;
    readonly severity: string;
    readonly message: string;
    readonly evidence: readonly string[];
  };
  /** Topology rewrites need a person's H2 approval; accepting such a proposal is that approval. */
  readonly gate: 'H2' | null;
  readonly status: 'pending' | 'accepted' | 'rejected';
  readonly decided_at: string | null;
  readonly decided_by: string | null;
  readonly reason: string | null;
  readonly suggestion_id: number;
  readonly applied_to: readonly string[];
}

export interface ProposalDeps extends AtomicDeps {
  readonly clock: Clock;
}

/** Proposals of a workspace, one JSON file each under `.mso-context/proposals/`. */
export interface ProposalStore {
  /** Stores proposals for findings, unless the pattern is already proposed or was rejected too often. */
  propose(
    runId: string,
    findings: readonly Finding[],
    checkpoint: () => Promise<string>,
    limit: number,
  ): Promise<Proposal[]>;
  list(status?: Proposal['status']): Promise<Proposal[]>;
  get(id: string): Promise<Proposal>;
  decide(id: string, decision: 'accepted' | 'rejected', by: string, reason: string | null): Promise<Proposal>;
  markApplied(id: string, runId: string): Promise<void>;
}

export function createProposalStore(
  deps: ProposalDeps,
  dir: string,
  lockFile: string,
  log: () => AuditLog,
): ProposalStore {
  // An id is a name in the proposals folder, never a path (`../x` would read and decide a file outside it).
  const fileOf = (id: string): string => {
    if (!CHECKPOINT_ID_PATTERN.test(id))
      throw new InvalidArgumentError(
        'proposal',
        `${JSON.stringify(id)} is not a proposal id: they look like IP-20261128-001 (mso proposals list shows them)`,
      );
    return join(dir, `${id}.json`);
  };
  const read = async (id: string): Promise<Proposal> => {
    const text = await readTextIfExists(deps.fs, fileOf(id));
    if (text === undefined) throw new NotFoundError('proposal', id);
    const p = parseJsonText(text, fileOf(id)) as Proposal;
    assertPatch(p.patch);
    return p;
  };
  const store: ProposalStore = {
    async propose(runId, findings, checkpoint, limit) {
      return withLock(deps, lockFile, async () => {
        const existing = await store.list();
        const out: Proposal[] = [];
        const db = log();
        for (const f of findings) {
          if (!f.proposal) continue;
          if (existing.some((p) => p.pattern === f.pattern && p.status !== 'rejected')) continue;
          const weight = (
            db.db
              .prepare(
                "SELECT COALESCE(SUM(rejected_weight), 0) AS w FROM suggestion_history WHERE json_extract(source_files, '$.pattern') = ?",
              )
              .get(f.pattern) as { w: number }
          ).w;
          if (weight >= limit) continue;
          const id = await checkpoint();
          const info = db.db
            .prepare(
              'INSERT INTO suggestion_history (suggestion_type, source_work_type, source_files, suggestion_text, accepted, rejected_weight, created_at) VALUES (?, ?, ?, ?, 0, 0, ?)',
            )
            .run(
              f.proposal.target === 'policy' ? 'policy_change' : 'improvement',
              'execution',
              JSON.stringify({ pattern: f.pattern, proposal: id, evidence: f.evidence }),
              f.proposal.summary,
              deps.clock.now().toISOString(),
            );
          const p: Proposal = {
            ...f.proposal,
            id,
            run_id: runId,
            created_at: deps.clock.now().toISOString(),
            pattern: f.pattern,
            finding: { kind: f.kind, severity: f.severity, message: f.message, evidence: f.evidence },
            gate: f.proposal.target === 'topology' ? 'H2' : null,
            status: 'pending',
            decided_at: null,
            decided_by: null,
            reason: null,
            suggestion_id: Number(info.lastInsertRowid),
            applied_to: [],
          };
          await writeJsonAtomic(deps, fileOf(id), p);
          out.push(p);
        }
        return out;
      });
    },
    async list(status) {
      // Only files named as proposals are read: another file left in the folder (`x copy.json`) is not one.
      const ids = (await deps.fs.readdir(dir).catch(() => [] as string[]))
        .filter((n) => n.endsWith('.json'))
        .map((n) => n.slice(0, -'.json'.length))
        .filter((id) => CHECKPOINT_ID_PATTERN.test(id))
        .sort();
      const all = await Promise.all(ids.map(read));
      return status ? all.filter((p) => p.status === status) : all;
    },
    get: read,
    async decide(id, decision, by, reason) {
      return withLock(deps, lockFile, async () => {
        const p = await read(id);
        if (p.status !== 'pending') {
          if (p.status === decision) return p;
          throw new RunTransitionError(id, p.status, decision);
        }
        const next: Proposal = {
          ...p,
          status: decision,
          decided_at: deps.clock.now().toISOString(),
          decided_by: by,
          reason,
        };
        const db = log();
        if (decision === 'accepted')
          db.db.prepare('UPDATE suggestion_history SET accepted = 1 WHERE id = ?').run(p.suggestion_id);
        else
          db.db
            .prepare('UPDATE suggestion_history SET rejected_weight = rejected_weight + 1.0 WHERE id = ?')
            .run(p.suggestion_id);
        await writeJsonAtomic(deps, fileOf(id), next);
        return next;
      });
    },
    async markApplied(id, runId) {
      await withLock(deps, lockFile, async () => {
        const p = await read(id);
        if (!p.applied_to.includes(runId))
          await writeJsonAtomic(deps, fileOf(id), { ...p, applied_to: [...p.applied_to, runId] });
      });
    },
  };
  return store;
}
