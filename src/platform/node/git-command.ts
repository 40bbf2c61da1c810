import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';

/**
 * Config given on every git command line, so it outranks every config file: nothing a repository's config names can
 * run a program (fsmonitor, hooks, ssh, proxy, askpass, editors, pager, signing, credential helpers), and no
 * automatic gc starts behind mso's back.
 */
export const GIT_SAFE_CONFIG: ReadonlyArray<readonly [string, string]> = [
  ['core.fsmonitor', ''],
  ['core.hooksPath', '/dev/null'],
  ['core.sshCommand', ''],
  ['core.gitProxy', ''],
  ['core.askPass', ''],
  ['core.editor', ':'],
  ['sequence.editor', ':'],
  ['core.pager', 'cat'],
  ['diff.external', ''],
  ['gpg.program', ''],
  ['gpg.openpgp.program', ''],
  ['gpg.ssh.program', ''],
  ['gpg.x509.program', ''],
  ['commit.gpgSign', 'false'],
  ['tag.gpgSign', 'false'],
  ['log.showSignature', 'false'],
  ['credential.helper', ''],
  ['protocol.ext.allow', 'never'],
  ['gc.auto', '0'],
  ['maintenance.auto', 'false'],
];

/**
 * Config for speed, on every command line too: a ref git creates for mso (a node's branch, a worktree's HEAD, a result
 * branch) gets no reflog. Those logs are three new files per node (a folder, HEAD's log and the branch's), and a new
 * file is the costliest thing a node does on disks like these machines' (0.5 ms of kernel time each); the audit log
 * records every commit a node made, with its parent, instead. A reflog that exists (the user's branches, the main
 * checkout's HEAD) is still written to, as git always does.
 */
const GIT_SPEED_CONFIG: ReadonlyArray<readonly [string, string]> = [['core.logAllRefUpdates', 'false']];
/**
 * Keys of a named driver (`filter.<name>.clean` ...) that hold a program, emptied for every driver found; a filter is
 * also made optional, since a required filter with no program fails the command.
 */
const DRIVER_KEYS: Readonly<Record<'filter' | 'diff' | 'merge', ReadonlyArray<readonly [string, string]>>> = {
  filter: [
    ['clean', ''],
    ['smudge', ''],
    ['process', ''],
    ['required', 'false'],
  ],
  diff: [
    ['textconv', ''],
    ['command', ''],
  ],
  merge: [['driver', '']],
};

/** Subcommands that can print a diff: external diff programs and textconv are switched off on their command line. */
const DIFF_COMMANDS = new Set(['diff', 'log', 'show', 'format-patch', 'diff-tree', 'diff-files', 'diff-index']);

/** A git command line and environment ready for `spawn('git', args, { env })`. */
export interface GitCommand {
  readonly args: string[];
  readonly env: Record<string, string>;
}

/**
 * Builds git's argv and environment: `GIT_SAFE_CONFIG` as `-c` pairs, every program key of the filter/diff/merge
 * drivers the repository's config defines emptied through `GIT_CONFIG_COUNT` (names may hold any character), no
 * inherited `GIT_*` variable (a `GIT_DIR` or `GIT_EXTERNAL_DIFF` from the caller never reaches git), no pager, editor
 * or terminal prompt, no optional lock. The one place git's command line is built: every git call in mso goes
 * through it.
 */
export function gitCommand(
  args: readonly string[],
  options: { readonly env: Readonly<Record<string, string | undefined>>; readonly cwd?: string | undefined },
): GitCommand {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(options.env)) if (v !== undefined && !k.startsWith('GIT_')) env[k] = v;
  Object.assign(env, { GIT_TERMINAL_PROMPT: '0', GIT_PAGER: 'cat', GIT_EDITOR: ':', GIT_SEQUENCE_EDITOR: ':' });
  // No optional lock: a look at the user's checkout (status) never rewrites its index, so it neither makes a user's
  // own git command fail on index.lock nor writes the whole index (megabytes in a large repository) at every node.
  env['GIT_OPTIONAL_LOCKS'] = '0';
  for (const k of ['GIT_AUTHOR_NAME', 'GIT_AUTHOR_EMAIL', 'GIT_COMMITTER_NAME', 'GIT_COMMITTER_EMAIL'])
    if (options.env[k] !== undefined) env[k] = options.env[k] as string;
  const drivers = options.cwd === undefined ? [] : configuredDrivers(options.cwd, options.env['HOME']);
  let n = 0;
  for (const d of drivers)
    for (const [key, value] of DRIVER_KEYS[d.kind]) {
      env[`GIT_CONFIG_KEY_${n}`] = `${d.kind}.${d.name}.${key}`;
      env[`GIT_CONFIG_VALUE_${n}`] = value;
      n++;
    }
  if (n > 0) env['GIT_CONFIG_COUNT'] = String(n);
  const [sub, ...rest] = args;
  const safe = [...GIT_SAFE_CONFIG, ...GIT_SPEED_CONFIG].flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  const tail =
    sub !== undefined && DIFF_COMMANDS.has(sub) ? [sub, '--no-ext-diff', '--no-textconv', ...rest] : [...args];
  return { args: [...safe, ...tail], env };
}

