import { dirname, join, resolve } from 'node:path';
import { AnchorSchema, PeerMissingBlockedError, parseArtifact, type Anchor, type Policy } from '../contracts/index.js';
import type { Clock } from '../platform/index.js';
import { parseJsonText, readTextIfExists, writeJsonAtomic, type AtomicDeps } from './atomic.js';
import { WorkspaceEventType, type WorkspaceEvent } from './events.js';
import type { WorkspaceLayout } from './layout.js';

export interface AnchorDeps extends AtomicDeps {
  readonly clock: Clock;
}

/** What the anchor check found and decided. */
export interface AnchorCheck {
  /** Events to persist and show, in the order they happened. */
  readonly events: readonly WorkspaceEvent[];
  /** The observation root to use: the configured one, or where the missing peer was found. */
  readonly observationRoot: string;
  /** True after PEER_REPLACED until `mso workspace relink`: nothing is synced. */
  readonly syncSuspended: boolean;
  /** Set when the observation root moved: manifests' observer links must be rewritten from `from` to `to`. */
  readonly moved: { readonly from: string; readonly to: string } | null;
  /** Human-readable warnings for stderr (empty when on_peer_missing is silent). */
  readonly warnings: readonly string[];
  readonly workspaceId: string;
  readonly observationId: string | null;
  /** Set when on_peer_missing is `block` and the peer was not found: its last known path. */
  readonly blockedPeerPath: string | null;
}

const VERIFY_REFRESH_MS = 10 * 60_000;
const SKIP_DIRS = new Set(['node_modules', '.git', 'dist', '.cache']);
const MAX_VISITED = 20_000;

async function loadAnchor(deps: AnchorDeps, file: string): Promise<Anchor | undefined> {
  const text = await readTextIfExists(deps.fs, file);
  if (text === undefined) return undefined;
  return parseArtifact(AnchorSchema, parseJsonText(text, file), file);
}

async function anchorIdAt(deps: AnchorDeps, file: string): Promise<string | undefined> {
  try {
    const text = await readTextIfExists(deps.fs, file);
    if (text === undefined) return undefined;
    const parsed = AnchorSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data.workspace_id : undefined;
  } catch {
    return undefined;
  }
}

