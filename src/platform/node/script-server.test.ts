import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScriptServer } from './script-server.js';

const PATH = process.env['PATH'] ?? '/usr/bin:/bin';
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mso-script-server-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the script server', () => {
  const server = createScriptServer();
  const run = (script: string, env: Record<string, string> = {}, more: { input?: string; maxOutput?: number } = {}) =>
    server.run({ script, env: { PATH, ...env }, cwd: dir, maxOutput: more.maxOutput ?? 1 << 20, ...more });

  it('runs a script as sh -c would: its folder, exit status, stdout and stderr apart, standard input', async () => {
    expect(await run('pwd; echo oops >&2; exit 3')).toEqual({ code: 3, stdout: `${dir}\n`, stderr: 'oops\n' });
    expect(await run('tr a-z A-Z', {}, { input: 'secret-free input\n' })).toEqual({
      code: 0,
      stdout: 'SECRET-FREE INPUT\n',
      stderr: '',
    });
    expect(await run('exec sh -c "exit 7"')).toMatchObject({ code: 7 });
  });

  it('gives a script that asks for one a file of its own for output aside, read back once the script ends', async () => {
    const req = { env: { PATH }, cwd: dir, maxOutput: 1 << 20, side: 'aside' };
    const script = '(sleep 0.1; echo late) >"$aside" & echo now; wait';
    expect(await server.run({ ...req, script })).toEqual({ code: 0, stdout: 'now\n', stderr: '', side: 'late\n' });
    // Not exported to its commands; empty when the script wrote nothing there.
    const inner = `sh -c 'echo "\${aside-unset}"'`;
    expect(await server.run({ ...req, script: inner })).toEqual({ code: 0, stdout: 'unset\n', stderr: '', side: '' });
    expect(await server.run({ ...req, side: 'not a name', script: 'true' })).toBeNull();
  });

  it('gives each request exactly its own environment, side by side', async () => {
    const got = await Promise.all(
      Array.from({ length: 8 }, (_, i) => run(`sleep 0.2; echo "$MINE \${OTHER-unset}"`, { MINE: `v${i}'"$x` })),
    );
    expect(got.map((r) => r?.stdout)).toEqual(Array.from({ length: 8 }, (_, i) => `v${i}'"$x unset\n`));
    expect(await run('echo "${MINE-unset}"')).toMatchObject({ stdout: 'unset\n' });
  });

  it('reports output past the limit as an overflow without reading it, and leaves no output behind', async () => {
    expect(await run('head -c 5000 /dev/zero', {}, { maxOutput: 4096 })).toEqual({
      code: 1,
      stdout: '',
      stderr: '',
      overflow: true,
    });
    // Its own temp folder (read when the server starts): only its files are looked at.
    const own = join(dir, 'tmp');
    await mkdir(own);
    const saved = process.env['TMPDIR'];
    process.env['TMPDIR'] = own;
    try {
      const server2 = createScriptServer();
      await server2.run({ script: 'echo hi', env: { PATH }, cwd: dir, maxOutput: 100 });
      await server2.settled();
      await server2.run({ script: 'cat', env: { PATH }, cwd: dir, maxOutput: 100, input: 'x' });
      await server2.settled();
    } finally {
      if (saved === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = saved;
    }
    const [folder] = await readdir(own);
    expect(folder).toMatch(/^mso-git-/);
    // One request at a time: the second took over the first one's files, and each was emptied once read.
    const files = await readdir(join(own, folder as string));
    expect(files.sort()).toEqual(['1.err', '1.in', '1.out', '1.sh']);
    for (const f of files) expect((await stat(join(own, folder as string, f))).size).toBe(0);
  });

  it('takes over the files of finished requests: as many sets as requests ran at once, not one per request', async () => {
    const own = await mkdtemp(join(dir, 'slots-'));
    const saved = process.env['TMPDIR'];
    process.env['TMPDIR'] = own;
    try {
      const s = createScriptServer();
      const one = (script: string) => s.run({ script, env: { PATH }, cwd: dir, maxOutput: 1 << 20 });
      for (let i = 0; i < 5; i++) {
        expect(await one(`echo ${i}`)).toMatchObject({ code: 0, stdout: `${i}\n` });
        await s.settled();
      }
      const both = await Promise.all([one('sleep 0.1; echo a'), one('sleep 0.1; echo b'), one('echo c')]);
      expect(both.map((r) => r?.stdout)).toEqual(['a\n', 'b\n', 'c\n']);
      await s.settled();
      for (let i = 0; i < 5; i++) {
        expect(await one(`printf ${i}`)).toMatchObject({ stdout: `${i}` });
        await s.settled();
      }
    } finally {
      if (saved === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = saved;
    }
    const [folder] = await readdir(own);
    const files = await readdir(join(own, folder as string));
    expect(files.filter((f) => f.endsWith('.sh')).sort()).toEqual(['1.sh', '2.sh', '3.sh']);
  });

  it('refuses what it cannot do: a missing folder ran nothing, an environment name sh cannot export is the caller’s', async () => {
    expect(await server.run({ script: 'echo x', env: { PATH }, cwd: join(dir, 'nope'), maxOutput: 100 })).toMatchObject(
      { code: 127, notStarted: true },
    );
    expect(await server.run({ script: 'echo x', env: { 'A-B': '1' }, cwd: dir, maxOutput: 100 })).toBeNull();
  });

  it('a server killed mid-request fails that request with the reason; the next one starts a new server', async () => {
    await run('true');
    const first = server.pid();
    const pending = run('sleep 5; echo late');
    await new Promise((r) => setTimeout(r, 200));
    process.kill(first as number, 'SIGKILL');
    expect(await pending).toEqual({ code: 1, stdout: '', stderr: 'the shell that runs git commands ended' });
    expect(await run('echo again')).toMatchObject({ code: 0, stdout: 'again\n' });
    expect(server.pid()).not.toBe(first);
  });

  it('does not keep its process alive: a program that used it ends by itself', () => {
    const here = dirname(fileURLToPath(import.meta.url));
    const code = `import { createScriptServer } from ${JSON.stringify(join(here, 'script-server.ts'))};
      const s = createScriptServer();
      const r = await s.run({ script: 'echo done', env: { PATH: process.env.PATH }, cwd: process.cwd(), maxOutput: 100 });
      console.log(r.stdout.trim());`;
    const r = spawnSync(process.execPath, ['--experimental-strip-types', '--input-type=module', '-e', code], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect({ status: r.status, stdout: r.stdout.trim() }).toEqual({ status: 0, stdout: 'done' });
  });
});
