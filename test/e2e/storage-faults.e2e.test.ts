import Database from 'better-sqlite3';
import { execFile, spawn } from 'node:child_process';
import { chmod, chown, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MSO_BIN, makeSandbox, type MsoResult, type Sandbox } from '../helpers/cli.js';

// Storage faults through the built CLI: a read-only audit DB, read-only -wal/-shm files, a full disk (a real 2 MB
// tmpfs when it can be mounted), a WAL deleted during a kill, and a closed stdout. Each ends with a clear error and
// exit 1 (or 0 for the closed pipe), never a hang and never exit 70. Commands run under a 60 s kill switch so a
// regression fails instead of hanging the suite.

const ROOT = process.getuid?.() === 0;
const NOBODY = 65534;

/** Runs mso; as root, as the unprivileged user `nobody` when `asNobody`, so file permissions apply. */
function mso(sb: Sandbox, args: readonly string[], opts: { asNobody?: boolean; env?: Record<string, string> } = {}) {
  return new Promise<MsoResult>((done) => {
    execFile(
      process.execPath,
      [MSO_BIN, ...args],
      {
        cwd: sb.cwd,
        env: { ...sb.env, ...opts.env },
        timeout: 60_000,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
        ...(opts.asNobody && ROOT ? { uid: NOBODY, gid: NOBODY } : {}),
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : (error.signal ?? 'killed')) : 0;
        done({ code: code as number, stdout, stderr });
      },
    );
  });
}

const errorOf = (r: MsoResult): { code: string; message: string } =>
  (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error;

async function chownTree(dir: string, uid: number): Promise<void> {
  await chown(dir, uid, uid);
  for (const e of await readdir(dir, { recursive: true })) await chown(join(dir, String(e)), uid, uid);
}

async function workflow(sb: Sandbox, name: string, nodes: Array<Record<string, unknown>>): Promise<string> {
  const file = join(sb.dir, `${name}.yaml`);
  const edges = nodes.slice(1).map((n, i) => ({ from: nodes[i]?.['id'], to: n['id'] }));
  await writeFile(file, stringify({ name, nodes: nodes.map((n) => ({ label: n['id'], ...n })), edges }));
  return file;
}
const out = (id: string) => `mkdir -p outputs && echo ${id} > outputs/${id}.md`;

describe('storage faults through the CLI', () => {
  let sb: Sandbox;
  let db: string;
  let finished: string;
  let resumable: string;
  const active = () => readdir(join(sb.dir, 'workspace', '.mso-context', 'active'));

  beforeAll(async () => {
    sb = await makeSandbox('mso-storage-');
    await sb.run(['init']);
    db = join(sb.dir, 'workspace', '.mso-context', 'audit.db');
    const ok = await workflow(sb, 'ok', [{ id: 'a', command: out('a') }]);
    finished = (await sb.json<{ run_id: string }>(['run', '--workflow', ok])).body.run_id;
    // Fails until the marker exists: a run left for resume.
    const later = await workflow(sb, 'later', [
      { id: 'b', command: `test -f ${join(sb.dir, 'marker')}`, max_retry: 0 },
    ]);
    const r = await sb.json<{ run_id: string; status: string }>(['run', '--workflow', later]);
    expect(r.body.status).toBe('failed');
    resumable = r.body.run_id;
    if (ROOT) await chownTree(sb.dir, NOBODY);
  }, 120_000);
  afterAll(async () => {
    await sb.cleanup();
  });

  it('a read-only audit DB: run and resume exit 1 with MSO_STORAGE_READONLY before writing; status still reads', async () => {
    if (ROOT) await chown(db, 0, 0);
    await chmod(db, 0o444);
    const before = await active();
    const wf = await workflow(sb, 'refused', [{ id: 'c', command: out('c') }]);
    const run = await mso(sb, ['--json', 'run', '--workflow', wf], { asNobody: true });
    expect(run.code, run.stderr).toBe(1);
    expect(errorOf(run)).toMatchObject({ code: 'MSO_STORAGE_READONLY' });
    expect(errorOf(run).message).toContain(db);
    expect(await active()).toEqual(before);
    const resume = await mso(sb, ['--json', 'resume', resumable], { asNobody: true });
    expect(resume.code, resume.stderr).toBe(1);
    expect(errorOf(resume).code).toBe('MSO_STORAGE_READONLY');
    const status = await mso(sb, ['status', finished], { asNobody: true });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/status\s+completed/);
    const exported = await mso(sb, ['audit', 'export', '--run-id', finished], { asNobody: true });
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toContain('"type":"node.committed"');
  });

  it('read-only -wal and -shm files: resume ends with exit 1 and a clear error instead of hanging', async () => {
    // The previous test's refused writer left them behind, created read-only like the database.
    for (const f of [`${db}-wal`, `${db}-shm`]) {
      if (!(await stat(f).catch(() => undefined))) await writeFile(f, '');
      if (ROOT) await chown(f, 0, 0);
      await chmod(f, 0o444);
    }
    if (ROOT) await chown(db, NOBODY, NOBODY);
    await chmod(db, 0o644);
    const resume = await mso(sb, ['--json', 'resume', resumable], { asNobody: true });
    expect(resume.code, resume.stderr).toBe(1);
    expect(errorOf(resume).code).toMatch(/^MSO_STORAGE_(READONLY|IO)$/);
    const status = await mso(sb, ['status', finished], { asNobody: true });
    expect(status.code, status.stderr).toBe(0);
    for (const f of [`${db}-wal`, `${db}-shm`]) await rm(f, { force: true });
  });

  it('a closed stdout (audit export | true) ends quietly with exit 0', async () => {
    const sh = (cmd: string) =>
      new Promise<{ stdout: string; stderr: string }>((done) => {
        execFile('bash', ['-c', cmd], { cwd: sb.cwd, env: sb.env, timeout: 60_000 }, (_e, stdout, stderr) =>
          done({ stdout, stderr }),
        );
      });
    const node = `'${process.execPath}' '${MSO_BIN}'`;
    for (const args of [
      `audit export --run-id ${finished}`,
      `--json audit export --run-id ${finished} --format otlp`,
    ]) {
      const r = await sh(`${node} ${args} | true; echo "exit=\${PIPESTATUS[0]}"`);
      expect(r.stdout.trim()).toBe('exit=0');
      expect(r.stderr).toBe('');
    }
  });
});

