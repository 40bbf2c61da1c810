import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn as ptySpawn } from '@lydell/node-pty';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MSO_BIN, makeSandbox, type Sandbox } from '../helpers/cli.js';
import { until, waitingWorkflow } from '../helpers/terminal.js';

let sb: Sandbox;
beforeEach(async () => {
  sb = await makeSandbox('mso-steer-');
  await sb.run(['init']);
});
afterEach(async () => {
  await sb.cleanup();
});

/** True once the process is gone (or a zombie nobody has reaped yet: it runs nothing). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8') : '';
  return / Z /.test(stat.slice(stat.lastIndexOf(')')));
}

const read = (file: string): string => (existsSync(file) ? readFileSync(file, 'utf8') : '');

describe('Ctrl-C', () => {
  it('a second Ctrl-C during the graceful stop exits at once, killing the agents’ groups; resume goes on', async () => {
    const go = join(sb.dir, 'go');
    const pids = join(sb.dir, 'pids');
    const wf = join(sb.dir, 'wf.yaml');
    // The node ignores SIGTERM (so a graceful stop has to wait for its grace) and leaves a grandchild in its group.
    await writeFile(
      wf,
      stringify({
        name: 'stubborn',
        nodes: [
          {
            id: 'stubborn',
            label: 'stubborn',
            command: `if [ -f ${go} ]; then echo ok > ok.md; exit 0; fi; trap '' TERM; sleep 1000 & echo "$$ $!" > ${pids}; while :; do sleep 0.2; done`,
          },
        ],
        edges: [],
      }),
    );
    const term = ptySpawn(process.execPath, [MSO_BIN, 'run', '--workflow', wf], {
      cols: 120,
      rows: 30,
      cwd: sb.cwd,
      env: sb.env,
    });
    let screen = '';
    term.onData((d) => (screen += d));
    const exited = new Promise<number>((done) => term.onExit((e) => done(e.exitCode)));
    await until(() => read(pids), /^\d+ \d+\n/, 'the node’s pids');
    const [leader, grandchild] = read(pids).trim().split(' ').map(Number) as [number, number];
    await until(() => screen, /▶ stubborn/, 'the node running');
    term.write('\x03');
    await until(() => screen, /Ctrl-C again to stop at once/, 'the graceful stop under way');
    term.write('\x03');
    expect(await exited, screen).toBe(130);
    expect(screen).toContain('stopped at once (agents killed)');
    // Not the graceful end: no summary was printed.
    expect(screen).not.toContain('status    cancelled');
    await until(() => String(gone(leader) && gone(grandchild)), /true/, 'the node’s process group gone');
    const list = await sb.json<{ runs: Array<{ run_id: string }> }>(['runs', 'list']);
    const runId = list.body.runs[0]?.run_id as string;
    const st = await sb.json<{ status: string }>(['status', runId]);
    expect(st.body.status).toBe('interrupted');
    await writeFile(go, 'go');
    const resumed = await sb.json<{ status: string }>(['resume', runId]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.body.status).toBe('completed');
  });
});

describe('mso status RUN --watch', () => {
  it('reprints off a TTY when the run changes, redraws on a TTY, and ends by itself when the run ends', async () => {
    const { file: wf, marker: go } = await waitingWorkflow(sb.dir, 'watched', 1200);
    const run = spawn(process.execPath, [MSO_BIN, 'run', '--workflow', wf, '--events'], { cwd: sb.cwd, env: sb.env });
    let events = '';
    run.stdout.on('data', (d: Buffer) => (events += d.toString()));
    let runErr = '';
    run.stderr.on('data', (d: Buffer) => (runErr += d.toString()));
    const runEnded = new Promise<number | null>((done) => run.on('close', done));
    const runId = (await until(() => events, /"run_id":"([^"]+)"/, 'the run id'))[1] as string;
    await until(() => events, /"node":"b","payload":\{"state":"running"/, 'b running');
    // Its ticket says so a second after it started (see TICKET_START_HOLD_MS): from then on only the clock changes.
    await until(() => events, /"ticket\.transition","node":"b","payload":\{[^}]*"to":"in_progress"/, 'b in progress');
    // Told a second late, dated when b started: before its agent was spawned, which was told first.
    const told = events
      .split('\n')
      .filter((l) => l.startsWith('{') && l.endsWith('}'))
      .map((l) => JSON.parse(l) as { type: string; node: string | null; at: string; payload: { to?: string } });
    const spawnedAt = told.findIndex((e) => e.type === 'agent.spawned' && e.node === 'b');
    const startedAt = told.findIndex(
      (e) => e.type === 'ticket.transition' && e.node === 'b' && e.payload.to === 'in_progress',
    );
    expect(spawnedAt).toBeGreaterThanOrEqual(0);
    expect(startedAt).toBeGreaterThan(spawnedAt);
    expect((told[startedAt]?.at ?? '') <= (told[spawnedAt]?.at ?? '')).toBe(true);
    // Off a TTY: a frame per change, not per second.
    const plain = spawn(process.execPath, [MSO_BIN, 'status', runId, '--watch'], { cwd: sb.cwd, env: sb.env });
    let out = '';
    plain.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const plainEnded = new Promise<number | null>((done) => plain.on('close', done));
    // On a TTY: redrawn in place.
    const tty = ptySpawn(process.execPath, [MSO_BIN, 'status', runId, '--watch'], {
      cols: 120,
      rows: 30,
      cwd: sb.cwd,
      env: sb.env,
    });
    let screen = '';
    tty.onData((d) => (screen += d));
    const ttyEnded = new Promise<number>((done) => tty.onExit((e) => done(e.exitCode)));
    await until(() => out, /^b\s+running\s+shell/m, 'b running in the plain table');
    await until(() => screen, /^b\s+running\s+shell/m, 'b running on the terminal');
    await new Promise((r) => setTimeout(r, 2500));
    // Nothing changed but the clock: still one frame.
    expect(out.match(/^status {4}/gm)?.length, out).toBe(1);
    await writeFile(go, 'go');
    expect(await runEnded, `${runErr}\n${events.slice(-2000)}`).toBe(0);
    expect(await plainEnded, out).toBe(0);
    expect(await ttyEnded, screen).toBe(0);
    const frames = out.split(/^(?=run {7})/m).filter((f) => f.trim() !== '');
    expect(frames.length).toBeGreaterThanOrEqual(2);
    expect(frames.at(-1)).toContain('status    completed');
    expect(frames.at(-1)).toMatch(/^b\s+done\s+shell/m);
    const ESC = String.fromCharCode(27);
    expect(screen.includes(`${ESC}[2K`) || screen.includes(`${ESC}[1A`), screen).toBe(true);
    expect(screen).toContain('status    completed');
  });
});

describe('mso logs --follow of a shell step', () => {
  it('shows each line the command prints while the step runs, not only after it ends', async () => {
    const gate = join(sb.dir, 'gate');
    const wf = join(sb.dir, 'wf.yaml');
    await writeFile(
      wf,
      stringify({
        name: 'chatty',
        nodes: [
          {
            id: 'build',
            label: 'build',
            command: `echo "compiling step one"; echo "a warning" >&2; i=0; while [ ! -f ${gate} ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done; echo "linking step two"; echo ok > ok.md`,
          },
        ],
        edges: [],
      }),
    );
    const run = spawn(process.execPath, [MSO_BIN, 'run', '--workflow', wf, '--events'], { cwd: sb.cwd, env: sb.env });
    let events = '';
    run.stdout.on('data', (d: Buffer) => (events += d.toString()));
    const runEnded = new Promise<number | null>((done) => run.on('close', done));
    const runId = (await until(() => events, /"run_id":"([^"]+)"/, 'the run id'))[1] as string;
    const follow = spawn(process.execPath, [MSO_BIN, 'logs', runId, '--follow'], { cwd: sb.cwd, env: sb.env });
    let followed = '';
    follow.stdout.on('data', (d: Buffer) => (followed += d.toString()));
    const followEnded = new Promise<number | null>((done) => follow.on('close', done));
    await until(() => followed, /compiling step one/, 'the first line while the step runs');
    await until(() => followed, /a warning/, 'the stderr line while the step runs');
    // The gate is still closed: the step has not printed its second line, and has not ended.
    expect(existsSync(gate)).toBe(false);
    expect(followed).not.toContain('linking step two');
    expect(followed).not.toMatch(/── success/);
    await writeFile(gate, 'open');
    expect(await runEnded).toBe(0);
    expect(await followEnded).toBe(0);
    expect(followed).toContain('linking step two');
    expect(followed).toMatch(/── success/);
    // The live log is redacted like every sink and bounded; the raw entries say which lines were live.
    const raw = await sb.json<{ entries: Array<{ kind: string; text: string; live: boolean }> }>(['logs', runId]);
    expect(raw.body.entries.filter((e) => e.kind === 'output').map((e) => e.text)).toEqual([
      'compiling step one',
      'linking step two',
    ]);
  });
});
