import { join } from 'node:path';
import {
  InvalidArgumentError,
  MaxActiveRunsError,
  RunExistsError,
  RunNotFoundError,
  PHASE_DIRS,
  type ManifestIndexRecord,
  type PhaseDir,
  type PhaseStatus,
  type Policy,
  type RunManifest,
  type RunStatus,
  type SkillKey,
} from '../contracts/index.js';
import type { Clock } from '../platform/index.js';
import { isNotFound, smallFsOf, writeJsonAtomic, type AtomicDeps } from './atomic.js';
import type { WorkspaceLayout } from './layout.js';
import { withLock } from './lock.js';
import {
  FINISHED_RUN_STATUSES,
  LIVE_RUN_STATUSES,
  appendIndexRecord,
  assertRunTransition,
  loadManifest,
  newManifest,
  readIndex,
  toIndexRecord,
  withPhase,
} from './manifest.js';
import { formatRunId, parseRunId, withSuffix } from './run-id.js';

export interface RunsDeps extends AtomicDeps {
  readonly clock: Clock;
}

/** How a new run gets its id: explicit, or from a skill key and case slug (suffixed `-2`, `-3`... when taken). */
export type RunIdRequest =
  | { readonly runId: string }
  | { readonly skillKey: SkillKey; readonly caseSlug: string };

export interface CreateRunInput {
  readonly id: RunIdRequest;
  readonly goal?: string;
  readonly tags?: readonly string[];
  readonly parentRunId?: string | null;
  /**
   * The run executes right after it is made (`mso run`, a replay): refused when max_active_runs runs are live, so a run
   * that could not start is never made. A run only designed takes no slot and is not refused here; the limit is
   * checked when it goes live (`mso resume`).
   */
  readonly live?: boolean;
}

/** A run located on disk. */
export interface RunRef {
  readonly runId: string;
  readonly dir: string;
  readonly manifest: RunManifest;
}

/** Run lifecycle over one workspace: create, find, change status, archive. Every change is locked and atomic. */
export interface RunStore {
  create(input: CreateRunInput): Promise<RunRef>;
  get(runId: string): Promise<RunRef>;
  /** Latest index state per run, optionally filtered by status. */
  list(status?: RunStatus): Promise<ManifestIndexRecord[]>;
  /** Read-modify-write of a manifest under the run's lock; writes the index line when the status changed. */
  update(runId: string, change: (m: RunManifest, at: string) => RunManifest): Promise<RunRef>;
  /** `extra.phases` are set first, in the same write of the manifest (a run's end changes both). */
  setStatus(
    runId: string,
    status: RunStatus,
    extra?: {
      readonly error?: { message: string; phase: string; reason?: string } | null;
      /** A completed run's word beside its status (the manifest's `note`); a run going again carries none. */
      readonly note?: string;
      readonly tags?: readonly string[];
      readonly phases?: ReadonlyArray<readonly [PhaseDir, PhaseStatus]>;
    },
  ): Promise<RunRef>;
  setPhase(runId: string, phase: PhaseDir, status: PhaseStatus): Promise<RunRef>;
  archive(runId: string): Promise<RunRef>;
  /** Archives every finished run older than `auto_archive_after_days`. */
  archiveDue(): Promise<RunRef[]>;
}

/**
 * The error a run carries in a status: a failed or cancelled run always says why; a run going again (or completed)
 * carries no old reason; a waiting or created run keeps what it had unless given a new one.
 */
function runError(
  status: RunStatus,
  current: RunManifest['error'],
  given: { message: string; phase: string; reason?: string } | null | undefined,
  at: string,
): RunManifest['error'] {
  const stamped = given ? { ...given, timestamp: at } : null;
  if (status === 'failed' || status === 'cancelled')
    return stamped ?? current ?? { message: status === 'failed' ? 'run failed' : 'cancelled', phase: 'unknown', timestamp: at };
  if (status === 'completed' || status === 'active') return null;
  return stamped ?? current;
}