describe('a write-ahead log deleted during a kill', () => {
  it('is detected (MSO_AUDIT_WAL_LOST, exit 1) instead of silently re-running finished nodes', async () => {
    const sb = await makeSandbox('mso-wal-');
    try {
      await sb.run(['init']);
      const db = join(sb.dir, 'workspace', '.mso-context', 'audit.db');
      const marker = join(sb.dir, 'go');
      const started = join(sb.dir, 'b-started');
      const wf = await workflow(sb, 'walloss', [
        { id: 'a', command: out('a') },
        { id: 'b', command: `touch ${started}; until [ -f ${marker} ]; do sleep 0.1; done; ${out('b')}` },
      ]);
      const runId = '20261127-msoorch-wal-lost';
      const child = spawn(process.execPath, [MSO_BIN, 'run', '--workflow', wf, '--run-id', runId], {
        cwd: sb.cwd,
        env: sb.env,
        detached: true,
        stdio: 'ignore',
      });
      // Node b says it started (so a is recorded done) through a file: polling the database would take its locks.
      for (let i = 0; !(await stat(started).catch(() => undefined)); i++) {
        if (i > 500) throw new Error('node b never started');
        await new Promise((r) => setTimeout(r, 100));
      }
      process.kill(-(child.pid as number), 'SIGKILL');
      await new Promise((r) => child.once('exit', r));
      await rm(`${db}-wal`);
      await writeFile(marker, 'go');
      const resume = await mso(sb, ['--json', 'resume', runId]);
      expect(resume.code, resume.stderr).toBe(1);
      expect(errorOf(resume)).toMatchObject({ code: 'MSO_AUDIT_WAL_LOST' });
      expect(errorOf(resume).message).toContain(`${db}-wal is missing`);
      // Going on is the user's explicit choice: without the index the database opens as it is.
      await rm(`${db}-shm`);
      const again = await mso(sb, ['--json', 'resume', runId]);
      expect(again.code, again.stderr).toBe(0);
      // The events of a were lost with the log, but its ticket and its commit in its worktree were not: a is
      // recovered from them and not run again; b runs.
      const read = new Database(db, { readonly: true });
      try {
        const rows = read
          .prepare(
            "SELECT type, node_id, json_extract(payload, '$.recovered') AS recovered FROM events WHERE run_id = ? AND type IN ('node.attempt', 'node.committed') ORDER BY seq",
          )
          .all(runId);
        expect(rows).toEqual([
          { type: 'node.committed', node_id: 'a', recovered: 1 },
          { type: 'node.attempt', node_id: 'b', recovered: null },
          { type: 'node.committed', node_id: 'b', recovered: null },
        ]);
      } finally {
        read.close();
      }
    } finally {
      await sb.cleanup();
    }
  }, 120_000);
});

