/** Variables every agent process may see; everything else must be allowed explicitly. */
export const BASE_ENV_ALLOW: readonly string[] = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'LC_ALL',
  'LC_CTYPE',
  'TZ',
  'TMPDIR',
  'SHELL',
  'TERM',
];

/** Variables never passed on: they make Claude Code refuse to start as a nested session. */
const NEVER = new Set(['CLAUDECODE', 'CLAUDE_CODE_ENTRYPOINT']);

/**
 * Builds a child environment from an allow-list of names in `parent`, plus explicit extra values. The parent
 * environment as a whole is never passed on.
 */
export function buildChildEnv(
  parent: Readonly<Record<string, string | undefined>>,
  allow: readonly string[],
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: '1' };
  for (const name of [...BASE_ENV_ALLOW, ...allow]) {
    const v = parent[name];
    if (v !== undefined && !NEVER.has(name)) env[name] = v;
  }
  for (const [k, v] of Object.entries(extra)) if (!NEVER.has(k)) env[k] = v;
  return env;
}
