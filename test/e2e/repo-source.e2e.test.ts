import { connectMso } from '../helpers/mcp.js';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers/cli.js';
import { fileHashes } from '../helpers/files.js';

let sb: Sandbox;
afterEach(async () => {
  await sb.cleanup();
});

const oneNode = async (dir: string): Promise<string> => {
  const wf = join(dir, 'wf.yaml');
  await writeFile(
    wf,
    stringify({ name: 'one', nodes: [{ id: 'a', label: 'a', command: 'echo a > a.md' }], edges: [] }),
  );
  return wf;
};

describe('where a run branches from', () => {
  it('outside a git repository refuses (exit 2, nothing written) unless --init or --repo says what to do', async () => {
    sb = await makeSandbox('mso-norepo-', { repo: false });
    const wf = await oneNode(sb.dir);
    const before = readdirSync(sb.dir).sort();
    const r = await sb.run(['run', '--workflow', wf]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`${sb.dir} is not inside a git repository`);
    expect(r.stderr).toMatch(/pass --init .* or --repo PATH/);
    // No workspace, no repository, nothing at all.
    expect(readdirSync(sb.dir).sort()).toEqual(before);
    const both = await sb.json<{ error: { code: string; field: string } }>([
      'run',
      '--workflow',
      wf,
      '--init',
      '--repo',
      '.',
    ]);
    expect(both.code).toBe(2);
    expect(both.body.error).toMatchObject({ code: 'MSO_INVALID_ARGUMENT', field: '--init' });
    expect(readdirSync(sb.dir).sort()).toEqual(before);
    // --init: a new, empty repository in the run folder (the folder itself stays no repository).
    const init = await sb.json<{ status: string; repo: string; run_id: string; next: Array<{ command: string }> }>([
      'run',
      '--workflow',
      wf,
      '--init',
    ]);
    expect(init.code, init.stderr).toBe(0);
    expect(init.body.repo).toBe(join(sb.dir, 'workspace', '.mso-context', 'active', init.body.run_id, 'repo'));
    // Its result is in that repository: the next step is the patch that carries it out, not a merge into it.
    expect(init.body.next[0]?.command).toBe(`mso apply ${init.body.run_id} --patch result.patch`);
    expect(existsSync(join(sb.dir, '.git'))).toBe(false);
    // Once a workspace exists, a refusal leaves it byte for byte as it was (audit DB included).
    const ws = fileHashes(join(sb.dir, 'workspace'));
    expect((await sb.run(['run', '--workflow', wf])).code).toBe(2);
    expect(fileHashes(join(sb.dir, 'workspace'))).toEqual(ws);
    // A run only designed branches when it is resumed: the same rule then, before anything is written.
    const designed = await sb.json<{ run_id: string }>([
      'design',
      'all',
      '--workflow',
      wf,
      '--run-id',
      '20261127-msowd-later',
    ]);
    expect(designed.code, designed.stderr).toBe(0);
    const shown = (await sb.json<{ status: string }>(['status', '20261127-msowd-later'])).body.status;
    const refused = await sb.run(['resume', '20261127-msowd-later']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/not inside a git repository: pass --init/);
    const status = await sb.json<{ status: string }>(['status', '20261127-msowd-later']);
    expect(status.body.status).toBe(shown);
    const resumed = await sb.json<{ status: string }>(['resume', '20261127-msowd-later', '--init']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.body.status).toBe('completed');
  });

  it('a repository with no commit yet refuses (exit 2, nothing written), naming it; one git call tells both', async () => {
    sb = await makeSandbox('mso-unborn-', { repo: false });
    execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: sb.dir });
    const wf = await oneNode(sb.dir);
    const before = readdirSync(sb.dir).sort();
    const r = await sb.run(['run', '--workflow', wf]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`${sb.dir} has no commit to start from (commit something first)`);
    expect(readdirSync(sb.dir).sort()).toEqual(before);
  });

  it('leaves the user repository clean: the default workspace sits in .git/mso, one asked for inside is excluded', async () => {
    sb = await makeSandbox('mso-clean-');
    const repo = sb.cwd;
    await mkdir(join(repo, 'docs'), { recursive: true });
    const wf = await oneNode(join(repo, 'docs'));
    const porcelain = (): string =>
      execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: repo, encoding: 'utf8' });
    // A user's repository with their own files committed: the tree is clean before the run.
    execFileSync('git', ['add', '-A'], { cwd: repo });
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'mine'], { cwd: repo });
    expect(porcelain()).toBe('');
    const bare = { MSO_WORKSPACE_ROOT: undefined, MSO_OBSERVATION_ROOT: undefined };
    const r = await sb.json<{ status: string; run_id: string }>(['run', '--workflow', wf], { env: bare });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(repo, '.git', 'mso', 'workspace', '.mso-context', 'active', r.body.run_id))).toBe(true);
    // The observation space shows the run as it ended (the observation after the run mirrors it).
    const readme = await readFile(
      join(repo, '.git', 'mso', 'observation', 'tester', r.body.run_id, 'readme.md'),
      'utf8',
    );
    expect(readme).toContain('- **Status**: completed');
    expect(existsSync(join(repo, 'workspace'))).toBe(false);
    expect(porcelain()).toBe('');
    // From a subfolder the same workspace is found.
    const st = await sb.json<{ status: string }>(['status', r.body.run_id], { env: bare, cwd: join(repo, 'docs') });
    expect(st.body.status).toBe('completed');
    // Roots asked for inside the working tree are used, and kept out of git status (.git/info/exclude).
    const inside = { MSO_WORKSPACE_ROOT: join(repo, 'ws'), MSO_OBSERVATION_ROOT: join(repo, 'docs', 'obs') };
    const asked = await sb.json<{ status: string }>(['run', '--workflow', wf], { env: inside });
    expect(asked.code, asked.stderr).toBe(0);
    expect(existsSync(join(repo, 'ws', '.mso-context'))).toBe(true);
    expect(porcelain()).toBe('');
    expect(execFileSync('git', ['check-ignore', 'ws', 'docs/obs'], { cwd: repo, encoding: 'utf8' })).toBe(
      'ws\ndocs/obs\n',
    );
  });

  it('over MCP: orchestrate or run_resume of a designed run outside a repository is an isError naming init; with init: true the run completes', async () => {
    sb = await makeSandbox('mso-mcp-norepo-', { repo: false });
    await sb.run(['init']);
    const client = await connectMso('repo-source', sb);
    try {
      const workflow_inline = stringify({
        name: 'one',
        nodes: [{ id: 'a', label: 'a', command: 'echo a > a.md' }],
        edges: [],
      });
      const refused = await client.callTool({ name: 'orchestrate', arguments: { workflow_inline } });
      expect(refused.isError).toBe(true);
      const text = (refused.content as Array<{ text: string }>)[0]?.text ?? '';
      expect(JSON.parse(text)).toMatchObject({ code: 'MSO_INVALID_ARGUMENT' });
      expect(text).toMatch(/not inside a git repository: pass --init \(MCP and dashboard: init\)/);
      expect(readdirSync(join(sb.dir, 'workspace', '.mso-context', 'active'))).toEqual([]);
      const started = await client.callTool({ name: 'orchestrate', arguments: { workflow_inline, init: true } });
      expect(started.isError, JSON.stringify(started.content)).not.toBe(true);
      const ended = async (runId: string): Promise<string> => {
        let status = '';
        for (let i = 0; i < 60 && status !== 'completed' && status !== 'failed'; i++) {
          const s = await client.callTool({ name: 'run_status', arguments: { run_id: runId, wait_seconds: 2 } });
          status = String((s.structuredContent as { status?: string }).status);
        }
        return status;
      };
      expect(await ended((started.structuredContent as { run_id: string }).run_id)).toBe('completed');
      // A run designed for review starts through run_resume: refused at once without init, completed with it.
      await writeFile(join(sb.cwd, 'one.yaml'), workflow_inline);
      const designed = await client.callTool({ name: 'design', arguments: { workflow: 'one.yaml' } });
      expect(designed.isError, JSON.stringify(designed.content)).not.toBe(true);
      const runId = (designed.structuredContent as { run_id: string }).run_id;
      const noInit = await client.callTool({ name: 'run_resume', arguments: { run_id: runId } });
      expect(noInit.isError).toBe(true);
      expect((noInit.content as Array<{ text: string }>)[0]?.text).toMatch(/not inside a git repository/);
      const resumed = await client.callTool({ name: 'run_resume', arguments: { run_id: runId, init: true } });
      expect(resumed.structuredContent).toMatchObject({ run_id: runId, resumed: true });
      expect(await ended(runId)).toBe('completed');
    } finally {
      await client.close();
    }
  });

  it('refuses a workflow naming an unknown persona or agent, with the field path, before writing anything', async () => {
    sb = await makeSandbox('mso-names-');
    await sb.run(['init']);
    const before = fileHashes(join(sb.dir, 'workspace'));
    // The repository's refs (branches, HEAD) and its git directory's files, byte for byte.
    const refs = (): string =>
      execFileSync('git', ['for-each-ref', '--format=%(refname) %(objectname)'], { cwd: sb.cwd, encoding: 'utf8' });
    const refsBefore = refs();
    const gitBefore = fileHashes(join(sb.cwd, '.git'));
    for (const [hint, field] of [
      [{ persona: 'nosuch' }, 'nodes[1].persona'],
      [{ agent: 'nosuch' }, 'nodes[1].agent'],
    ] as const) {
      const wf = join(sb.dir, 'names.yaml');
      await writeFile(
        wf,
        stringify({
          name: 'names',
          nodes: [
            { id: 'a', label: 'a', command: 'true', persona: 'arch' },
            { id: 'b', label: 'b', ...hint },
          ],
          edges: [{ from: 'a', to: 'b' }],
        }),
      );
      const r = await sb.json<{ error: { code: string; field: string; message: string } }>([
        'run',
        '--workflow',
        wf,
        '--allow-manual',
      ]);
      expect(r.code).toBe(2);
      expect(r.body.error.field).toBe(`${wf} ${field}`);
      expect(r.body.error.message).toMatch(
        /unknown (persona|agent) nosuch \(known: .*arch|unknown agent nosuch \(known: .*shell/,
      );
      expect(fileHashes(join(sb.dir, 'workspace'))).toEqual(before);
      expect(refs()).toBe(refsBefore);
      expect(fileHashes(join(sb.cwd, '.git'))).toEqual(gitBefore);
      // The repository is asked while the workflow is read: a bad --repo too, the workflow's field is still the one
      // reported.
      const both = await sb.json<{ error: { field: string } }>(['run', '--workflow', wf, '--repo', sb.dir]);
      expect(both.code).toBe(2);
      expect(both.body.error.field).toBe(`${wf} ${field}`);
    }
    const wf = await oneNode(sb.dir);
    const norepo = await sb.json<{ error: { field: string; message: string } }>([
      'run',
      '--workflow',
      wf,
      '--repo',
      sb.dir,
    ]);
    expect(norepo.body.error.field).toBe('--repo');
    expect(norepo.body.error.message).toContain(`${sb.dir} is not inside a git repository`);
    expect(fileHashes(join(sb.dir, 'workspace'))).toEqual(before);
  });
});
