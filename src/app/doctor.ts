import {
  buildChildEnv,
  CLI_TABLES,
  cliLogin,
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
      const [version, auth] = await Promise.all([path ? versionOf(deps, cwd, t, path) : null, cliLogin(deps, t)]);
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
        ? [`${c.kind}: no login found: ${c.auth.hint}`]
        : [],
  );
  if (usable.length === 0)
    advice.push('no coding agent is usable: install one and give it a key, or run nodes as shell commands');
  return { clis, usable, snippet: snippetFor(usable), advice };
}