async function isDir(deps: AnchorDeps, path: string): Promise<boolean> {
  return (await deps.fs.stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

/** Breadth-first search below `root` (to `depth` levels) for a folder whose `.anchor.json` has `expectedId`. */
async function walkFor(deps: AnchorDeps, root: string, depth: number, expectedId: string, budget: { n: number }): Promise<string | undefined> {
  let level = [root];
  for (let d = 0; d <= depth && level.length > 0; d++) {
    const next: string[] = [];
    for (const dir of level) {
      if (budget.n++ > MAX_VISITED) return undefined;
      if ((await anchorIdAt(deps, join(dir, '.anchor.json'))) === expectedId) return dir;
      if (d === depth) continue;
      const entries = await deps.fs.readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        if (e.isDirectory() && !SKIP_DIRS.has(e.name) && e.name !== '.mso-context') next.push(join(dir, e.name));
      }
    }
    level = next;
  }
  return undefined;
}

/** The nearest ancestor of `start` holding `.git`, else `start`'s parent. */
async function projectRootOf(deps: AnchorDeps, start: string): Promise<string> {
  let dir = start;
  for (;;) {
    if (await deps.fs.stat(join(dir, '.git')).catch(() => undefined)) return dir;
    const up = dirname(dir);
    if (up === dir) return dirname(start);
    dir = up;
  }
}

/**
 * Looks for the observation root whose anchor id is `expectedId`: the hint paths, the project root, the
 * workspace's ancestors, then `peer_search_paths`; by anchor id, whatever the folder is called.
 */
async function searchPeer(
  deps: AnchorDeps,
  layout: WorkspaceLayout,
  policy: Policy,
  expectedId: string,
  hints: readonly string[],
): Promise<string | undefined> {
  for (const hint of hints) {
    if ((await anchorIdAt(deps, join(hint, '.anchor.json'))) === expectedId) return resolve(hint);
  }
  const rp = policy.relocation_policy;
  const budget = { n: 0 };
  const projectRoot = await projectRootOf(deps, layout.root);
  const found = await walkFor(deps, projectRoot, rp.search_max_depth, expectedId, budget);
  if (found) return found;
  let dir = layout.root;
  for (let i = 0; i < rp.fallback_walk_depth; i++) {
    dir = dirname(dir);
    const hit = await walkFor(deps, dir, 2, expectedId, budget);
    if (hit) return hit;
  }
  for (const p of rp.peer_search_paths) {
    const root = resolve(projectRoot, p);
    if (!(await isDir(deps, root))) continue;
    const hit = await walkFor(deps, root, rp.search_max_depth, expectedId, budget);
    if (hit) return hit;
  }
  return undefined;
}

function newAnchor(deps: AnchorDeps, type: Anchor['type'], path: string): Anchor {
  const prefix = type === 'mso-workspace' ? 'ws' : 'obs';
  return {
    type,
    workspace_id: `${prefix}-${deps.random.uuid()}`,
    created_at: deps.clock.now().toISOString(),
    canonical_path: path,
    peers: {},
  };
}

/**
 * The anchor protocol: load or create both anchors, detect SELF_RELOCATED, PEER_MISSING (with discovery) and
 * PEER_REPLACED (sync suspended until relink), and write the anchors back. Call under the anchors lock.
 */
export async function checkAnchors(
  deps: AnchorDeps,
  layout: WorkspaceLayout,
  policy: Policy,
  options: { readonly hints?: readonly string[]; readonly relink?: boolean } = {},
): Promise<AnchorCheck> {
  const now = deps.clock.now();
  const at = now.toISOString();
  const events: WorkspaceEvent[] = [];
  const warnings: string[] = [];
  const ws = (await loadAnchor(deps, layout.anchor)) ?? newAnchor(deps, 'mso-workspace', layout.root);
  const wsBefore = JSON.stringify(ws);
  if (ws.canonical_path !== layout.root) {
    events.push({ event: WorkspaceEventType.SelfRelocated, at, workspace: 'workspace', from: ws.canonical_path, path: layout.root });
    ws.canonical_path = layout.root;
  }

  let obsRoot = layout.observationRoot;
  let obs = await loadAnchor(deps, join(obsRoot, '.anchor.json'));
  let moved: AnchorCheck['moved'] = null;
  let syncSuspended = false;
  const peer = ws.peers.observation;

  if (obs && peer && obs.workspace_id !== peer.workspace_id && !options.relink) {
    // PEER_REPLACED: another observation space sits where ours should be. Never adopt it silently.
    syncSuspended = true;
    const already = peer.sync_suspended?.found_workspace_id === obs.workspace_id;
    if (!already) {
      peer.sync_suspended = { since: at, reason: 'PEER_REPLACED', found_workspace_id: obs.workspace_id, found_path: obsRoot };
      events.push({
        event: WorkspaceEventType.PeerReplaced,
        at,
        expected_workspace_id: peer.workspace_id,
        found_workspace_id: obs.workspace_id,
        path: obsRoot,
        sync_suspended: true,
      });
    }
    warnings.push(
      `observation root ${obsRoot} holds ${obs.workspace_id}, not the linked ${peer.workspace_id}: sync suspended; ` +
        'run `mso workspace relink` to adopt it',
    );
    if (JSON.stringify(ws) !== wsBefore) await writeJsonAtomic(deps, layout.anchor, ws);
    return { events, observationRoot: obsRoot, syncSuspended, moved, warnings, workspaceId: ws.workspace_id, observationId: peer.workspace_id, blockedPeerPath: null };
  }

  if (!obs && peer) {
    events.push({ event: WorkspaceEventType.PeerMissing, at, peer: 'observation', last_known_path: peer.last_known_path });
    const found = await searchPeer(deps, layout, policy, peer.workspace_id, [peer.last_known_path, ...(options.hints ?? [])]);
    if (found) {
      events.push({ event: WorkspaceEventType.PeerMissing, at, peer: 'observation', recovered: true, path: found });
      obsRoot = found;
      obs = await loadAnchor(deps, join(found, '.anchor.json'));
    } else {
      const mode = policy.relocation_policy.on_peer_missing;
      events.push({
        event: WorkspaceEventType.PeerMissing,
        at,
        peer: 'observation',
        recovered: false,
        on_peer_missing_policy: mode,
        ...(mode === 'silent' ? {} : { requires_manual_input: true }),
        ...(mode === 'block' ? { blocked_by_policy: true } : { action: `new observation root at ${obsRoot}` }),
      });
      if (mode === 'block') {
        if (JSON.stringify(ws) !== wsBefore) await writeJsonAtomic(deps, layout.anchor, ws);
        return { events, observationRoot: obsRoot, syncSuspended: true, moved, warnings, workspaceId: ws.workspace_id, observationId: null, blockedPeerPath: peer.last_known_path };
      }
      if (mode !== 'silent') {
        warnings.push(`observation peer ${peer.workspace_id} not found (last at ${peer.last_known_path}); starting a new observation root at ${obsRoot}`);
      }
    }
  }

  if (obs && obs.canonical_path !== obsRoot) {
    events.push({ event: WorkspaceEventType.SelfRelocated, at, workspace: 'observation', from: obs.canonical_path, path: obsRoot });
    obs.canonical_path = obsRoot;
  }
  if (peer && obs && obs.workspace_id === peer.workspace_id && peer.last_known_path !== obsRoot) {
    if (!events.some((e) => e.event === WorkspaceEventType.PeerMissing)) {
      events.push({ event: WorkspaceEventType.PeerMissing, at, peer: 'observation', last_known_path: peer.last_known_path });
      events.push({ event: WorkspaceEventType.PeerMissing, at, peer: 'observation', recovered: true, path: obsRoot });
    }
    moved = { from: peer.last_known_path, to: obsRoot };
  }

  const obsAnchor = obs ?? newAnchor(deps, 'mso-observation', obsRoot);
  const obsBefore = obs ? JSON.stringify(obs) : '';
  if (options.relink && peer && peer.workspace_id !== obsAnchor.workspace_id) {
    events.push({ event: WorkspaceEventType.PeerRelinked, at, from_workspace_id: peer.workspace_id, to_workspace_id: obsAnchor.workspace_id, path: obsRoot });
    if (peer.last_known_path !== obsRoot) moved = { from: peer.last_known_path, to: obsRoot };
  }
  const fresh = (link: { last_verified_at: string } | undefined): boolean =>
    link !== undefined && now.getTime() - Date.parse(link.last_verified_at) < VERIFY_REFRESH_MS;
  const wsLink = ws.peers.observation;
  if (!(wsLink && wsLink.workspace_id === obsAnchor.workspace_id && wsLink.last_known_path === obsRoot && wsLink.sync_suspended === null && fresh(wsLink))) {
    ws.peers.observation = { workspace_id: obsAnchor.workspace_id, last_known_path: obsRoot, last_verified_at: at, sync_suspended: null };
  }
  const obsLink = obsAnchor.peers.workspace;
  if (!(obsLink && obsLink.workspace_id === ws.workspace_id && obsLink.last_known_path === layout.root && fresh(obsLink))) {
    obsAnchor.peers.workspace = { workspace_id: ws.workspace_id, last_known_path: layout.root, last_verified_at: at, sync_suspended: null };
  }
  if (JSON.stringify(ws) !== wsBefore) await writeJsonAtomic(deps, layout.anchor, ws);
  if (JSON.stringify(obsAnchor) !== obsBefore) await writeJsonAtomic(deps, join(obsRoot, '.anchor.json'), obsAnchor);
  return { events, observationRoot: obsRoot, syncSuspended, moved, warnings, workspaceId: ws.workspace_id, observationId: obsAnchor.workspace_id, blockedPeerPath: null };
}

/** Throws when the check ended blocked by `on_peer_missing: block`. */
export function assertNotBlocked(check: AnchorCheck): void {
  if (check.blockedPeerPath !== null) throw new PeerMissingBlockedError('observation', check.blockedPeerPath);
}
