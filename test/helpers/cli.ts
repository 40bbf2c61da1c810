import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const MSO_BIN = join(REPO_ROOT, 'bin', 'mso.js');

export interface MsoResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A temporary directory with an isolated HOME, workspace and observation root for one test. */
export interface Sandbox {
  readonly dir: string;
  /** Where commands run: a git repository (`dir/work`), or `dir` for a sandbox made with `{ repo: false }`. */
  readonly cwd: string;
  readonly env: Record<string, string>;
  run(args: readonly string[], opts?: { env?: Record<string, string | undefined>; cwd?: string }): Promise<MsoResult>;
  json<T = Record<string, unknown>>(
    args: readonly string[],
    opts?: { env?: Record<string, string | undefined>; cwd?: string },
  ): Promise<{ code: number; body: T; stderr: string }>;
  cleanup(): Promise<void>;
}

/** Runs the built `mso` CLI with the Node that runs the tests (Node 24 under npm test). */
export function runMso(
  args: readonly string[],
  opts: { cwd: string; env: Record<string, string | undefined> },
): Promise<MsoResult> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [MSO_BIN, ...args],
      { cwd: opts.cwd, env: opts.env as NodeJS.ProcessEnv, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

/** The agent CLIs the interop suite installs in `node_modules/.bin`: an e2e run must never reach one. */
const REAL_AGENT_CLIS = ['claude', 'codex', 'gemini'];

/**
 * The test's PATH without this checkout's `node_modules/.bin` and without any other folder holding a real agent CLI
 * (another checkout's `node_modules/.bin` early in the PATH of the shell that started the tests), so an e2e run never
 * reaches a real `claude` through a default fallback chain; plus `bin` holding only the test's Node as `node` (for
 * scripts such as the fake agent).
 */
export async function hermeticPath(bin: string): Promise<string> {
  await mkdir(bin, { recursive: true });
  await symlink(process.execPath, join(bin, 'node'));
  const devBin = join(REPO_ROOT, 'node_modules', '.bin');
  const holdsAgent = (dir: string): boolean => REAL_AGENT_CLIS.some((c) => existsSync(join(dir, c)));
  const rest = (process.env['PATH'] ?? '/usr/bin:/bin')
    .split(':')
    .filter((p) => p !== '' && resolve(p) !== devBin && !holdsAgent(resolve(p)));
  return [bin, ...rest].join(':');
}

/**
 * A sandbox folder for one test, with its own HOME, workspace and observation roots. By default its `work/` folder is
 * a git repository with one empty commit, and the working directory of every command (`cwd`): mso refuses to run
 * outside a repository unless given --init or --repo. The test's own files (workflows, markers, logs) stay in `dir`,
 * outside that repository, so writing them while a node runs is no write into the user's checkout.
 * `{ repo: false }`: no repository, and `cwd` is `dir`.
 */
export async function makeSandbox(prefix = 'mso-e2e-', opts: { repo?: boolean } = {}): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const cwd = opts.repo === false ? dir : join(dir, 'work');
  if (opts.repo !== false) {
    await mkdir(cwd);
    const git = (...args: string[]): void =>
      void execFileSync('git', ['-c', 'user.name=mso test', '-c', 'user.email=test@mso.invalid', ...args], {
        cwd,
        stdio: 'ignore',
      });
    git('init', '-q', '-b', 'main');
    git('commit', '-q', '--allow-empty', '-m', 'sandbox base');
  }
  const env: Record<string, string> = {
    PATH: await hermeticPath(join(dir, 'bin')),
    HOME: join(dir, 'home'),
    MSO_WORKSPACE_ROOT: join(dir, 'workspace'),
    MSO_OBSERVATION_ROOT: join(dir, 'observation'),
    MSO_OBSERVER_ID: 'tester',
  };
  const sandbox: Sandbox = {
    dir,
    cwd,
    env,
    run: (args, opts = {}) => runMso(args, { cwd: opts.cwd ?? cwd, env: { ...env, ...opts.env } }),
    async json(args, opts = {}) {
      const r = await sandbox.run(['--json', ...args], opts);
      let body: unknown;
      try {
        body = JSON.parse(r.stdout);
      } catch {
        throw new Error(`stdout is not one JSON object (exit ${r.code}):\n${r.stdout}\nstderr:\n${r.stderr}`);
      }
      return { code: r.code, body: body as never, stderr: r.stderr };
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
  return sandbox;
}
