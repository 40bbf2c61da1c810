import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { gitDirs } from './git-command.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mso-gitdirs-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('gitDirs', () => {
  it('finds the repository around a folder, not a folder merely named .git', () => {
    const repo = join(dir, 'repo');
    mkdirSync(repo);
    execFileSync('git', ['init', '-q'], { cwd: repo });
    // A stray `.git` holding only `info/exclude` (left by a tool) inside the repository, and one beside it.
    for (const stray of [join(repo, 'sub'), join(dir, 'loose')]) {
      mkdirSync(join(stray, '.git', 'info'), { recursive: true });
      writeFileSync(join(stray, '.git', 'info', 'exclude'), '/x/\n');
    }
    expect(gitDirs(join(repo, 'sub', 'deeper'))).toEqual({
      gitDir: join(repo, '.git'),
      commonDir: join(repo, '.git'),
      workTree: repo,
    });
    expect(gitDirs(join(dir, 'loose', 'a'))).toBeNull();
  });
});
