import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn as ptySpawn } from '@lydell/node-pty';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MSO_BIN, makeSandbox, type Sandbox } from '../helpers/cli.js';
import { fileHashes } from '../helpers/files.js';
import { until, waitingWorkflow } from '../helpers/terminal.js';
import { writeTalkerPolicy } from '../helpers/ui.js';

let sb: Sandbox;
let repo: string;
beforeEach(async () => {
  // Not a repository itself: `--repo sb.dir` below is the non-repository case.
  sb = await makeSandbox('mso-term-', { repo: false });
  repo = join(sb.dir, 'repo');
  execFileSync('git', ['init', '-q', '-b', 'main', repo]);
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', 'base'], {
    cwd: repo,
  });
  await sb.run(['init']);
});
afterEach(async () => {
  await sb.cleanup();
});
/** The progress lines a run printed off a terminal. */
const progressLines = (r: { stderr: string }): string[] => r.stderr.split('\n').filter((l) => l.startsWith('mso: '));

describe('progress on the terminal', () => {
  it('shows a live view on a TTY, cancels on Ctrl-C, and the printed resume command finishes the run', async () => {
    const { file, marker } = await waitingWorkflow(sb.dir);
    const term = ptySpawn(process.execPath, [MSO_BIN, 'run', '--workflow', file, '--repo', repo], {
      cols: 120,
      rows: 30,
      cwd: sb.dir,
      env: sb.env,
    });
    let screen = '';
    term.onData((d) => (screen += d));
    const exited = new Promise<number>((done) => term.onExit((e) => done(e.exitCode)));
    // The finished node scrolls above; the running one is in the live frame with its agent and elapsed time.
    await until(() => screen, /✓ a done \(shell\)/, 'node a done');
    await until(() => screen, /▶ b\s+shell\s+\d+\.\d s/, 'node b running with its agent and elapsed time');
    await until(() => screen, /1\/2 done · 1 running/, 'the counts');
    // The live frame is redrawn in place (log-update), not appended line by line.
    const ESC = String.fromCharCode(27);
    expect(screen.includes(`${ESC}[2K`) || screen.includes(`${ESC}[1A`)).toBe(true);
    term.write('\x03');
    const code = await exited;
    expect(code, screen).toBe(130);
    const runId = (screen.match(/run\s+(\d{8}-\S+)/) as RegExpMatchArray)[1] as string;
    expect(screen).toContain('status    cancelled');
    expect(screen).toContain(`next      mso resume ${runId}`);

    await writeFile(marker, 'go');
    const resumed = await sb.run(['resume', runId]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain('status    completed');
    // Off a TTY: one plain line per state change on stderr; a finished node is not run again.
    expect(progressLines(resumed)).toEqual([
      `mso: run ${runId}: 2 node(s), 1 already done`,
      'mso: b running (shell)  [1/2 done]',
      expect.stringMatching(/^mso: b done \(shell\) in \d+\.\d s {2}\[2\/2 done\]$/),
    ]);
  });

  it('off a TTY, a node stopped at its human gate is waiting, never said to be running until it runs', async () => {
    const file = join(sb.dir, 'gated.yaml');
    await writeFile(
      file,
      stringify({
        name: 'gated',
        goal: 'a gated step',
        nodes: [
          { id: 'a', label: 'a', command: 'echo a > a.txt' },
          { id: 'b', label: 'b', command: 'echo b > b.txt' },
        ],
        edges: [{ from: 'a', to: 'b', type: 'hitl' }],
      }),
    );
    const first = await sb.run(['run', '--workflow', file, '--repo', repo]);
    expect(first.code, first.stderr).toBe(3);
    const runId = (first.stdout.match(/^run\s+(\S+)$/m) as RegExpMatchArray)[1] as string;
    expect(progressLines(first)).toEqual([
      `mso: run ${runId}: 2 node(s), 0 already done`,
      'mso: a running (shell)  [0/2 done]',
      expect.stringMatching(/^mso: a done \(shell\) in \d+\.\d s {2}\[1\/2 done\]$/),
      expect.stringMatching(/^mso: waiting for a person: HITL-0001 approve b before it runs \(mso approve\|reject /),
      expect.stringMatching(/^mso: b waiting \(shell\)/),
    ]);
    expect(first.stdout).toMatch(new RegExp(`next      mso resume ${runId}   \\(once HITL-\\d+ is decided\\)`));
    // The gated node never worked: no time is shown for it.
    expect(progressLines(first).at(-1)).not.toMatch(/ in \d/);
    expect((await sb.run(['approve', runId, 'HITL-0001'])).code).toBe(0);
    const resumed = await sb.run(['resume', runId]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(progressLines(resumed)).toEqual([
      `mso: run ${runId}: 2 node(s), 1 already done`,
      'mso: b running (shell)  [1/2 done]',
      expect.stringMatching(/^mso: b done \(shell\) in \d+\.\d s {2}\[2\/2 done\]$/),
    ]);
  });

  it('runs with its output redirected to a file in the repository, which is its own writing, not a node’s', async () => {
    const file = join(sb.dir, 'logged.yaml');
    await writeFile(
      file,
      stringify({
        name: 'logged',
        goal: 'log',
        nodes: [
          { id: 'slow', label: 'slow', command: 'sleep 1; echo s > s.txt' },
          { id: 'quick', label: 'quick', command: 'echo q > q.txt' },
        ],
      }),
    );
    // `mso run ... > run.log 2>&1` from inside the repository: quick's lines reach the log while slow runs.
    const log = join(repo, 'run.log');
    const fd = openSync(log, 'w');
    const code = await new Promise<number | null>((done) => {
      const child = spawn(process.execPath, [MSO_BIN, 'run', '--workflow', file, '--repo', repo], {
        cwd: repo,
        env: sb.env,
        stdio: ['ignore', fd, fd],
      });
      child.on('exit', done);
    });
    closeSync(fd);
    const text = await readFile(log, 'utf8');
    expect(code, text).toBe(0);
    expect(text).toContain('status    completed');
    expect(text).not.toContain('outside its worktree');
  });

  it('--events streams NDJSON; --json stays one object; --quiet is silent; status table; the end names the result; mso apply', async () => {
    const { file, marker } = await waitingWorkflow(sb.dir);
    await writeFile(marker, 'go');
    const ev = await sb.run(['run', '--workflow', file, '--repo', repo, '--events']);
    expect(ev.code, ev.stderr).toBe(0);
    const events = ev.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; node: string | null; payload: Record<string, unknown> });
    expect(events[0]?.type).toBe('run.started');
    expect(events.at(-1)?.type).toBe('run.summary');
    const states = events.filter((e) => e.type === 'node.state').map((e) => `${e.node}:${String(e.payload['state'])}`);
    expect(states).toEqual(['a:running', 'a:done', 'b:running', 'b:done']);
    expect(events.filter((e) => e.type === 'attempt.cost').length).toBe(2);
    expect(ev.stderr).not.toMatch(/^mso: a running/m);
    const runId = (events[0] as unknown as { run_id: string }).run_id;
    const st = await sb.run(['status', runId]);
    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(/^NODE\s+STATE\s+AGENT\s+TRIES\s+DURATION\s+COST\s+BRANCH$/m);
    expect(st.stdout).toMatch(
      new RegExp(`^b\\s+done\\s+shell\\s+1\\s+\\d+\\.\\d s\\s+\\$0\\.0000\\s+mso/${runId}/b$`, 'm'),
    );

    const json = await sb.run(['--json', 'run', '--workflow', file, '--repo', repo]);
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as { status: string }).status).toBe('completed');
    expect(json.stderr).not.toContain('running (shell)');

    const quiet = await sb.run(['--quiet', 'run', '--workflow', file, '--repo', repo]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
    // The end names the result branch and the next command.
    const quietId = (quiet.stdout.match(/^run\s+(\S+)$/m) as RegExpMatchArray)[1] as string;
    expect(quiet.stdout).toMatch(new RegExp(`^result    mso/${quietId}/b @ [0-9a-f]{12} in `, 'm'));
    expect(quiet.stdout).toContain(`next      mso apply ${quietId}`);

    // mso apply: refused on a dirty tree (nothing changes), a patch file, then a real merge into the branch.
    const git = (...args: string[]): string =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo, encoding: 'utf8' });
    await writeFile(join(repo, 'notes.txt'), 'mine\n');
    git('add', 'notes.txt');
    git('commit', '-q', '-m', 'notes');
    await writeFile(join(repo, 'notes.txt'), 'changed\n');
    const head = git('rev-parse', 'HEAD');
    const dirty = await sb.run(['apply', quietId]);
    expect(dirty.code).toBe(1);
    expect(dirty.stderr).toMatch(/uncommitted changes/);
    expect(git('rev-parse', 'HEAD')).toBe(head);
    const patch = await sb.run(['apply', quietId, '--patch', 'result.patch']);
    expect(patch.code, patch.stderr).toBe(0);
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(join(sb.dir, 'result.patch'), 'utf8');
    expect(text).toContain('+++ b/a.md');
    expect(text).toContain('+++ b/b.md');
    git('checkout', '-q', '--', 'notes.txt');
    const merged = await sb.json<{ mode: string; onto: string; merged: string }>(['apply', quietId]);
    expect(merged.code, merged.stderr).toBe(0);
    expect(merged.body).toMatchObject({ mode: 'merge', onto: 'main' });
    expect(git('rev-parse', 'HEAD').trim()).toBe(merged.body.merged);
    expect(git('ls-files').split('\n')).toEqual(expect.arrayContaining(['a.md', 'b.md', 'notes.txt']));
    // Applied again: the branch holds it already, nothing is merged.
    const again = await sb.run(['apply', quietId]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^ALREADY in main of .*: b @ [0-9a-f]{12} \(nothing merged\)$/m);
    expect(git('rev-parse', 'HEAD').trim()).toBe(merged.body.merged);
    // A patch into a folder that does not exist is refused, and no folder is made.
    const nowhere = await sb.json<{ error: { code: string; field: string } }>([
      'apply',
      quietId,
      '--patch',
      'no/such/x.patch',
    ]);
    expect(nowhere.code).toBe(2);
    expect(nowhere.body.error).toMatchObject({ code: 'MSO_INVALID_ARGUMENT', field: '--patch' });
    expect(existsSync(join(sb.dir, 'no'))).toBe(false);
    // A result or branch the run does not have is bad input too (exit 2, the flag named), and nothing moves.
    for (const [flag, value] of [
      ['--node', 'nosuch'],
      ['--onto', 'nosuch'],
    ] as const) {
      const wrong = await sb.json<{ error: { code: string; field: string; message: string } }>([
        'apply',
        quietId,
        flag,
        value,
      ]);
      expect(wrong.code).toBe(2);
      expect(wrong.body.error).toMatchObject({ code: 'MSO_INVALID_ARGUMENT', field: flag });
      expect(wrong.body.error.message).toContain('nosuch');
    }
    expect(git('rev-parse', 'HEAD').trim()).toBe(merged.body.merged);
    // The branch is named wrong even when the checkout is dirty too: the input is told first.
    await writeFile(join(repo, 'notes.txt'), 'dirty\n');
    expect((await sb.json(['apply', quietId, '--onto', 'nosuch'])).code).toBe(2);
    git('checkout', '-q', '--', 'notes.txt');
    // A result that changes nothing is no patch: none is written, and the answer says so.
    const idle = join(sb.dir, 'idle.yaml');
    await writeFile(idle, stringify({ name: 'idle', nodes: [{ id: 'noop', label: 'noop', command: 'true' }] }));
    const noop = await sb.json<{ run_id: string }>(['run', '--workflow', idle, '--repo', repo]);
    // A patch an earlier apply left there is not this result's: it goes too.
    await writeFile(join(sb.dir, 'empty.patch'), 'an older patch\n');
    const empty = await sb.run(['apply', noop.body.run_id, '--patch', 'empty.patch']);
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stdout).toMatch(/^NOTHING to apply: noop @ [0-9a-f]{12} changes nothing since the run's base/m);
    expect(existsSync(join(sb.dir, 'empty.patch'))).toBe(false);

    // mso runs prune: the finished runs' mso/* branches go; their audit stays readable.
    expect((await sb.run(['runs', 'prune', '--older-than', 'soon'])).code).toBe(2);
    expect(git('for-each-ref', '--format=%(refname:short)', 'refs/heads/mso/')).toContain(`mso/${quietId}/b`);
    const pruned = await sb.json<{ count: number; pruned: Array<{ run_id: string; branches_deleted: string[] }> }>([
      'runs',
      'prune',
      '--status',
      'completed',
    ]);
    expect(pruned.code).toBe(0);
    expect(pruned.body.count).toBe(4);
    expect(git('for-each-ref', '--format=%(refname:short)', 'refs/heads/mso/')).toBe('');
    expect((await sb.run(['logs', quietId])).stdout).toContain('[b#1 shell]');
    expect((await sb.json<{ count: number }>(['runs', 'prune'])).body.count).toBe(0);
  });
});

