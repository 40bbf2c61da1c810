import { join } from 'node:path';
import {
  buildChildEnv,
  CLI_TABLES,
  NEUTRAL_MODES,
  superviseProcess,
  type CliKind,
  type CliTable,
  type NeutralMode,
} from '../agents/index.js';
import type { AppDeps } from './create-app.js';

/** What `mso doctor` found about one coding-agent CLI. */
export interface CliCheck {
  readonly kind: CliKind;
  readonly command: string;
  /** Where it is on PATH, or null when it is not installed. */
  readonly path: string | null;
  readonly version: string | null;
  /** Whether it can authenticate, judged from its environment and config files only (no model is called). */
  readonly auth: { readonly ready: boolean; readonly via: string | null; readonly hint: string };
  readonly install: string;
  /** The flags each neutral permission mode becomes. */
  readonly modes: Readonly<Record<NeutralMode, string>>;
}

export interface DoctorReport {
  readonly clis: readonly CliCheck[];
  /** Installed and able to authenticate, in the order a fallback chain would try them. */
  readonly usable: readonly CliKind[];
  /** A policy.yaml fragment to paste (empty when nothing is usable). */
  readonly snippet: string;
  readonly advice: readonly string[];
}

const isSet = (env: AppDeps['env'], name: string): boolean => (env[name] ?? '').trim() !== '';

/** How a CLI would authenticate: the first complete set of variables, else the first login file that exists. */
async function authOf(deps: AppDeps, t: CliTable): Promise<CliCheck['auth']> {
  const group = t.authEnv.find((g) => g.every((n) => isSet(deps.env, n)));
  if (group) return { ready: true, via: `env ${group.join(' + ')}`, hint: '' };
  const home = deps.env['HOME'] ?? '';
  for (const f of t.authFiles) {
    const dir = f.dirEnv && isSet(deps.env, f.dirEnv) ? deps.env[f.dirEnv] : undefined;
    const file = dir ? join(dir, f.path.split('/').at(-1) ?? f.path) : join(home, f.path);
    if (home === '' && !dir) continue;
    if (
      await deps.fs.stat(file).then(
        (s) => s.isFile(),
        () => false,
      )
    )
      return { ready: true, via: `file ${file}`, hint: '' };
  }
  return { ready: false, via: null, hint: t.login };
}

/** `<cli> --version`, bounded; null when it does not answer. */
async function versionOf(deps: AppDeps, cwd: string, t: CliTable, path: string): Promise<string | null> {
  const x = await superviseProcess(deps, {
    command: path,
    args: ['--version'],
    cwd,
    env: buildChildEnv(deps.env, t.env),
    deadlines: { totalMs: 15_000 },
    killGraceMs: 1_000,
  });
  if (x.exitCode !== 0) return null;
  const line = x.transcript.split('\n').find((l) => l.startsWith('1|') && l.trim() !== '1|');
  return line ? line.slice(2).trim().slice(0, 120) : null;
}

function snippetFor(usable: readonly CliKind[]): string {
  if (usable.length === 0) return '';
  return [
    '# workspace/.mso-context/config/policy.yaml',
    'fallback_chains:',
    `  default: [${usable.join(', ')}]`,
    'agents:',
    ...usable.flatMap((k) => [
      `  ${k}:`,
      `    kind: ${k}`,
      '    permission_mode: edit # the most a node may ask of it: read-only | edit | full',
    ]),
    '',
  ].join('\n');
}

/**
 * First-run check of the coding-agent CLIs: which are on PATH (with their versions), whether each can authenticate
 * (from its environment variables and login files; no model is called), and a policy snippet for the usable ones.
 */
export async function detectAgents(deps: AppDeps, cwd: string): Promise<DoctorReport> {
  const clis = await Promise.all(
    Object.values(CLI_TABLES).map(async (t): Promise<CliCheck> => {
      const path = (await deps.proc.which(t.command, deps.env['PATH'])) ?? null;
      const [version, auth] = await Promise.all([path ? versionOf(deps, cwd, t, path) : null, authOf(deps, t)]);
      const modes = Object.fromEntries(NEUTRAL_MODES.map((m) => [m, (t.modes[m] ?? ['(not available)']).join(' ')]));
      return {
        kind: t.kind,
        command: t.command,
        path,
        version,
        auth,
        install: t.install,
        modes: modes as Record<NeutralMode, string>,
      };
    }),
  );
  const usable = clis.filter((c) => c.path && c.auth.ready).map((c) => c.kind);
  const advice = clis.flatMap((c) =>
    !c.path
      ? [`${c.kind}: not installed (${c.install})`]
      : !c.auth.ready
        ? [`${c.kind}: cannot log in: ${c.auth.hint}`]
        : [],
  );
  if (usable.length === 0)
    advice.push('no coding agent is usable: install one and give it a key, or run nodes as shell commands');
  return { clis, usable, snippet: snippetFor(usable), advice };
}
