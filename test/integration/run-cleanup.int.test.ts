import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp, resolveSettings, type MsoApp } from '../../src/app/index.js';
import { nodePlatform } from '../../src/platform/index.js';
import { tempRepo } from '../helpers/agents.js';

// A completed run removes its worktrees. A folder that cannot be removed (files an agent left read-only, which an
// unprivileged user cannot delete) must not undo the run: its nodes are done and their commits are on the branches.
let repo: Awaited<ReturnType<typeof tempRepo>>;
let dir: string;
let warnings: string[];

function appWith(rmFails: (path: string) => boolean): MsoApp {
  const platform = nodePlatform();
  const fs: typeof platform.fs = {
    ...platform.fs,
    rm: (path, options) =>
      rmFails(String(path))
        ? Promise.reject(
            Object.assign(new Error(`EACCES: permission denied, unlink '${String(path)}/x'`), { code: 'EACCES' }),
          )
        : platform.fs.rm(path, options),
  };
  return createApp(
    {
      ...platform,
      fs,
      logger: { warn: (m: string) => void warnings.push(m), info: () => undefined },
      env: { PATH: process.env['PATH'], HOME: join(dir, 'home') },
      version: 't',
    },
    resolveSettings({ workspace: join(dir, 'ws'), observation: join(dir, 'obs'), observer: 'tester' }, {}, dir),
  );
}

beforeEach(async () => {
  repo = await tempRepo();
  dir = repo.dir;
  warnings = [];
  await writeFile(
    join(dir, 'two.yaml'),
    stringify({
      name: 'two',
      nodes: [
        { id: 'a', label: 'a', command: 'echo a > a.md' },
        { id: 'b', label: 'b', command: 'echo b > b.md' },
      ],
      edges: [{ from: 'a', to: 'b' }],
    }),
  );
});
afterEach(async () => {
  await repo.cleanup();
});

describe('a completed run’s worktrees', () => {
  it('are removed, and one that cannot be is kept with a warning while the run stays completed', async () => {
    const app = appWith((path) => path.endsWith('/worktree/a'));
    await app.workspace.init();
    const r = await app.engine.run({ workflow: join(dir, 'two.yaml') });
    expect(r.status).toBe('completed');
    expect(r.nodes).toMatchObject({ done: 2 });
    const runDir = join(dir, 'ws', '.mso-context', 'active', r.run_id);
    expect(existsSync(join(runDir, 'worktree', 'a'))).toBe(true);
    expect(existsSync(join(runDir, 'worktree', 'b'))).toBe(false);
    expect((await app.runs.show(r.run_id)).status).toBe('completed');
    const event = await app.audit.query(
      `SELECT payload FROM events WHERE run_id = '${r.run_id}' AND type = 'run.cleanup'`,
    );
    expect(JSON.parse((event.rows[0] as { payload: string }).payload)).toMatchObject({
      removed_worktrees: ['b'],
      kept_worktrees: [{ node: 'a', path: join(runDir, 'worktree', 'a'), reason: expect.stringContaining('EACCES') }],
    });
    expect(warnings.join('\n')).toContain(join(runDir, 'worktree', 'a'));
    expect(warnings.join('\n')).toContain('EACCES');
    // Both branches keep the nodes' commits.
    const branches = execFileSync('git', ['branch', '--list', `mso/${r.run_id}/*`], { cwd: dir, encoding: 'utf8' });
    expect(branches.trim().split('\n')).toHaveLength(2);
  }, 60_000);

  it('are pruned later, and a folder that still cannot be removed is named while the prune goes on', async () => {
    const app = appWith((path) => path.includes('/worktree'));
    await app.workspace.init();
    const r = await app.engine.run({ workflow: join(dir, 'two.yaml') });
    expect(r.status).toBe('completed');
    warnings = [];
    const pruned = await app.engine.prune({});
    // git removed the kept worktrees and deleted the branches; only the run's worktree folder itself is left.
    expect(pruned).toEqual([expect.objectContaining({ run_id: r.run_id, worktrees_removed: 2 })]);
    expect(pruned[0]?.branches_deleted).toHaveLength(2);
    const folder = join(dir, 'ws', '.mso-context', 'active', r.run_id, 'worktree');
    expect(warnings.join('\n')).toContain(`could not remove ${folder} (EACCES`);
  }, 60_000);
});
