import { join } from 'node:path';
import type { Fs } from '../../platform/index.js';
import type { CliTable } from '../cli-table.js';

/** Whether a coding-agent CLI can log in, judged from its environment and login files only (no model is called). */
export interface CliLogin {
  readonly ready: boolean;
  /** How: `env NAME` or `file PATH`; null when nothing was found. */
  readonly via: string | null;
  /** How to log in, when nothing was found. */
  readonly hint: string;
}

const isSet = (env: Readonly<Record<string, string | undefined>>, name: string): boolean =>
  (env[name] ?? '').trim() !== '';

/**
 * How `t`'s CLI would log in: a key in `keyEnv` (an agent's `api_key_env`), else the first complete set of its
 * variables, else the first of its login files that exists. A CLI may also log in in ways this cannot see (a
 * keychain): `ready: false` means "no sign of a login", not "cannot".
 */
export async function cliLogin(
  deps: { readonly env: Readonly<Record<string, string | undefined>>; readonly fs: Pick<Fs, 'stat'> },
  t: Pick<CliTable, 'authEnv' | 'authFiles' | 'login'>,
  keyEnv?: string,
): Promise<CliLogin> {
  if (keyEnv !== undefined && isSet(deps.env, keyEnv)) return { ready: true, via: `env ${keyEnv}`, hint: '' };
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
