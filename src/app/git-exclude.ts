import { dirname } from 'node:path';
import type { Fs } from '../platform/index.js';

/**
 * Adds each pattern to its repository's `info/exclude` unless a line already says it, so a workspace or observation
 * root inside a git working tree never shows in `git status` (and `git add -A` never takes it). The file is local
 * to the clone: nothing the user commits changes. Best effort: a repository we cannot write to only loses the hint.
 */
export async function keepOutOfGitStatus(
  fs: Fs,
  excludes: ReadonlyArray<{ readonly file: string; readonly pattern: string }>,
): Promise<void> {
  for (const { file, pattern } of excludes) {
    try {
      const text = await fs.readFile(file, 'utf8').catch(() => '');
      if (text.split('\n').some((l) => l.trim() === pattern)) continue;
      await fs.mkdir(dirname(file), { recursive: true });
      const sep = text === '' || text.endsWith('\n') ? '' : '\n';
      await fs.appendFile(file, `${sep}# mso workspace (kept out of git status)\n${pattern}\n`);
    } catch {
      // A read-only .git: the root then shows as untracked, which is all that is lost.
    }
  }
}
