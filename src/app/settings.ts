import { isAbsolute, resolve } from 'node:path';
import { assertSafeName } from '../workspace/index.js';

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
