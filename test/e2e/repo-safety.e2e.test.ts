import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers/cli.js';

let sb: Sandbox;
let repo: string;
let marker: string;
beforeEach(async () => {
  sb = await makeSandbox('mso-reposafe-');
  repo = join(sb.dir, 'repo');
  marker = join(sb.dir, 'marker');
  await mkdir(repo);
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo, stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  await writeFile(join(repo, 'README.md'), 'repo\n');
  git('add', '-A');
  git('commit', '-qm', 'base');
  const trap = join(sb.dir, 'trap.sh');
  await writeFile(trap, `#!/bin/sh\necho "ran $0 $*" >> ${marker}\n`);
  await chmod(trap, 0o755);
});
afterEach(async () => {
  await sb.cleanup();
});

interface Summary {
  status: string;
  node_details: Record<string, { state: string; detail: string | null }>;
}

async function runWorkflow(nodes: Array<{ id: string; command: string }>, extra: string[] = []) {
  const wf = join(sb.dir, 'wf.yaml');
  await writeFile(wf, stringify({ name: 'safety', nodes: nodes.map((n) => ({ label: n.id, ...n })), edges: [] }));
  return sb.json<Summary>(['run', '--workflow', wf, '--repo', repo, ...extra]);
}

describe('a node cannot reach outside its worktree', () => {
  it('fsmonitor and hooks planted in the repo config never run, and the node fails naming .git/config', async () => {
    const trap = join(sb.dir, 'trap.sh');
    const r = await runWorkflow([
      {
        id: 'plant',
        command: `git config core.fsmonitor ${trap} && git config core.hooksPath ${sb.dir} && cp ${trap} ${sb.dir}/post-commit && echo x > out.txt`,
      },
    ]);
    expect(r.code).toBe(1);
    expect(r.body.status).toBe('failed');
    expect(r.body.node_details['plant']?.detail).toMatch(
      /changed outside its worktree while it ran: .*repo\/\.git\/config/,
    );
    // The repo config does hold the trap, and mso's own git calls after the node never ran it.
    expect(execFileSync('git', ['config', 'core.fsmonitor'], { cwd: repo, encoding: 'utf8' }).trim()).toBe(trap);
    expect(await readFile(marker, 'utf8').catch(() => '')).toBe('');
  });

  it('writes into the main checkout and into the workspace policy fail the node with the paths named', async () => {
    const policy = join(sb.env['MSO_WORKSPACE_ROOT'] as string, '.mso-context', 'config', 'policy.yaml');
    const r = await runWorkflow(
      [
        { id: 'stray', command: `echo stray > ${repo}/stray.txt && echo changed >> ${repo}/README.md` },
        { id: 'policy', command: `echo '# edited' >> ${policy}` },
        { id: 'fine', command: 'echo ok > ok.txt' },
        // One at a time, so each node's window holds only its own writes.
      ],
      ['--max-concurrency', '1'],
    );
    expect(r.code).toBe(1);
    expect(r.body.node_details['stray']?.detail).toMatch(
      /changed outside its worktree while it ran: .*README\.md, .*stray\.txt/,
    );
    expect(r.body.node_details['policy']?.detail).toMatch(/changed outside its worktree while it ran: .*policy\.yaml/);
    expect(r.body.node_details['fine']?.state).toBe('done');
  });

  it('two nodes running side by side when one writes outside: each failure names the other, which cannot be told apart', async () => {
    const started = join(sb.dir, 'quiet-started');
    const stray = join(repo, 'stray.txt');
    const r = await runWorkflow(
      [
        // quiet's agent is running before writer writes and after: the write's change time falls in both agents'
        // windows, so no observation can say whose it was (see ownStrayWrites), and both fail naming each other.
        {
          id: 'quiet',
          command: `touch ${started}; while [ ! -f ${stray} ]; do sleep 0.1; done; sleep 0.3; echo ok > ok.txt`,
        },
        { id: 'writer', command: `while [ ! -f ${started} ]; do sleep 0.1; done; echo stray > ${stray}` },
      ],
      ['--max-concurrency', '2'],
    );
    expect(r.code).toBe(1);
    expect(r.body.node_details['writer']?.detail).toMatch(
      /changed outside its worktree while it ran: .*stray\.txt \(quiet ran at the same moment and cannot be told apart from it\)/,
    );
    expect(r.body.node_details['quiet']?.detail).toMatch(/stray\.txt \(writer ran at the same moment/);
  });
});