interface Driver {
  readonly kind: 'filter' | 'diff' | 'merge';
  readonly name: string;
}

/**
 * The git directory, common directory and work tree for `cwd` (a worktree's `.git` file is followed), or null. `cwd`
 * need not exist yet: the walk starts at its nearest ancestor.
 */
export function gitDirs(cwd: string): { gitDir: string; commonDir: string; workTree: string } | null {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const dotGit = join(dir, '.git');
    const st = statSync(dotGit, { throwIfNoEntry: false });
    // A `.git` folder is a repository when it has what git looks for (a HEAD file, an objects folder); any other
    // folder of that name (`.git/info` left by a tool) is not, and the search goes on upwards, as git's does.
    if (st?.isDirectory() && isRepositoryDir(dotGit)) return { gitDir: dotGit, commonDir: dotGit, workTree: dir };
    if (st?.isFile()) {
      const m = /^gitdir:\s*(.+?)\s*$/m.exec(readText(dotGit) ?? '');
      if (!m?.[1]) return null;
      const gitDir = resolve(dir, m[1]);
      const common = readText(join(gitDir, 'commondir'))?.trim();
      return { gitDir, commonDir: common ? resolve(gitDir, common) : gitDir, workTree: dir };
    }
    if (dirname(dir) === dir) return null;
  }
}

/**
 * Whether a repository's config may turn on per-worktree config (`extensions.worktreeConfig`): only then does git read
 * a worktree's `config.worktree`. Any mention counts (a value git would not take included): a caller watching those
 * files watches them all then.
 */
export function mayReadWorktreeConfig(commonDir: string): boolean {
  return /worktreeconfig/i.test(readText(join(commonDir, 'config')) ?? '');
}

function isRepositoryDir(gitDir: string): boolean {
  return (
    statSync(join(gitDir, 'HEAD'), { throwIfNoEntry: false })?.isFile() === true &&
    statSync(join(gitDir, 'objects'), { throwIfNoEntry: false })?.isDirectory() === true
  );
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

const SECTION = /^\s*\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]/;

/**
 * The filter, diff and merge drivers named in the repository's config files (`config`, `config.worktree` when any of
 * them mentions worktreeConfig, and the files they include), read as text so no git process runs before the overrides
 * exist.
 */
export function configuredDrivers(cwd: string, home: string | undefined): Driver[] {
  const dirs = gitDirs(cwd);
  if (!dirs) return [];
  const found = new Map<string, Driver>();
  const seen = new Set<string>();
  let worktreeConfig = false;
  const visit = (file: string, depth: number): void => {
    if (depth > 10 || seen.has(file) || seen.size > 50) return;
    seen.add(file);
    const text = readText(file);
    if (text === undefined) return;
    if (/worktreeconfig/i.test(text)) worktreeConfig = true;
    let section = '';
    for (const line of text.split('\n')) {
      const m = SECTION.exec(line);
      if (m) {
        const head = (m[1] ?? '').toLowerCase();
        const dot = head.indexOf('.');
        // `[filter "x"]`, or the old `[filter.x]` form whose subsection is lower-cased by git.
        const kind = dot >= 0 ? head.slice(0, dot) : head;
        const name = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : dot >= 0 ? head.slice(dot + 1) : undefined;
        section = kind;
        if ((kind === 'filter' || kind === 'diff' || kind === 'merge') && name !== undefined)
          found.set(`${kind}\0${name}`, { kind, name });
        continue;
      }
      const inc = /^\s*path\s*=\s*(.+?)\s*$/i.exec(line);
      if (inc?.[1] && (section === 'include' || section === 'includeif')) {
        let path = inc[1].replace(/^"(.*)"$/, '$1');
        if (path.startsWith('~/') && home) path = join(home, path.slice(2));
        visit(isAbsolute(path) ? path : resolve(dirname(file), path), depth + 1);
      }
    }
  };
  visit(join(dirs.commonDir, 'config'), 0);
  // git reads a worktree's config.worktree only with extensions.worktreeConfig on (see mayReadWorktreeConfig): a
  // failed read per git command is saved in the usual repository, which has no such file.
  if (worktreeConfig) visit(join(dirs.gitDir, 'config.worktree'), 0);
  return [...found.values()];
}
