import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, refNameProblem } from '../contracts/index.js';
import { gitCommand, type Proc } from '../platform/index.js';
import { nodeBranchName } from './branches.js';
import type { RawChange } from './tree-hash.js';

export { fileSha256, treeHash } from './tree-hash.js';

export interface GitResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Git through its CLI (no JS library supports worktrees), with a fixed identity and no user config side effects. */
export interface Git {
  /** `maxOutput` (default 256 MB): past this many bytes of output git is ended and the call fails (code 1). */
  run(
    args: readonly string[],
    cwd: string,
    input?: string,
    options?: { readonly maxOutput?: number },
  ): Promise<GitResult>;
  /** Like run, but throws with git's stderr on a non-zero exit. */
  ok(args: readonly string[], cwd: string): Promise<string>;
  /**
   * Runs git commands one after another in one process (`sh -c`), stopping at the first that fails: `failed` is its
   * index, or null. A spawn from the coordinator (a large process) costs far more than one from a small shell, so
   * steps that always run together go through here.
   */
  sequence(
    steps: ReadonlyArray<readonly string[] | GitStep>,
    cwd: string,
    options?: { readonly maxOutput?: number },
  ): Promise<GitSequenceResult>;
}

/** A step of {@link Git.sequence} that runs in another folder, or whose failure does not stop the sequence. */
export interface GitStep {
  readonly args: readonly string[];
  /** Where it runs (its own config decides its drivers, as for {@link Git.run}); the sequence's folder by default. */
  readonly cwd?: string;
  /**
   * Its output and exit status are returned apart (`listed`) and its failure does not stop the sequence. At most one
   * such step, and it must come first.
   */
  readonly apart?: true;
  /**
   * Small files the same shell writes, in this order, just before the step runs (each replaced whole, not atomically);
   * a write that fails fails the step, with the shell's message as its output. The coordinator then makes no file
   * system call for them (see addWorktree).
   */
  readonly writes?: ReadonlyArray<{ readonly path: string; readonly text: string }>;
  /**
   * The folder whose config names the step's drivers (which are switched off), when it is not where the step runs:
   * a worktree whose `.git` file the step's own `writes` make reads its repository's config.
   */
  readonly driversFrom?: string;
}

export interface GitSequenceResult extends GitResult {
  /** The index of the step that failed, or null when every step succeeded. */
  readonly failed: number | null;
  /** The first step's own exit status and output when it was marked `apart`; `stdout` then holds the rest. */
  readonly apart?: { readonly code: number; readonly stdout: string };
}

/** The shell variable naming the file an apart step writes to while the steps after it run (see ScriptRequest.side). */
const SIDE_FILE = 'mso_side';
/** Exit status of the sequence's shell when step `i` (not the last) failed: SEQUENCE_FAILED + i. */
const SEQUENCE_FAILED = 90;
const shQuote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

const ENV_KEEP = ['PATH', 'HOME', 'LANG', 'TMPDIR'];
/** Subcommands that write no file but their output: one can be stopped once its output passes a limit. */
const READS_ONLY = new Set([
  'log',
  'diff',
  'show',
  'ls-tree',
  'ls-files',
  'cat-file',
  'rev-parse',
  'rev-list',
  'diff-tree',
]);
const readsOnly = (args: readonly string[]): boolean => READS_ONLY.has(args[0] ?? '');
/** A script of `lines`, with a file size limit of `limit` bytes (in 512-byte blocks) set before its last one. */
function stopLastPast(lines: readonly string[], limit: number): string {
  const ulimit = `ulimit -f ${Math.ceil((limit + 1) / 512)} 2>/dev/null`;
  return [...lines.slice(0, -1), ulimit, ...lines.slice(-1)].join('\n');
}
/** Past this much output a git call is ended and fails: mso never holds an unbounded git answer in memory. */
const MAX_GIT_OUTPUT = 256 * 1024 * 1024;

