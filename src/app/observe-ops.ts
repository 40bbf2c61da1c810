import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { openAuditLog, openAuditReader, type AuditLog } from '../audit/index.js';
import {
  ExecutionPlanSchema,
  InvalidArgumentError,
  MentalModelBundleSchema,
  PolicySchema,
  WorkflowTopologySpecSchema,
  parseArtifact,
  type ObservabilityCallback,
} from '../contracts/index.js';
import {
  applyPatch,
  createProposalStore,
  detect,
  toCallbacks,
  type Finding,
  type PatchOp,
  type Proposal,
  type ProposalStore,
} from '../observe/index.js';
import {
  allWritten,
  createHitlStore,
  readTextIfExists,
  withLock,
  writeFileAtomic,
  writeJsonAtomic,
  type RunRef,
  type Workspace,
} from '../workspace/index.js';
import { heldOrOpened, withAuditReader } from './audit-ops.js';
import type { AppDeps } from './create-app.js';
import { ARTIFACT_PATHS, readDesign, readRunArtifact } from './run-artifacts.js';
import { isDesignProposal, patchYamlDocument, proposalArtifactPath } from './patch-targets.js';
import { auditOptions, auditReaderOptions } from './settings.js';

export interface ObserveResult {
  readonly run_id: string;
  readonly mode: string;
  readonly findings: readonly Finding[];
  readonly proposals: readonly Proposal[];
  readonly events: readonly ObservabilityCallback[];
  readonly written: readonly string[];
}

export interface ObserveOps {
  observe(input: {
    runId?: string | undefined;
    all?: boolean | undefined;
    mode?: 'scheduled' | 'event' | 'on_demand' | 'batch' | undefined;
    since?: string | undefined;
    dryRun?: boolean | undefined;
    /** An open audit log to write through, which the caller closes (one run only; else one is opened here). */
    log?: AuditLog | undefined;
  }): Promise<ObserveResult[]>;
  proposals: {
    list(status?: Proposal['status']): Promise<Proposal[]>;
    show(id: string): Promise<Proposal>;
    accept(id: string): Promise<{ proposal: Proposal; applied: string | null }>;
    reject(id: string, reason?: string): Promise<Proposal>;
  };
  portfolio(): Promise<
    Array<{
      run_id: string;
      status: string;
      tickets: Record<string, number>;
      cost_usd: number;
      failures: number;
      pending_proposals: number;
      pending_human: number;
    }>
  >;
  /** Applies the accepted design proposals of this run's goal or workflow to its artifacts (before the gate). */
  applyAccepted(runId: string): Promise<{ applied: string[]; skipped: Array<{ id: string; reason: string }> }>;
}

/** sha256 of a goal or workflow text: runs of "the same goal or workflow" share it. */
export const designKeyOf = (text: string): string => createHash('sha256').update(text.trim(), 'utf8').digest('hex');