/** The run store of a workspace. `observerLink(runId)` is where the run appears in the observation space. */
export function createRunStore(deps: RunsDeps, layout: WorkspaceLayout, policy: Policy, observerLink: (runId: string) => string): RunStore {
  const { fs } = deps;
  const now = (): string => deps.clock.now().toISOString();

  async function locate(runId: string): Promise<string> {
    parseRunId(runId);
    const active = layout.runDir(runId);
    // Every read of a run looks here first: one stat, on the calling thread when the platform can.
    if (await smallFsOf(deps).stat(join(active, 'manifest.json')).catch(() => undefined)) return active;
    const months = await fs.readdir(layout.archiveDir).catch(() => [] as string[]);
    for (const month of months.sort().reverse()) {
      const dir = join(layout.archiveDir, month, runId);
      if (await fs.stat(join(dir, 'manifest.json')).catch(() => undefined)) return dir;
    }
    throw new RunNotFoundError(runId);
  }

  async function get(runId: string): Promise<RunRef> {
    const dir = await locate(runId);
    return { runId, dir, manifest: await loadManifest(smallFsOf(deps), join(dir, 'manifest.json')) };
  }

  async function countLive(): Promise<number> {
    const ids = await fs.readdir(layout.activeDir).catch(() => [] as string[]);
    let live = 0;
    for (const id of ids) {
      const file = join(layout.activeDir, id, 'manifest.json');
      try {
        if (LIVE_RUN_STATUSES.includes((await loadManifest(smallFsOf(deps), file)).status)) live++;
      } catch (e) {
        // A folder whose manifest is still being written by its creator holds the registry lock, so it is not here;
        // anything else without a manifest is not a run.
        if ((e as { code?: string }).code !== 'MSO_NOT_FOUND') throw e;
      }
    }
    return live;
  }

  async function claimDir(runId: string): Promise<boolean> {
    try {
      await fs.mkdir(layout.runDir(runId));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
  }

  async function create(input: CreateRunInput): Promise<RunRef> {
    if (input.parentRunId) parseRunId(input.parentRunId);
    await fs.mkdir(layout.activeDir, { recursive: true });
    const ref = await withLock(deps, layout.lockFile('registry'), async () => {
      if (input.live) {
        const live = await countLive();
        const limit = policy.run_policy.max_active_runs;
        if (live >= limit) throw new MaxActiveRunsError(live, limit);
      }
      const known = new Set((await readIndex(fs, layout.indexFile)).map((r) => r.run_id));
      let runId: string;
      if ('runId' in input.id) {
        runId = parseRunId(input.id.runId).runId;
        if (known.has(runId) || !(await claimDir(runId))) throw new RunExistsError(runId);
      } else {
        const at = deps.clock.now();
        const { skillKey, caseSlug } = input.id;
        let n = 1;
        runId = formatRunId(at, skillKey, caseSlug);
        parseRunId(runId);
        while (known.has(runId) || !(await claimDir(runId))) {
          n++;
          if (n > 9999) throw new InvalidArgumentError('case slug', `too many runs named ${caseSlug} today`);
          runId = withSuffix(at, skillKey, caseSlug, n);
        }
      }
      const dir = layout.runDir(runId);
      // Ten empty folders: on the calling thread when the platform can (a round trip each otherwise).
      const small = smallFsOf(deps);
      for (const sub of [...PHASE_DIRS, 'worktree']) await small.mkdir(join(dir, sub), { recursive: true });
      const at = now();
      const manifest = newManifest({
        runId,
        skillKey: parseRunId(runId).skillKey,
        at,
        observerLink: observerLink(runId),
        ...(input.tags ? { tags: input.tags } : {}),
        ...(input.goal !== undefined ? { goal: input.goal } : {}),
        parentRunId: input.parentRunId ?? null,
      });
      await writeJsonAtomic(deps, join(dir, 'manifest.json'), manifest);
      await appendIndexRecord(fs, layout.indexFile, toIndexRecord(manifest, at), deps.redactor);
      return { runId, dir, manifest };
    });
    return ref;
  }

  async function update(runId: string, change: (m: RunManifest, at: string) => RunManifest): Promise<RunRef> {
    parseRunId(runId);
    return withLock(deps, layout.lockFile(`run-${runId}`), async () => {
      const current = await get(runId);
      const at = now();
      const next = change(current.manifest, at);
      if (next === current.manifest) return current;
      const link = observerLink(runId);
      const manifest = next.observer_links.includes(link) ? next : { ...next, observer_links: [...next.observer_links, link] };
      await writeJsonAtomic(deps, join(current.dir, 'manifest.json'), manifest);
      if (manifest.status !== current.manifest.status || manifest.archive_path !== current.manifest.archive_path) {
        await appendIndexRecord(fs, layout.indexFile, toIndexRecord(manifest, at), deps.redactor);
      }
      return { runId, dir: current.dir, manifest };
    });
  }

  function setStatus(runId: string, status: RunStatus, extra: Parameters<RunStore['setStatus']>[2] = {}): Promise<RunRef> {
    return LIVE_RUN_STATUSES.includes(status) ? goingLive(runId, change) : update(runId, change);

    function change(before: RunManifest, at: string): RunManifest {
      const m = (extra.phases ?? []).reduce((acc, [phase, to]) => withPhase(acc, phase, to, at), before);
      assertRunTransition(runId, m.status, status);
      // The same status again changes nothing, unless it brings tags or the reason (a phase may have failed the run).
      if (m.status === status && extra.tags === undefined && !extra.error) return m;
      const finished = status === 'completed' || status === 'failed';
      const tags = [...new Set([...m.tags, ...(extra.tags ?? [])])];
      // A run going again carries no word of how it last ended.
      const { note: lastNote, ...rest } = m;
      const note = extra.note ?? (status === 'active' ? undefined : lastNote);
      return {
        ...rest,
        status,
        updated_at: at,
        completed_at: finished ? at : status === 'active' ? null : m.completed_at,
        tags,
        error: runError(status, m.error, extra.error, at),
        ...(note !== undefined ? { note } : {}),
      };
    }
  }

  /**
   * `update`, for a status change that makes the run live (its coordinator starts, or resumes it): a run that was not
   * live takes a max_active_runs slot, counted under the registry lock that creation takes, so runs designed side by
   * side cannot all start past the limit.
   */
  function goingLive(runId: string, change: (m: RunManifest, at: string) => RunManifest): Promise<RunRef> {
    return withLock(deps, layout.lockFile('registry'), async () => {
      if (!LIVE_RUN_STATUSES.includes((await get(runId)).manifest.status)) {
        const live = await countLive();
        const limit = policy.run_policy.max_active_runs;
        if (live >= limit) throw new MaxActiveRunsError(live, limit);
      }
      return update(runId, change);
    });
  }

  async function archive(runId: string): Promise<RunRef> {
    return withLock(deps, layout.lockFile(`run-${runId}`), async () => {
      const current = await get(runId);
      assertRunTransition(runId, current.manifest.status, 'archived');
      if (current.manifest.status === 'archived') return current;
      const at = now();
      const month = (current.manifest.completed_at ?? current.manifest.updated_at).slice(0, 7);
      const archivePath = `archive/${month}/${runId}/`;
      const target = join(layout.archiveDir, month, runId);
      await fs.mkdir(join(layout.archiveDir, month), { recursive: true });
      if (await fs.stat(target).catch(() => undefined)) throw new RunExistsError(`${runId} (in archive/${month})`);
      await fs.rename(current.dir, target);
      const manifest: RunManifest = { ...current.manifest, status: 'archived', updated_at: at, archive_path: archivePath };
      await writeJsonAtomic(deps, join(target, 'manifest.json'), manifest);
      await appendIndexRecord(fs, layout.indexFile, toIndexRecord(manifest, at), deps.redactor);
      return { runId, dir: target, manifest };
    });
  }

  async function archiveDue(): Promise<RunRef[]> {
    const days = policy.run_policy.auto_archive_after_days;
    const cutoff = deps.clock.now().getTime() - days * 86_400_000;
    const out: RunRef[] = [];
    const ids = await fs.readdir(layout.activeDir).catch((e: unknown) => {
      if (isNotFound(e)) return [] as string[];
      throw e;
    });
    for (const id of ids.sort()) {
      let ref: RunRef;
      try {
        ref = await get(id);
      } catch {
        continue;
      }
      const m = ref.manifest;
      const finishedAt = Date.parse(m.completed_at ?? m.updated_at ?? m.created_at);
      if (FINISHED_RUN_STATUSES.includes(m.status) && finishedAt <= cutoff) out.push(await archive(id));
    }
    return out;
  }

  return {
    create,
    get,
    list: async (status) => (await readIndex(fs, layout.indexFile)).filter((r) => status === undefined || r.status === status),
    update,
    setStatus,
    setPhase: (runId, phase, status) => update(runId, (m, at) => withPhase(m, phase, status, at)),
    archive,
    archiveDue,
  };
}
