/** The runtime workspace: layout, policy, anchors, runs and their manifests, observation sync, atomic writes, locks. */
export { openWorkspace, writeRunArtifact, type Workspace, type WorkspaceOptions, type WorkspaceStatus } from './workspace.js';
export { workspaceLayout, assertInside, toPhaseDir, OBSERVATION_DIRS, type WorkspaceLayout } from './layout.js';
export type { RunStore, RunRef, CreateRunInput, RunIdRequest } from './runs.js';
export { RUN_TRANSITIONS, LIVE_RUN_STATUSES, FINISHED_RUN_STATUSES, readIndex } from './manifest.js';
export { parseRunId, slugFromGoal, taggedCaseSlug, toCaseSlug, sanitizeCaseSlug, normalizeSkillKey, assertSafeName, type ParsedRunId } from './run-id.js';
export {
  writeFileAtomic,
  writeJsonAtomic,
  readJsonArtifact,
  readTextIfExists,
  parseJsonText,
  type AtomicDeps,
  type WriteOptions,
  smallFsOf,
  allWritten,
} from './atomic.js';
export { withLock, type LockOptions } from './lock.js';
export { parseFrontmatter, type FrontmatterDoc } from './frontmatter.js';
export { parseYamlText, YAML_MAX_ALIAS_COUNT } from './yaml.js';
export { loadPolicy, ensurePolicyFile } from './policy.js';
export { WorkspaceEventType, type WorkspaceEvent } from './events.js';
export type { AnchorCheck } from './anchors.js';
export type { SyncResult, ReadmeExtras } from './observation.js';
export { createHitlStore, renderHitl, type HitlStore } from './hitl.js';