export function createObserveOps(deps: AppDeps, open: (create?: boolean) => Promise<Workspace>): ObserveOps {
  const now = (): Date => deps.clock.now();
  /** The proposal store, its audit log opened when first needed (`held`: one the caller keeps open and closes). */
  const storeOf = (ws: Workspace, held?: AuditLog): { store: ProposalStore; close(): void } => {
    let log: AuditLog | null = null;
    const get = (): AuditLog => held ?? (log ??= openAuditLog(deps, auditOptions(ws, deps)));
    return {
      store: createProposalStore(deps, join(ws.layout.context, 'proposals'), ws.layout.lockFile('proposals'), get),
      close: () => log?.close(),
    };
  };
  const checkpointer =
    (ws: Workspace) =>
    (prefix: 'HC' | 'AS' | 'IP'): Promise<string> =>
      withLock(deps, ws.layout.lockFile('checkpoints'), async () => {
        const file = join(ws.layout.registryDir, 'checkpoints.json');
        const counters = JSON.parse((await readTextIfExists(deps.fs, file)) ?? '{}') as Record<string, number>;
        const day = now().toISOString().slice(0, 10).replaceAll('-', '');
        const key = `${prefix}-${day}`;
        counters[key] = (counters[key] ?? 0) + 1;
        await writeJsonAtomic(deps, file, counters);
        return `${key}-${String(counters[key]).padStart(3, '0')}`;
      });

  async function observeRun(
    ws: Workspace,
    ref: RunRef,
    mode: string,
    dryRun: boolean,
    held?: AuditLog,
  ): Promise<ObserveResult> {
    // Opened for writing first, so the file exists and is migrated; detectors then read through a query-only handle.
    // The proposals and the closing event are written through it.
    const { log, release } = heldOrOpened(deps, ws, held);
    try {
      return await observeWith(ws, ref, mode, dryRun, log);
    } finally {
      release();
    }
  }

  async function observeWith(
    ws: Workspace,
    ref: RunRef,
    mode: string,
    dryRun: boolean,
    log: AuditLog,
  ): Promise<ObserveResult> {
    const reader = openAuditReader(deps, ws.layout.auditDb, auditReaderOptions(ws, deps));
    const { plan, bundle, topology } = await readDesign(deps, ref.dir);
    const hitl = await createHitlStore(deps, ref.dir, (n) => ws.layout.lockFile(n)).list();
    let findings: Finding[];
    try {
      findings = detect({
        db: reader.raw,
        runId: ref.runId,
        plan,
        bundle,
        policy: ws.policy,
        now: now(),
        hitl,
        runError: ref.manifest.error
          ? { message: ref.manifest.error.message, reason: ref.manifest.error.reason }
          : null,
        designKey: (topology?.metadata?.['design_key'] as string | undefined) ?? null,
      });
    } finally {
      await reader.close();
    }
    if (mode === 'batch') findings = findings.filter((f) => f.kind !== 'bottleneck');
    const at = now().toISOString();
    const artifactUri = join(ref.dir, ARTIFACT_PATHS.plan);
    if (dryRun) return { run_id: ref.runId, mode, findings, proposals: [], events: [], written: [] };
    const { store, close } = storeOf(ws, log);
    try {
      const proposals = await store.propose(
        ref.runId,
        findings,
        () => checkpointer(ws)('IP'),
        ws.policy.observability.rejected_weight_limit,
      );
      const counts = findings.reduce<Record<string, number>>((m, f) => ((m[f.kind] = (m[f.kind] ?? 0) + 1), m), {});
      const events = await toCallbacks({
        runId: ref.runId,
        artifactUri,
        findings,
        proposals,
        at,
        checkpoint: checkpointer(ws),
        summary: `observability (${mode}): ${findings.length} findings, run ${ref.manifest.status}`,
      });
      const stamp = at.replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
      const dir = join(ref.dir, '60_observability');
      const files: Array<{ path: string; value: unknown }> = [
        {
          path: join(dir, `callbacks-${stamp}.json`),
          value: { run_id: ref.runId, mode, generated_at: at, counts, events },
        },
        ...events.map((e, i) => ({
          path: join(dir, `callback-${stamp}-${String(i + 1).padStart(2, '0')}.json`),
          value: e,
        })),
      ];
      const written = files.map((f) => f.path);
      const review = [
        `# Observability review: ${ref.runId}`,
        '',
        `Mode ${mode}, ${at}. ${findings.length} finding(s), ${proposals.length} new proposal(s).`,
        '',
        ...findings.map(
          (f) =>
            `- **${f.severity}** ${f.kind}: ${f.message} (evidence: ${f.evidence.slice(0, 5).join(', ')}${f.evidence.length > 5 ? ', …' : ''})`,
        ),
        ...(proposals.length
          ? [
              '',
              '## Proposals',
              ...proposals.map(
                (p) =>
                  `- ${p.id} (${p.target}): ${p.summary}. Expected: ${p.expected_effect}. Rollback: ${p.rollback_rule}. \`mso proposals accept ${p.id}\``,
              ),
            ]
          : []),
        '',
      ].join('\n');
      // Separate files, each written whole on its own: side by side.
      await allWritten([
        ...files.map((f) => writeJsonAtomic(deps, f.path, f.value)),
        writeFileAtomic(deps, join(ref.dir, ARTIFACT_PATHS.governance, 'observability_review.md'), review),
      ]);
      log.appendEvent({
        runId: ref.runId,
        type: 'observe.completed',
        payload: {
          mode,
          counts,
          proposals: proposals.map((p) => p.id),
          checkpoints: events.map((e) => e.checkpoint_id),
        },
      });
      await ws.runs.setPhase(ref.runId, '60_observability', 'completed').catch(() => undefined);
      await ws.sync(ref.runId);
      return { run_id: ref.runId, mode, findings, proposals, events, written };
    } finally {
      close();
    }
  }

  /** Applies a policy patch to policy.yaml, keeping the user's comments: each op becomes a setIn/deleteIn. */
  async function patchPolicy(ws: Workspace, ops: readonly PatchOp[]): Promise<void> {
    await withLock(deps, ws.layout.lockFile('policy'), async () => {
      const text = (await readTextIfExists(deps.fs, ws.layout.policyFile)) ?? '';
      const doc = parseDocument(text);
      const current = PolicySchema.parse(doc.toJS() ?? {});
      const patched = applyPatch(current, ops);
      if (!patched.ok) throw new InvalidArgumentError('patch', patched.reason);
      parseArtifact(PolicySchema, patched.doc, ws.layout.policyFile);
      patchYamlDocument(doc, ops);
      await writeFileAtomic(deps, ws.layout.policyFile, doc.toString(), { verbatim: true });
    });
  }

  const ops: ObserveOps = {
    async observe(input) {
      if (input.since !== undefined && Number.isNaN(Date.parse(input.since)))
        throw new InvalidArgumentError('--since', `${input.since} is not a date`);
      if ((input.runId === undefined) === !input.all)
        throw new InvalidArgumentError('run', 'give --run-id ID or --all');
      const ws = await open(true);
      const mode = input.mode ?? 'on_demand';
      const refs: RunRef[] = [];
      if (input.runId) refs.push(await ws.runs.get(input.runId));
      else {
        for (const r of await ws.runs.list()) {
          if (r.status === 'archived') continue;
          if (input.since && Date.parse(r.created_at) < Date.parse(input.since)) continue;
          refs.push(await ws.runs.get(r.run_id));
        }
      }
      const out: ObserveResult[] = [];
      const held = input.runId !== undefined ? input.log : undefined;
      for (const ref of refs) out.push(await observeRun(ws, ref, mode, input.dryRun === true, held));
      return out;
    },
    proposals: {
      async list(status) {
        const ws = await open(true);
        const { store, close } = storeOf(ws);
        try {
          return await store.list(status);
        } finally {
          close();
        }
      },
      async show(id) {
        const ws = await open(true);
        const { store, close } = storeOf(ws);
        try {
          return await store.get(id);
        } finally {
          close();
        }
      },
      async accept(id) {
        const ws = await open(true);
        const { store, close } = storeOf(ws);
        try {
          const before = await store.get(id);
          // Check that a policy patch applies before recording the acceptance.
          if (before.status === 'pending' && before.target === 'policy') await patchPolicy(ws, before.patch);
          const p = await store.decide(
            id,
            'accepted',
            ws.layout.observerId,
            before.gate ? 'H2 approval of a topology rewrite' : null,
          );
          const log = openAuditLog(deps, auditOptions(ws, deps));
          try {
            log.appendEvent({
              runId: p.run_id,
              type: 'proposal.accepted',
              payload: { proposal: id, target: p.target, by: p.decided_by, gate: p.gate },
            });
          } finally {
            log.close();
          }
          return { proposal: p, applied: p.target === 'policy' ? ws.layout.policyFile : null };
        } finally {
          close();
        }
      },
      async reject(id, reason) {
        const ws = await open(true);
        const { store, close } = storeOf(ws);
        try {
          const p = await store.decide(id, 'rejected', ws.layout.observerId, reason ?? null);
          const log = openAuditLog(deps, auditOptions(ws, deps));
          try {
            log.appendEvent({
              runId: p.run_id,
              type: 'proposal.rejected',
              payload: { proposal: id, reason: reason ?? null },
            });
          } finally {
            log.close();
          }
          return p;
        } finally {
          close();
        }
      },
    },
    async portfolio() {
      const ws = await open(false);
      const { store, close } = storeOf(ws);
      try {
        const proposals = await store.list('pending');
        // Read-only: the portfolio answers from an audit database (or folder) it cannot write.
        return await withAuditReader(deps, ws, async (reader) => {
          const log = { db: reader.raw };
          const out = [];
          for (const r of await ws.runs.list()) {
            const ref = await ws.runs.get(r.run_id).catch(() => null);
            const tickets: Record<string, number> = {};
            if (ref) {
              const dir = join(ref.dir, ARTIFACT_PATHS.tickets);
              for (const n of await deps.fs.readdir(dir).catch(() => [] as string[])) {
                const status = /\nstatus: (\w+)/.exec((await readTextIfExists(deps.fs, join(dir, n))) ?? '')?.[1];
                if (status && n.endsWith('.md')) tickets[status] = (tickets[status] ?? 0) + 1;
              }
            }
            const row = log.db
              .prepare(
                "SELECT COALESCE(SUM(cost_usd), 0) AS c, SUM(CASE WHEN status IN ('failure', 'timeout', 'blocked') THEN 1 ELSE 0 END) AS f FROM attempts WHERE run_id = ?",
              )
              .get(r.run_id) as { c: number; f: number | null };
            const hitl = ref
              ? (await createHitlStore(deps, ref.dir, (n) => ws.layout.lockFile(n)).list()).filter(
                  (h) => h.status === 'pending',
                ).length
              : 0;
            out.push({
              run_id: r.run_id,
              status: r.status,
              tickets,
              cost_usd: Math.round(row.c * 1e6) / 1e6,
              failures: row.f ?? 0,
              pending_proposals: proposals.filter((p) => p.run_id === r.run_id).length,
              pending_human: hitl,
            });
          }
          return out;
        });
      } finally {
        close();
      }
    },
    async applyAccepted(runId) {
      const ws = await open(true);
      const ref = await ws.runs.get(runId);
      const topology = await readRunArtifact(deps, ref.dir, 'topology');
      const key = topology.metadata?.['design_key'] as string | undefined;
      const { store, close } = storeOf(ws);
      const applied: string[] = [];
      const skipped: Array<{ id: string; reason: string }> = [];
      try {
        if (!key) return { applied, skipped };
        const order = { topology: 0, mental_model: 1, plan: 2, policy: 3 } as const;
        const accepted = (await store.list('accepted'))
          .filter(isDesignProposal)
          .filter((p) => p.scope.design_key === key)
          .sort((a, b) => order[a.target] - order[b.target] || a.id.localeCompare(b.id));
        for (const p of accepted) {
          const file = join(ref.dir, proposalArtifactPath(p.target));
          const schema =
            p.target === 'topology'
              ? WorkflowTopologySpecSchema
              : p.target === 'mental_model'
                ? MentalModelBundleSchema
                : ExecutionPlanSchema;
          const current = JSON.parse((await readTextIfExists(deps.fs, file)) ?? 'null') as unknown;
          const r = applyPatch(current, p.patch);
          if (!r.ok) {
            skipped.push({ id: p.id, reason: r.reason });
            continue;
          }
          const valid = schema.safeParse(r.doc);
          if (!valid.success) {
            skipped.push({
              id: p.id,
              reason: `the patched ${p.target} is invalid: ${valid.error.issues[0]?.message ?? ''}`,
            });
            continue;
          }
          await writeJsonAtomic(deps, file, r.doc);
          await store.markApplied(p.id, runId);
          applied.push(p.id);
        }
        if (applied.length || skipped.length) {
          await writeJsonAtomic(
            deps,
            join(ref.dir, ARTIFACT_PATHS.plan.replace('execution_plan.json', 'applied_proposals.json')),
            { run_id: runId, applied, skipped },
          );
          const log = openAuditLog(deps, auditOptions(ws, deps));
          try {
            log.appendEvent({ runId, type: 'design.proposals_applied', payload: { applied, skipped } });
          } finally {
            log.close();
          }
        }
        return { applied, skipped };
      } finally {
        close();
      }
    },
  };
  return ops;
}