export function createGit(deps: {
  readonly proc: Proc;
  readonly env: Readonly<Record<string, string | undefined>>;
}): Git {
  const env: Record<string, string> = {
    GIT_AUTHOR_NAME: 'mso',
    GIT_AUTHOR_EMAIL: 'mso@localhost',
    GIT_COMMITTER_NAME: 'mso',
    GIT_COMMITTER_EMAIL: 'mso@localhost',
  };
  for (const k of ENV_KEEP) if (deps.env[k]) env[k] = deps.env[k] as string;
  const spawnCollect = (
    command: string,
    argv: readonly string[],
    childEnv: Record<string, string>,
    cwd: string,
    what: string,
    input?: string,
    limit = MAX_GIT_OUTPUT,
  ): Promise<GitResult & { readonly notStarted?: true }> =>
    new Promise((resolve) => {
      const child = deps.proc.spawn(command, argv, {
        cwd,
        env: childEnv,
        stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let size = 0;
      let overflow = false;
      const collect = (into: Buffer[]) => (c: Buffer) => {
        size += c.length;
        if (size > limit) {
          if (!overflow) child.kill('SIGKILL');
          overflow = true;
          return;
        }
        into.push(c);
      };
      child.stdout?.on('data', collect(out));
      child.stderr?.on('data', collect(err));
      const text = (b: Buffer[]): string => Buffer.concat(b).toString('utf8');
      child.on('error', (e) => resolve({ code: 127, stdout: text(out), stderr: e.message, notStarted: true }));
      child.on('close', (code) =>
        resolve(
          overflow
            ? { code: 1, stdout: '', stderr: `git ${what} printed more than ${limit} bytes` }
            : { code: code ?? 1, stdout: text(out), stderr: text(err) },
        ),
      );
      if (input !== undefined) child.stdin?.end(input);
    });
  /**
   * Runs the script of `lines` (git commands) through the platform's script runner when it has one (no fork of this
   * large process), else with `sh -c`; `direct` runs the same commands when there is no runner and no shell is needed.
   */
  const shell = async (
    lines: readonly string[],
    childEnv: Record<string, string>,
    cwd: string,
    what: string,
    o: {
      readonly input?: string | undefined;
      readonly limit: number;
      readonly lastReadsOnly: boolean;
      readonly side?: boolean;
    },
    direct?: readonly string[],
  ): Promise<GitResult & { readonly notStarted?: true; readonly side?: string }> => {
    // Through files there is no pipe to close on a command that prints too much: a last command that writes no file
    // but its output gets a file size limit instead, and is stopped (SIGXFSZ) once its output passes the limit.
    const script = lines.join('\n');
    const limited = o.lastReadsOnly ? stopLastPast(lines, o.limit) : script;
    const r = await deps.proc.runScript?.({
      script: limited,
      env: childEnv,
      cwd,
      ...(o.input === undefined ? {} : { input: o.input }),
      ...(o.side ? { side: SIDE_FILE } : {}),
      maxOutput: o.limit,
    });
    if (r?.overflow) return { code: 1, stdout: '', stderr: `git ${what} printed more than ${o.limit} bytes` };
    if (r) return r;
    return direct
      ? spawnCollect('git', direct, childEnv, cwd, what, o.input, o.limit)
      : spawnCollect('sh', ['-c', script], childEnv, cwd, what, o.input, o.limit);
  };
  const run = async (
    args: readonly string[],
    cwd: string,
    input?: string,
    options: { readonly maxOutput?: number } = {},
  ): Promise<GitResult> => {
    const cmd = gitCommand(args, { env, cwd });
    const script = [`exec git ${cmd.args.map(shQuote).join(' ')}`];
    const limit = options.maxOutput ?? MAX_GIT_OUTPUT;
    const o = { input, limit, lastReadsOnly: readsOnly(args) };
    const { code, stdout, stderr } = await shell(script, cmd.env, cwd, args[0] ?? '', o, cmd.args);
    return { code, stdout, stderr };
  };
  const sequence = async (
    given: ReadonlyArray<readonly string[] | GitStep>,
    cwd: string,
    options: { readonly maxOutput?: number } = {},
  ): Promise<GitSequenceResult> => {
    const steps = given.map((g): GitStep => ('args' in g ? g : { args: g }));
    if (steps.some((s, i) => s.apart && i > 0)) throw new Error('only the first step of a git sequence can be apart');
    const cmds = steps.map((s) => gitCommand(s.args, { env, cwd: s.driversFrom ?? s.cwd ?? cwd }));
    const base = cmds[0]?.env ?? {};
    const last = cmds.length - 1;
    // Ends the apart step's output: a marker no file name or git output holds by chance, and its exit status.
    const marker = `\n--mso-step-${randomBytes(12).toString('hex')}--`;
    const apartFirst = steps[0]?.apart === true;
    const script = cmds.map((c, i) => {
      const step = steps[i] as GitStep;
      // A step in its own folder gets that folder's driver keys (past GIT_CONFIG_COUNT, keys are ignored).
      const own = Object.entries(c.env)
        .filter(([k, v]) => k.startsWith('GIT_CONFIG_') && base[k] !== v)
        .map(([k, v]) => `${k}=${shQuote(v)} `);
      if (c.env['GIT_CONFIG_COUNT'] === undefined && base['GIT_CONFIG_COUNT'] !== undefined)
        own.push('GIT_CONFIG_COUNT=0 ');
      const where = step.cwd === undefined ? '' : `-C ${shQuote(step.cwd)} `;
      const writes = (step.writes ?? []).map((w) => `printf '%s' ${shQuote(w.text)} >${shQuote(w.path)} && `).join('');
      const line = `${own.join('')}git ${where}${c.args.map(shQuote).join(' ')}`;
      if (step.apart) {
        // Side by side with the steps after it when the runner gives it a file of its own (see ScriptRequest.side):
        // its output, then the marker, land there; without one it runs first, its output first in stdout.
        const marked = `{ ${line}; printf '%s %s\\n' ${shQuote(marker)} "$?"; }`;
        return `${writes}if [ -n "\${${SIDE_FILE}:-}" ]; then ${marked} >"$${SIDE_FILE}" 2>/dev/null & else ${marked} 2>/dev/null; fi`;
      }
      // Once an apart step may still run, the shell waits for it before it ends (no `exec` of the last step).
      if (i === last) return apartFirst ? `${writes}${line}; s=$?; wait; exit $s` : `${writes}exec ${line}`;
      return `${writes}${line} || ${apartFirst ? `{ wait; exit ${SEQUENCE_FAILED + i}; }` : `exit ${SEQUENCE_FAILED + i}`}`;
    });
    // An apart step alone: the shell still waits for it.
    if (apartFirst && last === 0) script.push('wait');
    const what = steps.at(-1)?.args[0] ?? '';
    const limit = options.maxOutput ?? MAX_GIT_OUTPUT;
    const lastStep = steps.at(-1);
    // An apart step alone ends with `wait`, after which a file size limit would stop nothing (the server's own check
    // on the output's size still holds).
    const lastReadsOnly =
      lastStep !== undefined && !(apartFirst && last === 0) && lastStep.cwd === undefined && readsOnly(lastStep.args);
    const r = await shell(script, base, cwd, what, { limit, lastReadsOnly, side: apartFirst });
    let apart: GitSequenceResult['apart'];
    let stdout = r.stdout;
    if (apartFirst) {
      // Its output and marker: the side file's when it had one, else the head of stdout.
      const text = r.side ?? stdout;
      const at = text.indexOf(marker + ' ');
      const end = at < 0 ? -1 : text.indexOf('\n', at + marker.length);
      if (at >= 0 && end >= 0) {
        apart = { code: Number(text.slice(at + marker.length + 1, end)), stdout: text.slice(0, at) };
        if (r.side === undefined) stdout = text.slice(end + 1);
      } else apart = { code: r.code || 1, stdout: '' };
    }
    const done = { stdout, stderr: r.stderr, ...(apart ? { apart } : {}) };
    if (r.code === 0) return { code: 0, ...done, failed: null };
    // A shell that could not start (no such folder) ran none of the steps: the first one failed.
    if (r.notStarted) return { code: r.code, ...done, failed: 0 };
    const i = r.code - SEQUENCE_FAILED;
    return { code: r.code, ...done, failed: i >= 0 && i < last ? i : last };
  };
  return {
    run,
    sequence,
    async ok(args, cwd) {
      const r = await run(args, cwd);
      if (r.code !== 0)
        throw new Error(`git ${args.join(' ')} failed in ${cwd}: ${r.stderr.trim() || r.stdout.trim()}`);
      return r.stdout.trim();
    },
  };
}

/** A node's commit as `commitAll` made it. */
export interface NodeCommit {
  readonly commit: string;
  /** HEAD before the commit (the commit's only parent). */
  readonly parent: string;
  /** The paths the commit changed against its parent (renames and copies by their new path), verbatim. */
  readonly files: readonly string[];
  /** `git diff --binary parent commit`, trimmed; empty when it was too large to keep (see patchOmitted). */
  readonly patch: string;
  /** Why the patch was left out (larger than `maxPatchChars`, or than git's output limit), or null. */
  readonly patchOmitted: string | null;
  /**
   * The commit's changes against its parent, with full object ids (its tree is the parent's with these applied); null
   * for a merge commit (left by an agent's unfinished merge), whose changes git log does not print.
   */
  readonly changes: readonly RawChange[] | null;
}

const logArgs = (patch: boolean): string[] => [
  'log',
  '-1',
  '--no-color',
  '--format=%H %P',
  '--raw',
  '--no-abbrev',
  '-z',
  ...(patch ? ['-p', '--binary'] : []),
  'HEAD',
];

/**
 * Stages everything in the worktree and commits it (empty commits too), then reads the commit, its parent, the
 * changed paths and the binary patch back with one `git log`: the three commands run in one process
 * ({@link Git.sequence}), where `add`, `commit`, `rev-parse` twice, `diff --binary` and `diff --name-only` took six.
 * A patch over `maxPatchChars` (or over git's output limit, then read again without it) is left out and the reason
 * given. `first`, a git command whose failure does not matter (the engine's look at the repository's checkout), runs
 * in the same process, beside them (an apart step); its exit status and output come back as `first`.
 */
export async function commitAll(
  git: Git,
  worktree: string,
  message: string,
  maxPatchChars: number,
  first?: { readonly args: readonly string[]; readonly cwd: string },
): Promise<NodeCommit & { readonly first?: { readonly code: number; readonly stdout: string } }> {
  const steps = [['add', '-A'], ['commit', '--allow-empty', '-q', '-m', message], logArgs(true)] as const;
  const skip = first ? 1 : 0;
  // A patch past the limit is never held: git is stopped once its output passes it (a 500 MB file is not read in).
  const r = await git.sequence(first ? [{ ...first, apart: true }, ...steps] : steps, worktree, {
    maxOutput: maxPatchChars + 4 * 1024 * 1024,
  });
  const listed = r.apart ? { first: r.apart } : {};
  const failed = r.failed === null ? null : Math.max(0, r.failed - skip);
  if (failed === 0 || failed === 1) {
    const step = steps[failed];
    throw new Error(`git ${step.join(' ')} failed in ${worktree}: ${r.stderr.trim() || r.stdout.trim()}`);
  }
  if (failed === null) {
    const c = parseCommitLog(r.stdout);
    if (c.patch.length <= maxPatchChars) return { ...c, ...listed };
    const why = `the patch is ${c.patch.length} characters; at most ${maxPatchChars} are kept`;
    return { ...c, patch: '', patchOmitted: why, ...listed };
  }
  const without = await git.run(logArgs(false), worktree);
  if (without.code !== 0)
    throw new Error(`git ${logArgs(false).join(' ')} failed in ${worktree}: ${without.stderr.trim()}`);
  const omitted = /printed more than/.test(r.stderr)
    ? `the patch is larger than ${maxPatchChars} characters, the most that is kept`
    : r.stderr.trim().slice(0, 300);
  return { ...parseCommitLog(without.stdout), patch: '', patchOmitted: omitted, ...listed };
}

/**
 * Parses `git log -1 --format='%H %P' --raw --no-abbrev -z -p --binary`: `<commit> <parent>\0`, then (when the
 * commit changed anything) `\n`, one raw record per path (`:<modes> <ids> <status>\0<path>\0`, two paths for renames
 * and copies), `\0` and the patch.
 */
export function parseCommitLog(out: string): NodeCommit {
  const end = out.indexOf('\0');
  const [commit = '', parent = '', ...otherParents] = out.slice(0, end).trim().split(' ');
  if (!/^[0-9a-f]{40,64}$/.test(commit) || !/^[0-9a-f]{40,64}$/.test(parent))
    throw new Error(`unexpected git log output: ${out.slice(0, 200)}`);
  const files: string[] = [];
  const changes: RawChange[] = [];
  let i = end + 1;
  if (out[i] === '\n') i++;
  while (out[i] === ':') {
    const meta = out.slice(i, out.indexOf('\0', i));
    i += meta.length + 1;
    const [, mode = '', , oid = '', status = ''] = meta.slice(1).split(' ');
    const paths: string[] = [];
    for (let k = status.startsWith('R') || status.startsWith('C') ? 2 : 1; k > 0; k--) {
      const next = out.indexOf('\0', i);
      paths.push(out.slice(i, next));
      i = next + 1;
    }
    const path = paths.at(-1) as string;
    files.push(path);
    changes.push({ status, path, from: paths.length > 1 ? (paths[0] as string) : null, mode, oid });
  }
  if (out[i] === '\0') i++;
  const merge = otherParents.length > 0;
  return { commit, parent, files, patch: out.slice(i).trim(), patchOmitted: null, changes: merge ? null : changes };
}

/**
 * The branch of a node in a run, `mso/<run-id>/<node-id>`, checked by the same ref rule as the id schemas
 * (`refComponentProblem`), so git never refuses a name mso made.
 */
export function nodeBranch(runId: string, nodeId: string): string {
  const ref = nodeBranchName(runId, nodeId);
  const problem = refNameProblem(ref);
  if (problem) throw new InvalidArgumentError('branch name', `${ref}: ${problem}`);
  return ref;
}