describe('mso logs', () => {
  it('shows what the agent said and ran, live while it runs (--follow) and from the stored transcript after', async () => {
    const scenario = join(sb.dir, 'talk.json');
    await writeFile(
      scenario,
      JSON.stringify({
        name: 'talk',
        steps: [
          { text: 'Reading the code first.' },
          { tool: 'Bash', input: { command: 'npm test' }, output: '1 passed' },
          { writeFile: { path: 'outputs/work.md', content: 'done\n' } },
          { sleep: 2500 },
          { result: { text: 'All done.', costUsd: 0.002 } },
        ],
      }),
    );
    await writeTalkerPolicy(sb, scenario);
    const wf = join(sb.dir, 'wf.yaml');
    await writeFile(
      wf,
      stringify({ name: 'talk', nodes: [{ id: 'work', label: 'work', agent: 'talker' }], edges: [] }),
    );
    const child = spawn(process.execPath, [MSO_BIN, 'run', '--workflow', wf, '--repo', repo, '--events'], {
      cwd: sb.dir,
      env: sb.env,
    });
    let events = '';
    child.stdout.on('data', (d: Buffer) => (events += d.toString()));
    const ended = new Promise<number | null>((done) => child.on('close', done));
    const runId = (await until(() => events, /"run_id":"([^"]+)"/, 'the run id'))[1] as string;
    // While the agent runs, another process follows its words and tool calls.
    const follow = spawn(process.execPath, [MSO_BIN, 'logs', runId, '--follow'], { cwd: sb.dir, env: sb.env });
    let followed = '';
    follow.stdout.on('data', (d: Buffer) => (followed += d.toString()));
    const followEnded = new Promise<number | null>((done) => follow.on('close', done));
    let runEnded = false;
    void ended.then(() => (runEnded = true));
    await until(() => followed, /Reading the code first\.[\s\S]*⚙ \$ npm test/, 'the live text and tool call');
    expect(runEnded).toBe(false);
    expect(await ended, events.split('\n').at(-2)).toBe(0);
    // --follow stops by itself once the run ends, after printing the attempt's end.
    expect(await followEnded).toBe(0);
    expect(followed).toMatch(/── success/);
    const after = await sb.run(['logs', runId, 'work']);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toContain('[work#1 talker] ── attempt 1');
    expect(after.stdout).toContain('Reading the code first.');
    expect(after.stdout).toContain('⚙ $ npm test');
    expect(after.stdout).toMatch(/── success \(\$0\.0020\)/);
    const raw = await sb.json<{ entries: Array<{ kind: string; live: boolean }> }>(['logs', runId]);
    expect(raw.body.entries.map((e) => e.kind)).toEqual(['start', 'text', 'tool', 'tool', 'end']);
    expect(raw.body.entries.every((e) => !e.live)).toBe(true);
    const unknown = await sb.run(['logs', runId, 'nosuch']);
    expect(unknown.code).toBe(2);
  });
});

