import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPO_ROOT, makeSandbox, type Sandbox } from '../helpers/cli.js';

let sb: Sandbox;
beforeEach(async () => {
  sb = await makeSandbox('mso-walk-');
});
afterEach(async () => {
  await sb.cleanup();
});

/** The `npx mso ...` lines of the README's walk-through block, in order. */
async function walkthrough(): Promise<string[][]> {
  const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Walk-through'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  return block
    .split('\n')
    .filter((l) => l.startsWith('npx mso '))
    .map((l) => l.slice('npx mso '.length).trim().split(/\s+/));
}

describe('the README walk-through', () => {
  it('goes from a clone to a finished 3-node run with a visible result, using only the README commands', async () => {
    const steps = await walkthrough();
    expect(steps.map((s) => s[0])).toEqual(['init', 'run', 'status', 'logs', 'apply']);
    // A clone of this checkout's committed tree (the examples come with it).
    const clone = join(sb.dir, 'clone');
    execFileSync('git', ['clone', '-q', REPO_ROOT, clone]);
    // The defaults a user gets: inside the clone the workspace goes to its git directory, out of the working tree.
    const env = { MSO_WORKSPACE_ROOT: undefined, MSO_OBSERVATION_ROOT: undefined };
    let runId = '';
    const out: string[] = [];
    for (const step of steps) {
      const args = step.map((a) => (a === '<run-id>' ? runId : a));
      const r = await sb.run(args, { cwd: clone, env });
      expect(r.code, `mso ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
      if (step[0] === 'run') {
        runId = (/^run\s+(\S+)$/m.exec(r.stdout) as RegExpMatchArray)[1] as string;
        // Nothing of the run shows in the user's working tree: no workspace folder, no worktree, no file.
        expect(
          execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: clone, encoding: 'utf8' }),
        ).toBe('');
        expect(existsSync(join(clone, '.git', 'mso', 'workspace', '.mso-context', 'active', runId))).toBe(true);
      }
      out.push(r.stdout);
    }
    const [, run, status, logs, apply] = out as [string, string, string, string, string];
    expect(run).toContain('status    completed');
    expect(run).toMatch(new RegExp(`^result    mso/${runId}/check @ [0-9a-f]{12}`, 'm'));
    expect(status).toMatch(/^check\s+done\s+shell\s+1\s/m);
    expect(logs).toContain('[draft#1 shell]');
    expect(apply).toContain('PATCH');
    // The visible result: the patch brings the run's files into the clone.
    execFileSync('git', ['apply', 'result.patch'], { cwd: clone });
    expect(await readFile(join(clone, 'NOTE.md'), 'utf8')).toBe('MSO keeps every step on record.\n');
    expect((await readFile(join(clone, 'SUMMARY.txt'), 'utf8')).trim()).toBe('6');
  });
});
