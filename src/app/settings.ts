import { isAbsolute, resolve } from 'node:path';
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
}

const nonEmpty = (v: string | undefined): string | undefined => (v !== undefined && v.trim() !== '' ? v : undefined);

/**
 * Resolves the workspace root, observation root and observer id: `--workspace`/`--observation`/`--observer`, else
 * `MSO_WORKSPACE_ROOT`/`MSO_OBSERVATION_ROOT`/`MSO_OBSERVER_ID`, else `./workspace`, `./mso-observation-workspace`,
 * `$USER`, `$LOGNAME` (cron and some login shells set only that) or `unknown`. Relative paths resolve against `cwd`.
 */
export function resolveSettings(
  input: SettingsInput,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): ResolvedSettings {
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(cwd, p));
  const ws = nonEmpty(input.workspace) ?? nonEmpty(env['MSO_WORKSPACE_ROOT']) ?? 'workspace';
  const obs = nonEmpty(input.observation) ?? nonEmpty(env['MSO_OBSERVATION_ROOT']) ?? 'mso-observation-workspace';
  const observer =
    nonEmpty(input.observer) ??
    nonEmpty(env['MSO_OBSERVER_ID']) ??
    nonEmpty(env['USER']) ??
    nonEmpty(env['LOGNAME']) ??
    'unknown';
  assertSafeName('observer id', observer);
  const hints = [nonEmpty(env['MSO_OBSERVATION_ROOT'])].filter((h): h is string => h !== undefined).map(abs);
  return Object.freeze({
    cwd,
    workspaceRoot: abs(ws),
    observationRoot: abs(obs),
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
