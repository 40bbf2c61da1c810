import {
  ManifestIndexRecordSchema,
  PHASE_DIRS,
  RunManifestSchema,
  storageErrorOf,
  InvalidArtifactError,
  RunTransitionError,
  toFieldIssues,
  type ManifestIndexRecord,
  type PhaseDir,
  type PhaseStatus,
  type RunManifest,
  type RunStatus,
  type SkillKey,
} from '../contracts/index.js';
import type { Fs, Redactor } from '../platform/index.js';
import { readJsonArtifact, readTextIfExists } from './atomic.js';

/** Allowed run status changes; a same-status request is a no-op. */
export const RUN_TRANSITIONS: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  created: ['active', 'awaiting_human', 'completed', 'failed', 'cancelled'],
  active: ['awaiting_human', 'completed', 'failed', 'cancelled'],
  awaiting_human: ['active', 'completed', 'failed', 'cancelled'],
  cancelled: ['active', 'failed', 'archived'],
  failed: ['active', 'archived'],
  completed: ['archived'],
  archived: [],
};

/**
 * Statuses that count against `max_active_runs`: runs being executed or waiting for a person. A run only designed
 * (`created`, e.g. by `mso design`) or a dry run (completed) does not hold a slot.
 */
export const LIVE_RUN_STATUSES: readonly RunStatus[] = ['active', 'awaiting_human'];
/** Statuses a run can be archived from. */
export const FINISHED_RUN_STATUSES: readonly RunStatus[] = ['completed', 'failed', 'cancelled'];

/** Throws `RunTransitionError` unless `from → to` is allowed (or a no-op). */
export function assertRunTransition(runId: string, from: RunStatus, to: RunStatus): void {
  if (from !== to && !RUN_TRANSITIONS[from].includes(to)) throw new RunTransitionError(runId, from, to);
}

/** A fresh manifest for a new run. */
export function newManifest(input: {
  readonly runId: string;
  readonly skillKey: SkillKey;
  readonly at: string;
  readonly observerLink: string;
  readonly tags?: readonly string[];
  readonly goal?: string;
  readonly parentRunId?: string | null;
}): RunManifest {
  const phases = Object.fromEntries(PHASE_DIRS.map((dir) => [dir, { status: 'pending' as PhaseStatus }])) as RunManifest['phases'];
  return {
    schema_version: '1.0.0',
    run_id: input.runId,
    skill_key: input.skillKey,
    status: 'created',
    created_at: input.at,
    updated_at: input.at,
    completed_at: null,
    phases,
    observer_links: [input.observerLink],
    parent_run_id: input.parentRunId ?? null,
    tags: [...(input.tags ?? [])],
    error: null,
    archive_path: null,
    ...(input.goal === undefined ? {} : { goal: input.goal }),
  };
}

/** Reads and validates a manifest. */
export async function loadManifest(fs: Pick<Fs, 'readFile'>, file: string): Promise<RunManifest> {
  return readJsonArtifact(fs, file, RunManifestSchema, 'manifest');
}

/**
 * Sets a phase status; a failed phase fails the run. A phase never makes a run live: designing, the gate, a ticket
 * or a look at the run leave a `created` run as it is, and only its coordinator starting (`setStatus` to `active`,
 * which takes a max_active_runs slot) does.
 */
export function withPhase(m: RunManifest, phase: PhaseDir, status: PhaseStatus, at: string): RunManifest {
  const phases = { ...m.phases, [phase]: { status, updated_at: at } };
  let runStatus = m.status;
  if (status === 'failed' && RUN_TRANSITIONS[m.status].includes('failed')) runStatus = 'failed';
  return {
    ...m,
    phases,
    status: runStatus,
    updated_at: at,
    completed_at: runStatus === 'failed' ? (m.completed_at ?? at) : m.completed_at,
    // A run failed by its phase says so, until the caller records the precise reason.
    error:
      runStatus === 'failed' && m.status !== 'failed'
        ? (m.error ?? { message: `phase ${phase} failed`, phase, timestamp: at })
        : m.error,
  };
}

/** The index record that mirrors a manifest's current state. */
export function toIndexRecord(m: RunManifest, at: string): ManifestIndexRecord {
  return {
    run_id: m.run_id,
    skill_key: m.skill_key,
    status: m.status,
    created_at: m.created_at,
    completed_at: m.completed_at,
    tags: [...m.tags],
    archive_path: m.archive_path,
    recorded_at: at,
  };
}

/** Appends one index record as a single line (O_APPEND, so concurrent appends never interleave). */
export async function appendIndexRecord(
  fs: Fs,
  file: string,
  record: ManifestIndexRecord,
  redactor?: Redactor,
): Promise<void> {
  await fs.appendFile(file, `${redactor ? redactor.json(record) : JSON.stringify(record)}\n`, 'utf8').catch((e: unknown) => {
    throw storageErrorOf(e, file) ?? e;
  });
}

/** The latest record per run id, in first-seen order; a malformed line is reported with its line number. */
export async function readIndex(fs: Fs, file: string): Promise<ManifestIndexRecord[]> {
  const text = await readTextIfExists(fs, file);
  if (!text) return [];
  const latest = new Map<string, ManifestIndexRecord>();
  const lines = text.split('\n');
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (e) {
      throw new InvalidArtifactError(file, [{ path: `line ${i + 1}`, message: `not valid JSON: ${(e as Error).message}` }]);
    }
    const parsed = ManifestIndexRecordSchema.safeParse(raw);
    if (!parsed.success) {
      throw new InvalidArtifactError(
        file,
        toFieldIssues(parsed.error, raw).map((issue) => ({ path: `line ${i + 1}.${issue.path}`, message: issue.message })),
      );
    }
    latest.set(parsed.data.run_id, parsed.data);
  }
  return [...latest.values()];
}
