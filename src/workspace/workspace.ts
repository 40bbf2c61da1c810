import { ErrorCode, isMsoError, type Policy } from '../contracts/index.js';
import type { PlatformDeps } from '../platform/index.js';
import { join } from 'node:path';
import { readTextIfExists, writeJsonAtomic } from './atomic.js';
import { assertNotBlocked, checkAnchors, type AnchorCheck } from './anchors.js';
import { appendWorkspaceEvents, readWorkspaceEvents, type WorkspaceEvent } from './events.js';
import { assertInside, workspaceLayout, type WorkspaceLayout } from './layout.js';
import { withLock } from './lock.js';
import type { ReadmeExtras, SyncResult } from './observation.js';
import { ensurePolicyFile, loadPolicy } from './policy.js';
import { createRunStore, type RunStore } from './runs.js';

export interface WorkspaceOptions {
  readonly root: string;
  readonly observationRoot: string;
  readonly observerId: string;
  /** Extra places to look for a missing observation peer (e.g. the MSO_OBSERVATION_ROOT value). */
  readonly peerHints?: readonly string[];
  /** Create the workspace, its policy and anchors when missing (default true). */
  readonly create?: boolean;
}

/** The workspace's anchor and sync state, for `mso workspace status`. */
export interface WorkspaceStatus {
  readonly initialized: boolean;
  readonly root: string;
  readonly observationRoot: string;
  readonly observerId: string;
  readonly workspaceId: string | null;
  readonly observationId: string | null;
  readonly syncSuspended: boolean;
  readonly policyFile: string;
  readonly events: readonly WorkspaceEvent[];
}

/** An opened workspace: its layout, resolved policy, anchor state and run store. */
export interface Workspace {
  readonly layout: WorkspaceLayout;
  readonly policy: Policy;
  readonly anchors: AnchorCheck | null;
  readonly runs: RunStore;
  readonly warnings: readonly string[];
  /** Mirrors a run into the observation workspace (incremental, read-only files). */
  sync(runId: string, extras?: ReadmeExtras): Promise<SyncResult>;
  status(): Promise<WorkspaceStatus>;
  /** Confirms the observation root now in use as this workspace's peer (ends a PEER_REPLACED suspension). */
  relink(): Promise<AnchorCheck>;
}

async function exists(deps: PlatformDeps, path: string): Promise<boolean> {
  return (await deps.fs.stat(path).catch(() => undefined)) !== undefined;
}

/** Rewrites observer links of active runs after the observation root moved. */
async function repairObserverLinks(runs: RunStore, moved: { from: string; to: string }): Promise<void> {
  const ids = await runs.list();
  for (const r of ids) {
    if (r.status === 'archived') continue;
    await runs
      .update(r.run_id, (m) => {
        const links = m.observer_links.map((l) => (l.startsWith(moved.from) ? moved.to + l.slice(moved.from.length) : l));
        return links.join('\n') === m.observer_links.join('\n') ? m : { ...m, observer_links: [...new Set(links)] };
      })
      .catch(() => undefined);
  }
}

/**
 * Opens (and by default creates) the workspace at `options.root`: scaffold, `policy.yaml` with defaults filled in,
 * and the anchor protocol with its events persisted. Throws `InvalidArtifactError` for a malformed policy or anchor
 * and `PeerMissingBlockedError` when `on_peer_missing: block` stops the run.
 */