describe('inputs that fail cleanly', () => {
  it('gives an empty log for a node of the plan that has not run, and refuses a name the run never had', async () => {
    const wf = join(sb.dir, 'wf.yaml');
    await writeFile(
      wf,
      stringify({ name: 'later', nodes: [{ id: 'a', label: 'a', command: 'echo a > a.md' }], edges: [] }),
    );
    // A dry run designs and gates the run and stops: its node never started.
    const dry = await sb.json<{ run_id: string }>(['run', '--workflow', wf, '--dry-run']);
    expect(dry.code).toBe(0);
    const pending = await sb.run(['logs', dry.body.run_id, 'a']);
    expect(pending.code, pending.stderr).toBe(0);
    expect(pending.stdout).toContain('(no agent calls yet)');
    const unknown = await sb.run(['logs', dry.body.run_id, 'nosuch']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(`node not found: ${dry.body.run_id}/nosuch`);
  });

  it('refuses a bad --repo, an unknown --agent and the --run-id of a finished run before writing anything', async () => {
    const wf = join(sb.dir, 'wf.yaml');
    await writeFile(
      wf,
      stringify({ name: 'one', nodes: [{ id: 'a', label: 'a', command: 'echo a > a.md' }], edges: [] }),
    );
    const done = await sb.json<{ run_id: string }>([
      'run',
      '--workflow',
      wf,
      '--repo',
      repo,
      '--run-id',
      '20261127-msowd-done',
    ]);
    expect(done.code).toBe(0);
    const refs = (): string => execFileSync('git', ['show-ref'], { cwd: repo, encoding: 'utf8' });
    const before = { ws: fileHashes(join(sb.dir, 'workspace')), refs: refs() };
    const cases: Array<[string[], RegExp]> = [
      [['--repo', join(sb.dir, 'nowhere')], /--repo.*not inside a git repository/],
      [['--repo', sb.dir], /--repo.*not inside a git repository/],
      [['--repo', repo, '--agent', 'nosuch'], /--agent.*unknown agent nosuch \(known: .*shell/],
      [['--repo', repo, '--run-id', '20261127-msowd-done'], /--run-id.*already exists \(completed\)/],
    ];
    for (const [args, message] of cases) {
      const r = await sb.run(['run', '--workflow', wf, ...args]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(fileHashes(join(sb.dir, 'workspace'))).toEqual(before.ws);
      expect(refs()).toBe(before.refs);
    }
  });

  it('warns that nodes start from HEAD when the working tree has uncommitted changes', async () => {
    await writeFile(join(repo, 'f.txt'), 'one\n');
    execFileSync('git', ['add', 'f.txt'], { cwd: repo });
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'f'], { cwd: repo });
    await writeFile(join(repo, 'f.txt'), 'two\n');
    const wf = join(sb.dir, 'wf.yaml');
    await writeFile(
      wf,
      stringify({ name: 'one', nodes: [{ id: 'a', label: 'a', command: 'cat f.txt > a.md' }], edges: [] }),
    );
    const r = await sb.run(['run', '--workflow', wf, '--repo', repo]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/uncommitted changes: nodes start from HEAD [0-9a-f]{12} and do not see them/);
  });
});

describe('mso rerun', () => {
  it('runs only the failed node and its descendants again, reusing the rest; a failed replay exits 1', async () => {
    const marker = join(sb.dir, 'fixed');
    const wf = join(sb.dir, 'wf.yaml');
    await writeFile(
      wf,
      stringify({
        name: 'flaky',
        nodes: [
          { id: 'a', label: 'a', command: 'echo a > a.md' },
          { id: 'b', label: 'b', command: `test -f ${marker} && echo b > b.md`, max_retry: 0 },
          { id: 'c', label: 'c', command: 'echo c > c.md' },
        ],
        edges: [
          { from: 'a', to: 'b' },
          { from: 'b', to: 'c' },
        ],
      }),
    );
    const first = await sb.json<{ run_id: string; status: string }>(['run', '--workflow', wf, '--repo', repo]);
    expect(first.code).toBe(1);
    expect(first.body.status).toBe('failed');
    const replay = await sb.run(['replay', first.body.run_id, '--from', 'b']);
    expect(replay.code, replay.stdout).toBe(1);
    expect((await sb.run(['rerun', first.body.run_id])).code).toBe(2);
    await writeFile(marker, 'yes');
    const again = await sb.json<{
      run_id: string;
      reused: string[];
      summary: { status: string; result: Array<{ node: string; branch: string }> };
    }>(['rerun', first.body.run_id, '--failed']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.body.reused).toEqual(['a']);
    expect(again.body.summary.status).toBe('completed');
    expect(again.body.summary.result).toEqual([
      expect.objectContaining({ node: 'c', branch: `mso/${again.body.run_id}/c` }),
    ]);
    const attempts = await sb.json<{ rows: Array<{ node_id: string }> }>([
      'audit',
      'query',
      `SELECT node_id FROM attempts WHERE run_id = '${again.body.run_id}' ORDER BY node_id`,
    ]);
    expect(attempts.body.rows.map((r) => r.node_id)).toEqual(['b', 'c']);
  });
});

describe('--json everywhere', () => {
  it('gives --version and --help as one JSON object', async () => {
    const v = await sb.run(['--json', '--version']);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toEqual({ version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    const h = await sb.run(['--help', '--json']);
    expect(h.code).toBe(0);
    const body = JSON.parse(h.stdout) as { help: string; commands: Array<{ command: string; description: string }> };
    expect(body.help).toContain('Usage: mso');
    expect(body.commands.map((c) => c.command)).toEqual(
      expect.arrayContaining(['run', 'logs', 'apply', 'rerun', 'runs prune', 'status']),
    );
  });
});

describe('mso validate --workflow and mso schema workflow|policy', () => {
  it('checks a workflow file without a run, naming each field path, and prints the editor schemas', async () => {
    const bad = join(sb.dir, 'bad.yaml');
    await writeFile(
      bad,
      stringify({ name: 'x', nodes: [{ id: 'a', label: 'a', command: 'true', max_retry: 99999 }], edges: [] }),
    );
    const r = await sb.run(['validate', '--workflow', bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/nodes\[0\]\.max_retry: .*at most 100/);
    const good = join(sb.dir, 'good.yaml');
    await writeFile(good, stringify({ name: 'x', nodes: [{ id: 'end', label: 'a', command: 'true' }], edges: [] }));
    const ok = await sb.json<{ valid: boolean; nodes: number }>(['validate', '--workflow', good]);
    expect(ok.body).toMatchObject({ valid: true, nodes: 1 });
    const wf = await sb.json<{ $id: string; properties: Record<string, unknown> }>(['schema', 'workflow']);
    expect(wf.body.$id).toBe('https://mso.dev/schemas/workflow.schema.json');
    expect(Object.keys(wf.body.properties)).toEqual(expect.arrayContaining(['nodes', 'edges']));
    const policy = await sb.json<{ properties: Record<string, unknown> }>(['schema', 'policy']);
    expect(Object.keys(policy.body.properties)).toEqual(expect.arrayContaining(['agents', 'run_policy']));
  });
});

describe('OTLP export failures', () => {
  it('exits 1 naming the endpoint when the collector is unreachable', async () => {
    const created = await sb.json<{ run_id: string }>(['runs', 'create', '--goal', 'export me']);
    // A port that was free a moment ago: nothing listens there.
    const { createServer } = await import('node:net');
    const port = await new Promise<number>((done) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => done(p));
      });
    });
    const r = await sb.run([
      'audit',
      'export',
      '--run-id',
      created.body.run_id,
      '--format',
      'otlp',
      '--endpoint',
      `http://127.0.0.1:${port}`,
    ]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`export to http://127.0.0.1:${port}/v1/traces failed: ECONNREFUSED`);
  });
});
