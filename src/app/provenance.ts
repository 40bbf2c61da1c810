import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { AuditLog } from '../audit/index.js';
import { NotFoundError } from '../contracts/index.js';
import type { RunRef, Workspace } from '../workspace/index.js';
import type { AppDeps } from './create-app.js';
import { ARTIFACT_PATHS } from './run-artifacts.js';

/** Environment variables whose values shape a run without being secret; only these enter the fingerprint. */
const ENV_FINGERPRINT_KEYS = ['LANG', 'LC_ALL', 'TZ', 'CI', 'SHELL', 'MSO_CIRCUIT_FAILURE_THRESHOLD'] as const;

/** What is needed to reproduce a run: the hashes of its inputs, versions, base commit and environment. */
export interface Provenance {
  readonly mso_version: string;
  readonly recorded_at: string;
  readonly hashes: { topology: string | null; bundle: string | null; plan: string | null; policy: string | null };
  readonly repo: string;
  readonly base_sha: string;
  readonly agents: Record<string, { kind: string; command: string | null; model: string | null }>;
  readonly runtime: { node: string; platform: string; arch: string };
  readonly env: { keys: string[]; sha256: string };
  /** mso draws ids and backoff jitter from the OS CSPRNG; nothing in a run's outcome depends on them, so no seed. */
  readonly random_seed: null;
}

const sha = (bytes: Buffer | undefined): string | null =>
  bytes ? createHash('sha256').update(bytes).digest('hex') : null;

/** The current hashes of a run's design artifacts and of the workspace policy. */
export async function currentHashes(deps: AppDeps, ws: Workspace, dir: string): Promise<Provenance['hashes']> {
  const read = (f: string): Promise<Buffer | undefined> => deps.fs.readFile(f).catch(() => undefined);
  return {
    topology: sha(await read(join(dir, ARTIFACT_PATHS.topology))),
    bundle: sha(await read(join(dir, ARTIFACT_PATHS.bundle))),
    plan: sha(await read(join(dir, ARTIFACT_PATHS.plan))),
    policy: sha(await read(ws.layout.policyFile)),
  };
}

/** Records the run's provenance once, when its first coordinator starts (a resume keeps the original). */
export async function recordProvenance(
  deps: AppDeps,
  ws: Workspace,
  ref: RunRef,
  log: AuditLog,
  at: { repo: string; baseSha: string },
): Promise<void> {
  if (readProvenance(log, ref.runId)) return;
  const present = ENV_FINGERPRINT_KEYS.filter((k) => deps.env[k] !== undefined);
  const p: Provenance = {
    mso_version: deps.version,
    recorded_at: deps.clock.now().toISOString(),
    hashes: await currentHashes(deps, ws, ref.dir),
    repo: at.repo,
    base_sha: at.baseSha,
    agents: Object.fromEntries(
      Object.entries(ws.policy.agents).map(([name, a]) => [
        name,
        { kind: a.kind, command: a.command ?? null, model: a.model ?? null },
      ]),
    ),
    runtime: { ...deps.processInfo.runtime },
    env: {
      keys: present,
      sha256: createHash('sha256')
        .update(present.map((k) => `${k}=${deps.env[k] ?? ''}`).join('\n'))
        .digest('hex'),
    },
    random_seed: null,
  };
  log.appendEvent({ runId: ref.runId, type: 'run.provenance', payload: p as unknown as Record<string, unknown> });
}

export function readProvenance(log: Pick<AuditLog, 'db'>, runId: string): Provenance | null {
  const row = log.db
    .prepare("SELECT payload FROM events WHERE run_id = ? AND type = 'run.provenance' ORDER BY seq LIMIT 1")
    .get(runId) as { payload: string } | undefined;
  return row ? (JSON.parse(row.payload) as Provenance) : null;
}

/** What a run's agent calls reported: each agent's model and, for coding-agent CLIs, the CLI's version. */
export interface ProvenanceUsed {
  readonly models_used: Array<{ agent: string; model: string | null; calls: number }>;
  readonly cli_versions: Array<{ agent: string; version: string; calls: number }>;
}

/** The provenance of a run with the models and CLI versions its agent calls actually reported, or NotFound. */
export function provenanceOf(log: Pick<AuditLog, 'db'>, runId: string): Provenance & ProvenanceUsed {
  const p = readProvenance(log, runId);
  if (!p) throw new NotFoundError('provenance of run', runId);
  return { ...p, ...provenanceUsed(log, runId) };
}

/** The models and CLI versions a run's agent calls reported. */
export function provenanceUsed(log: Pick<AuditLog, 'db'>, runId: string): ProvenanceUsed {
  const models = log.db
    .prepare(
      'SELECT agent, model, count(*) AS calls FROM attempts WHERE run_id = ? AND agent IS NOT NULL GROUP BY agent, model ORDER BY agent',
    )
    .all(runId) as ProvenanceUsed['models_used'];
  const versions = log.db
    .prepare(
      `SELECT agent, json_extract(evidence, '$.cliVersion') AS version, count(*) AS calls FROM attempts
       WHERE run_id = ? AND agent IS NOT NULL AND json_extract(evidence, '$.cliVersion') IS NOT NULL
       GROUP BY agent, version ORDER BY agent, version`,
    )
    .all(runId) as ProvenanceUsed['cli_versions'];
  return { models_used: models, cli_versions: versions };
}
