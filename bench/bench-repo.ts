import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** A git repository with one empty base commit at `dir/repo`, for the benches that run `mso` against a real repo. */
export function initBenchRepo(dir: string, env: NodeJS.ProcessEnv): string {
  const repo = join(dir, 'repo');
  const git = (...a: string[]): void => {
    const r = spawnSync('git', a, {
      cwd: dir,
      env: {
        ...env,
        GIT_AUTHOR_NAME: 'b',
        GIT_AUTHOR_EMAIL: 'b@b',
        GIT_COMMITTER_NAME: 'b',
        GIT_COMMITTER_EMAIL: 'b@b',
      },
    });
    if (r.status !== 0) throw new Error(`git ${a.join(' ')}: ${r.stderr.toString()}`);
  };
  git('init', '-q', '-b', 'main', repo);
  git('-C', repo, 'commit', '-q', '--allow-empty', '-m', 'base');
  return repo;
}
