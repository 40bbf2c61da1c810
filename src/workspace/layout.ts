import { isAbsolute, join, relative, resolve } from 'node:path';
import { PHASES, UnsafePathError, type PhaseDir, type PhaseKey } from '../contracts/index.js';
import { assertSafeName } from './run-id.js';

/** Observation folders per run, in order. */
export const OBSERVATION_DIRS = ['01_summary', '02_decisions', '03_artifacts', '04_review', '05_delivery'] as const;
export type ObservationDir = (typeof OBSERVATION_DIRS)[number];

/** Every path of a workspace, derived from its roots; no I/O. */
export interface WorkspaceLayout {
  readonly root: string;
  readonly context: string;
  readonly anchor: string;
  readonly activeDir: string;
  readonly archiveDir: string;
  readonly registryDir: string;
  readonly indexFile: string;
  readonly eventsFile: string;
  readonly configDir: string;
  readonly policyFile: string;
  readonly auditDb: string;
  readonly blobsDir: string;
  readonly locksDir: string;
  readonly observationRoot: string;
  readonly observationAnchor: string;
  readonly observerId: string;
  runDir(runId: string): string;
  phaseDir(runId: string, phase: PhaseKey | PhaseDir): string;
  manifestFile(runId: string): string;
  observationRunDir(runId: string): string;
  lockFile(name: string): string;
}

/** Throws unless `child` lies inside `parent` (after resolving `..`). */
export function assertInside(parent: string, child: string, field = 'path'): string {
  const abs = resolve(parent, child);
  const rel = relative(resolve(parent), abs);
  if (rel.startsWith('..') || isAbsolute(rel)) throw new UnsafePathError(field, child);
  return abs;
}

/** Resolves a phase key (`"20"`) or folder (`"20_mental-model"`) to its folder name. */
export function toPhaseDir(phase: string): PhaseDir {
  if (Object.hasOwn(PHASES, phase)) return PHASES[phase as PhaseKey];
  if ((Object.values(PHASES) as string[]).includes(phase)) return phase as PhaseDir;
  throw new UnsafePathError('phase', phase);
}

/** The layout of the workspace at `root` with its observation space at `observationRoot`. */
export function workspaceLayout(root: string, observationRoot: string, observerId: string): WorkspaceLayout {
  const absRoot = resolve(root);
  const context = join(absRoot, '.mso-context');
  const obs = resolve(observationRoot);
  assertSafeName('observer id', observerId);
  const runDir = (runId: string): string => {
    assertSafeName('run id', runId);
    return join(context, 'active', runId);
  };
  return {
    root: absRoot,
    context,
    anchor: join(context, '.anchor.json'),
    activeDir: join(context, 'active'),
    archiveDir: join(context, 'archive'),
    registryDir: join(context, 'registry'),
    indexFile: join(context, 'registry', 'manifest-index.jsonl'),
    eventsFile: join(context, 'registry', 'workspace-events.jsonl'),
    configDir: join(context, 'config'),
    policyFile: join(context, 'config', 'policy.yaml'),
    auditDb: join(context, 'audit.db'),
    blobsDir: join(context, 'blobs'),
    locksDir: join(context, 'locks'),
    observationRoot: obs,
    observationAnchor: join(obs, '.anchor.json'),
    observerId,
    runDir,
    phaseDir: (runId, phase) => join(runDir(runId), toPhaseDir(phase)),
    manifestFile: (runId) => join(runDir(runId), 'manifest.json'),
    observationRunDir: (runId) => {
      assertSafeName('run id', runId);
      return join(obs, observerId, runId);
    },
    lockFile: (name) => {
      assertSafeName('lock name', name);
      return join(context, 'locks', `${name}.lock`);
    },
  };
}