export async function openWorkspace(deps: PlatformDeps, options: WorkspaceOptions): Promise<Workspace> {
  const create = options.create ?? true;
  let layout = workspaceLayout(options.root, options.observationRoot, options.observerId);
  const initialized = await exists(deps, layout.context);
  let policy: Policy;
  if (create) {
    for (const dir of [layout.activeDir, layout.archiveDir, layout.registryDir, layout.configDir, layout.locksDir]) {
      await deps.fs.mkdir(dir, { recursive: true });
    }
    policy = (await withLock(deps, layout.lockFile('policy'), () => ensurePolicyFile(deps, layout.policyFile))).policy;
  } else {
    policy = await loadPolicy(deps.fs, layout.policyFile);
  }

  let anchors: AnchorCheck | null = null;
  const storageWarnings: string[] = [];
  if ((create || initialized) && (policy.relocation_policy.verify_on_startup || !(await exists(deps, layout.anchor)))) {
    try {
      anchors = await runAnchorCheck(false);
    } catch (e) {
      // Reading (status, export) must work on a full or read-only disk: the anchor check writes a lock and events.
      if (create || !(isMsoError(e) && (e.code === ErrorCode.StorageFull || e.code === ErrorCode.StorageReadOnly)))
        throw e;
      storageWarnings.push(`anchors not verified: ${e.message}`);
    }
    if (anchors && anchors.observationRoot !== layout.observationRoot) {
      layout = workspaceLayout(layout.root, anchors.observationRoot, options.observerId);
    }
  }
  const currentLayout = (): WorkspaceLayout => layout;
  const runs = createRunStore(deps, layout, policy, (runId) => currentLayout().observationRunDir(runId));
  if (anchors?.moved) await repairObserverLinks(runs, anchors.moved);

  async function runAnchorCheck(relink: boolean): Promise<AnchorCheck> {
    const check = await withLock(deps, layout.lockFile('anchors'), async () => {
      const result = await checkAnchors(deps, layout, policy, { hints: options.peerHints ?? [], relink });
      await appendWorkspaceEvents(deps.fs, layout.eventsFile, result.events);
      return result;
    });
    assertNotBlocked(check);
    return check;
  }

  const workspace: Workspace = {
    get layout() {
      return layout;
    },
    policy,
    get anchors() {
      return anchors;
    },
    runs,
    get warnings() {
      return [...storageWarnings, ...(anchors?.warnings ?? [])];
    },
    async sync(runId, extras) {
      const ref = await runs.get(runId);
      const proposals: string[] = [];
      for (const n of (await deps.fs.readdir(join(layout.context, 'proposals')).catch(() => [] as string[])).sort()) {
        const p = JSON.parse((await readTextIfExists(deps.fs, join(layout.context, 'proposals', n))) ?? '{}') as { id?: string; run_id?: string; status?: string; summary?: string };
        if (p.run_id === runId && p.status === 'pending') proposals.push(`review proposal ${p.id}: ${p.summary} (mso proposals accept|reject ${p.id})`);
      }
      extras = { ...extras, nextActions: [...(extras?.nextActions ?? []), ...proposals] };
      // Imported on use: reading a run (`mso status`) never mirrors it.
      const { syncObservation } = await import('./observation.js');
      return syncObservation(deps, {
        policy,
        manifest: ref.manifest,
        runDir: ref.dir,
        target: layout.observationRunDir(runId),
        suspended: anchors?.syncSuspended ?? false,
        ...(extras ? { extras } : {}),
      });
    },
    async status() {
      return {
        initialized: await exists(deps, layout.anchor),
        root: layout.root,
        observationRoot: layout.observationRoot,
        observerId: layout.observerId,
        workspaceId: anchors?.workspaceId ?? null,
        observationId: anchors?.observationId ?? null,
        syncSuspended: anchors?.syncSuspended ?? false,
        policyFile: layout.policyFile,
        events: await readWorkspaceEvents(deps.fs, layout.eventsFile),
      };
    },
    async relink() {
      anchors = await runAnchorCheck(true);
      if (anchors.moved) await repairObserverLinks(runs, anchors.moved);
      return anchors;
    },
  };
  return workspace;
}

/** Writes a JSON artifact into a run's folder atomically (used by later stages). */
export async function writeRunArtifact(deps: PlatformDeps, ws: Workspace, runId: string, relPath: string, value: unknown): Promise<string> {
  const ref = await ws.runs.get(runId);
  const file = assertInside(ref.dir, relPath, 'artifact path');
  await writeJsonAtomic(deps, file, value);
  return file;
}
