import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { assertSafeName } from '../workspace/index.js';
import type { OpenAuditOptions } from '../audit/index.js';
import { InvalidArgumentError } from '../contracts/index.js';
import type { Workspace } from '../workspace/index.js';
import type { AppDeps } from './create-app.js';

/** Global options as given on the command line (or by another interface). */
export interface SettingsInput {
  readonly workspace?: string | undefined;
  readonly observation?: string | undefined;
  readonly observer?: string | undefined;
}

/** Where mso works, resolved once: flags, then `MSO_*` environment, then defaults. Frozen. */
export interface ResolvedSettings {
  readonly cwd: string;
  readonly workspaceRoot: string;
  readonly observationRoot: string;
  readonly observerId: string;
  /** Paths to try when the observation peer has gone missing. */
  readonly peerHints: readonly string[];
  /**
   * Lines to keep in a repository's `info/exclude` (`file`) so a workspace or observation root asked for inside a
   * git working tree never shows in `git status`.
   */
  readonly gitExcludes: ReadonlyArray<{ readonly file: string; readonly pattern: string }>;
  /**
   * Where each root came from, as an error names it: the flag, the environment variable, or null for the default
   * (absent in settings a library caller wrote by hand).
   */
  readonly rootSources?: { readonly workspace: string | null; readonly observation: string | null };
}

/** What the composition root found on disk around `cwd` (kept out of `resolveSettings`, which stays pure). */
export interface SettingsProbe {
  /** The common git directory of the repository around `cwd`, if any. */
  readonly gitCommonDir?: string | undefined;
  /** `./workspace/.mso-context` already exists under `cwd` (a workspace made there earlier stays in use). */
  readonly localWorkspace?: boolean | undefined;
  /** Finds the repository around a path (for the roots' `info/exclude` lines). */
  readonly gitDirsOf?: ((path: string) => { commonDir: string; workTree: string } | null) | undefined;
}

const nonEmpty = (v: string | undefined): string | undefined => (v !== undefined && v.trim() !== '' ? v : undefined);

/**
 * Resolves the workspace root, observation root and observer id: `--workspace`/`--observation`/`--observer`, else
 * `MSO_WORKSPACE_ROOT`/`MSO_OBSERVATION_ROOT`/`MSO_OBSERVER_ID`, else `./workspace`, `./mso-observation-workspace`,
 * `$USER`, `$LOGNAME` (cron and some login shells set only that) or `unknown`. Relative paths resolve against `cwd`.
 * Inside a git working tree the default roots are `<git dir>/mso/workspace` and `<git dir>/mso/observation`.
 */
export function resolveSettings(
  input: SettingsInput,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
  probe: SettingsProbe = {},
): ResolvedSettings {
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(cwd, p));
  // Inside a git working tree the default spaces live in the repository's git directory, out of the working tree
  // (never in `git status`, never removed by `git clean`), unless a workspace was already made here.
  const inRepo = probe.gitCommonDir !== undefined && !probe.localWorkspace;
  /** A root: the flag, else the variable, else the default; with where it came from (null: the default). */
  const root = (given: string | undefined, flag: string, variable: string, fallback: string) => {
    const fromFlag = nonEmpty(given);
    if (fromFlag !== undefined) return { path: fromFlag, source: flag };
    const fromEnv = nonEmpty(env[variable]);
    return fromEnv !== undefined ? { path: fromEnv, source: variable } : { path: fallback, source: null };
  };
  const wsRoot = root(
    input.workspace,
    '--workspace',
    'MSO_WORKSPACE_ROOT',
    inRepo ? join(probe.gitCommonDir as string, 'mso', 'workspace') : 'workspace',
  );
  const obsRoot = root(
    input.observation,
    '--observation',
    'MSO_OBSERVATION_ROOT',
    inRepo ? join(probe.gitCommonDir as string, 'mso', 'observation') : 'mso-observation-workspace',
  );
  const ws = wsRoot.path;
  const obs = obsRoot.path;
  const observer =
    nonEmpty(input.observer) ??
    nonEmpty(env['MSO_OBSERVER_ID']) ??
    nonEmpty(env['USER']) ??
    nonEmpty(env['LOGNAME']) ??
    'unknown';
  assertSafeName('observer id', observer);
  const hints = [nonEmpty(env['MSO_OBSERVATION_ROOT'])].filter((h): h is string => h !== undefined).map(abs);
  const gitExcludes = [abs(ws), abs(obs)].flatMap((root) => {
    const dirs = probe.gitDirsOf?.(root);
    if (!dirs) return [];
    const rel = relative(dirs.workTree, root).split(sep).join('/');
    // Under the git directory itself (the default above) nothing needs ignoring.
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel === '.git' || rel.startsWith('.git/')) return [];
    return [{ file: join(dirs.commonDir, 'info', 'exclude'), pattern: `/${rel}/` }];
  });
  return Object.freeze({
    cwd,
    rootSources: Object.freeze({ workspace: wsRoot.source, observation: obsRoot.source }),
    workspaceRoot: abs(ws),
    observationRoot: abs(obs),
    gitExcludes: Object.freeze(gitExcludes),
    observerId: observer,
    peerHints: Object.freeze(hints),
  });
}

type StoreDeps = Pick<AppDeps, 'env' | 'fs'>;

/**
 * The shared store's URL when the audit log lives in PostgreSQL: MSO_AUDIT_URL, else `audit.url` in policy.yaml;
 * undefined for the embedded SQLite file (the default).
 */
export function auditUrl(ws: Pick<Workspace, 'policy'>, deps: Pick<AppDeps, 'env'>): string | undefined {
  const env = deps.env['MSO_AUDIT_URL']?.trim();
  if (env) {
    if (!/^postgres(ql)?:\/\/\S+$/.test(env)) {
      throw new InvalidArgumentError(
        'MSO_AUDIT_URL',
        'must be a postgres:// URL (unset it to use .mso-context/audit.db)',
      );
    }
    return env;
  }
  return ws.policy.audit.url;
}

/** How to open the workspace's audit log: its SQLite file and blobs folder, or the PostgreSQL store. */
export function auditOptions(ws: Pick<Workspace, 'policy' | 'layout'>, deps: Pick<AppDeps, 'env'>): OpenAuditOptions {
  return { file: ws.layout.auditDb, blobsDir: ws.layout.blobsDir, env: deps.env, url: auditUrl(ws, deps) };
}

/** The reader options (`url` for PostgreSQL) matching {@link auditOptions}. */
export function auditReaderOptions(
  ws: Pick<Workspace, 'policy'>,
  deps: Pick<AppDeps, 'env'>,
): { url: string | undefined } {
  return { url: auditUrl(ws, deps) };
}

/** True when the audit log exists already (a PostgreSQL store always does: opening it creates the schema). */
export async function auditExists(ws: Pick<Workspace, 'policy' | 'layout'>, deps: StoreDeps): Promise<boolean> {
  if (auditUrl(ws, deps)) return true;
  return (await deps.fs.stat(ws.layout.auditDb).catch(() => undefined)) !== undefined;
}