describe('a full disk (2 MB tmpfs)', () => {
  const mount = join('/tmp', `mso-full-${process.pid}`);
  let mounted = false;
  beforeAll(async () => {
    await mkdir(mount, { recursive: true });
    mounted = await new Promise<boolean>((done) =>
      execFile('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mount], (e) => done(e === null)),
    );
    if (!mounted) console.log(`skipped: cannot mount a tmpfs at ${mount} (needs root)`);
  });
  afterAll(async () => {
    if (mounted) await new Promise((done) => execFile('umount', [mount], done));
    await rm(mount, { recursive: true, force: true });
  });

  it('exits 1 with MSO_STORAGE_FULL, leaves no temp file, and status still reads', async (ctx) => {
    if (!mounted) ctx.skip();
    const sb = await makeSandbox('mso-full-');
    const env = {
      MSO_WORKSPACE_ROOT: join(mount, 'workspace'),
      MSO_OBSERVATION_ROOT: join(mount, 'observation'),
    };
    try {
      expect((await mso(sb, ['init'], { env })).code).toBe(0);
      const ok = await workflow(sb, 'ok', [{ id: 'a', command: out('a') }]);
      const first = await mso(sb, ['--json', 'run', '--workflow', ok], { env });
      expect(first.code, first.stderr).toBe(0);
      const runId = (JSON.parse(first.stdout) as { run_id: string }).run_id;
      for (const keepKb of [60, 0]) {
        const filler = join(mount, 'filler');
        await rm(filler, { force: true });
        const free = await new Promise<number>((done) =>
          execFile('df', ['-k', '--output=avail', mount], (_e, o) => done(Number(o.trim().split('\n').at(-1)))),
        );
        await writeFile(filler, Buffer.alloc(Math.max(0, free - keepKb) * 1024)).catch(() => undefined);
        const r = await mso(sb, ['--json', 'run', '--workflow', ok], { env });
        expect(r.code, r.stderr).toBe(1);
        expect(errorOf(r).code).toBe('MSO_STORAGE_FULL');
        const files = (await readdir(mount, { recursive: true })).map(String);
        expect(files.filter((f) => f.includes('.tmp-'))).toEqual([]);
        const status = await mso(sb, ['status', runId], { env });
        expect(status.code, status.stderr).toBe(0);
        expect(status.stdout).toMatch(/status\s+completed/);
      }
    } finally {
      await rm(join(mount, 'filler'), { force: true });
      await sb.cleanup();
    }
  }, 120_000);
});

describe('commands that only read, on a read-only audit database in a read-only folder', () => {
  // Needs another user for the permissions to apply (tests run as root here and in CI).
  it.runIf(ROOT)(
    'status, logs, timeline, diff, provenance, portfolio, audit query/export all answer, and nothing is written',
    async () => {
      const sb = await makeSandbox('mso-readonly-');
      try {
        const ok = await workflow(sb, 'ok', [{ id: 'a', command: out('a') }]);
        const a = (await sb.json<{ run_id: string }>(['run', '--workflow', ok])).body.run_id;
        const b = (await sb.json<{ run_id: string }>(['run', '--workflow', ok])).body.run_id;
        const context = join(sb.dir, 'workspace', '.mso-context');
        const dbFile = join(context, 'audit.db');
        await chownTree(sb.dir, NOBODY);
        await chmod(dbFile, 0o444);
        await chmod(context, 0o555);
        const before = (await readdir(context)).sort();
        const dbBefore = await stat(dbFile);
        const reads: Array<[readonly string[], (stdout: string) => void]> = [
          [['status', a], (o) => expect(o).toContain('"status":"completed"')],
          [['logs', a, 'a'], (o) => expect(o).toContain('"kind":"end"')],
          [['timeline', a], (o) => expect(o).toContain('"entries":[{')],
          [['diff', a, b], (o) => expect(o).toContain('"nodes_changed":[]')],
          [['runs', 'show', a, '--provenance'], (o) => expect(o).toContain('"base_sha"')],
          [['status', '--portfolio'], (o) => expect(o).toContain(b)],
          [['audit', 'query', 'SELECT count(*) AS n FROM events'], (o) => expect(o).toMatch(/"n":[1-9]/)],
          [['audit', 'export', '--run-id', a], (o) => expect(o).toContain('node.committed')],
        ];
        for (const [args, check] of reads) {
          const r = await mso(sb, ['--json', ...args], { asNobody: true });
          expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(0);
          check(r.stdout);
        }
        // No -wal or -shm appeared, and the database file is untouched.
        expect((await readdir(context)).sort()).toEqual(before);
        expect((await stat(dbFile)).mtimeMs).toBe(dbBefore.mtimeMs);
      } finally {
        await chmod(join(sb.dir, 'workspace', '.mso-context'), 0o755).catch(() => undefined);
        await sb.cleanup();
      }
    },
    120_000,
  );
});
