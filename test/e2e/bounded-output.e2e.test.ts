import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SECRET_SAMPLES } from '../fixtures/secrets.js';
import { MSO_BIN, makeSandbox, type Sandbox } from '../helpers/cli.js';

let sb: Sandbox;
beforeEach(async () => {
  sb = await makeSandbox('mso-bounded-');
});
afterEach(async () => {
  await sb.cleanup();
});

/** Runs the built CLI and returns its exit code, stdout and its own peak RSS (kB, from process.resourceUsage). */
function runMeasured(args: readonly string[]): Promise<{ code: number; stdout: string; maxRssKb: number }> {
  const rssFile = join(sb.dir, 'maxrss');
  const hook = `import{writeFileSync}from"node:fs";process.on("exit",()=>writeFileSync(${JSON.stringify(rssFile)},String(process.resourceUsage().maxRSS)))`;
  const preload = `data:text/javascript,${encodeURIComponent(hook)}`;
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['--import', preload, MSO_BIN, ...args],
      { cwd: sb.cwd, env: sb.env, maxBuffer: 64 * 1024 * 1024, timeout: 240_000 },
      (error, stdout) => {
        void readFile(rssFile, 'utf8')
          .catch(() => 'NaN')
          .then((kb) =>
            done({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, maxRssKb: Number(kb) }),
          );
      },
    );
  });
}

describe('agent output is read in bounded memory and linear time', () => {
  it('a node printing 200 MB of lines and one printing a 50 MB line with no newline: the run completes, mso stays under 200 MB RSS', async () => {
    const wf = join(sb.dir, 'loud.yaml');
    await writeFile(
      wf,
      stringify({
        name: 'loud',
        nodes: [
          { id: 'lines', label: 'lines', command: "head -c 200000000 /dev/zero | tr '\\0' x | fold -w 199" },
          { id: 'oneline', label: 'oneline', command: "head -c 50000000 /dev/zero | tr '\\0' y" },
        ],
        edges: [],
      }),
    );
    const r = await runMeasured(['--json', 'run', '--workflow', wf]);
    const body = JSON.parse(r.stdout) as { status: string; nodes: Record<string, number> };
    expect(r.code).toBe(0);
    expect(body.status).toBe('completed');
    expect(r.maxRssKb).toBeGreaterThan(0);
    console.info(`200 MB + 50 MB of output: peak RSS of mso ${Math.round(r.maxRssKb / 1024)} MB`);
    expect(r.maxRssKb).toBeLessThan(200 * 1024);
  }, 180_000);

  /** SHA-256 and size of what a shell command prints (the same command a node runs, run apart by the test). */
  const printed = (command: string): { sha256: string; bytes: number } => {
    const out = execFileSync('sh', ['-c', `( ${command} ) | wc -c; ( ${command} ) | sha256sum`], {
      encoding: 'utf8',
      maxBuffer: 1024 * 1024,
    }).split('\n');
    return { bytes: Number(out[0]), sha256: (out[1] ?? '').split(' ')[0] as string };
  };
  const fileSha256 = (path: string): Promise<string> =>
    new Promise((done, fail) => {
      const h = createHash('sha256');
      createReadStream(path)
        .on('data', (c) => h.update(c))
        .on('end', () => done(h.digest('hex')))
        .on('error', fail);
    });
  interface Full {
    bytes: number;
    sha256: string;
    blob: string;
    path: string;
    stored_bytes: number;
  }

  it('keeps the whole of 50 MB of output, with and without newlines, in a redacted blob mso logs --full reads', async () => {
    const sample = SECRET_SAMPLES.find((s) => s.kind === 'openai-project');
    if (!sample) throw new Error('no openai-project sample');
    // The secret comes from a file: a secret written in the workflow itself would be redacted before the node runs.
    const secretFile = join(sb.dir, 'secret.txt');
    await writeFile(secretFile, `key ${sample.text} here`);
    const redacted = join(sb.dir, 'redacted.txt');
    await writeFile(redacted, 'key [REDACTED:openai] here');
    const half = (ch: string, fold: boolean): string =>
      `head -c 25000000 /dev/zero | tr '\\0' ${ch}${fold ? ' | fold -w 199' : ''}`;
    const lines = (f: string): string => `${half('x', true)}; cat ${f}; echo; ${half('x', true)}`;
    const oneline = (f: string): string => `${half('y', false)}; cat ${f}; ${half('y', false)}`;
    // Six million short lines (47 MB): a per-line cost in memory would show here.
    const plain = 'seq 1 6000000';
    const wf = join(sb.dir, 'spill.yaml');
    await writeFile(
      wf,
      stringify({
        name: 'spill',
        nodes: [
          { id: 'lines', label: 'lines', command: lines(secretFile) },
          { id: 'oneline', label: 'oneline', command: oneline(secretFile) },
          { id: 'plain', label: 'plain', command: `echo to-stderr >&2; ${plain}` },
        ],
        edges: [],
      }),
    );
    const r = await runMeasured(['--json', 'run', '--workflow', wf]);
    const body = JSON.parse(r.stdout) as { status: string; run_id: string };
    expect(body.status).toBe('completed');
    console.info(`3 × 50 MB of output kept whole: peak RSS of mso ${Math.round(r.maxRssKb / 1024)} MB`);
    // Three streams at once, each with its own redaction windows (up to 8 MB pending on a line with no newline) and
    // 2 MB of blob backlog, plus the live transcript of each shell node: 178–207 MB measured; 150 MB more of output
    // held in memory would still fail this bound.
    expect(r.maxRssKb).toBeLessThan(240 * 1024);
    const run = body.run_id;

    // Nothing to redact: the blob is exactly what was printed (its address is the SHA-256 of the printed bytes).
    const p = printed(plain);
    const full = (await sb.json<Full>(['logs', run, 'plain', '--full'])).body;
    expect(full).toMatchObject({ bytes: p.bytes, sha256: p.sha256, blob: p.sha256, stored_bytes: p.bytes });
    expect(await fileSha256(full.path)).toBe(p.sha256);
    const err = await sb.run(['logs', run, 'plain', '--full', '--stderr']);
    expect(err.stdout).toBe('to-stderr\n');

    // With a secret in the middle: every byte but the secret, which is replaced in the blob.
    for (const [node, command] of [
      ['lines', lines],
      ['oneline', oneline],
    ] as const) {
      const raw = printed(command(secretFile));
      const stored = printed(command(redacted));
      const f = (await sb.json<Full>(['logs', run, node, '--full'])).body;
      expect(f, node).toMatchObject({ bytes: raw.bytes, sha256: raw.sha256, blob: stored.sha256 });
      expect(f.stored_bytes).toBe(stored.bytes);
      const bytes = await readFile(f.path);
      expect(bytes.includes(sample.secret)).toBe(false);
      expect(bytes.includes('key [REDACTED:openai] here')).toBe(true);
    }
    // The human form streams the same bytes, and plain `mso logs` says where the whole output is.
    const shown = await sb.run(['logs', run, 'oneline', '--full']);
    expect(createHash('sha256').update(shown.stdout).digest('hex')).toBe(printed(oneline(redacted)).sha256);
    const logs = await sb.run(['logs', run, 'lines']);
    expect(logs.stdout).toContain(
      `the whole stdout (${printed(lines(secretFile)).bytes} bytes) is kept: mso logs ${run} lines --full`,
    );
    expect(logs.stdout).not.toContain(sample.secret);
  }, 240_000);

  // 500 MB with MSO_LONG_TESTS=1 (~25 s here); a 64 MB slice by default.
  const bigMb = process.env['MSO_LONG_TESTS'] === '1' ? 500 : 64;
  it(`a node that writes a ${bigMb} MB file: committed and hashed as a stream, mso stays under 200 MB RSS`, async () => {
    const wf = join(sb.dir, 'big.yaml');
    await writeFile(
      wf,
      stringify({
        name: 'big',
        nodes: [
          {
            id: 'big',
            label: 'big',
            // Not all zeros: a file git cannot compress to nothing, still cheap to make.
            command: `yes 'mso big file line 0123456789abcdef' | head -c ${bigMb * 1024 * 1024} > big.bin`,
          },
        ],
        edges: [],
      }),
    );
    const r = await runMeasured(['--json', 'run', '--workflow', wf]);
    const body = JSON.parse(r.stdout) as { status: string; repo: string; result: Array<{ commit: string }> };
    expect(body.status).toBe('completed');
    console.info(`a ${bigMb} MB file in a worktree: peak RSS of mso ${Math.round(r.maxRssKb / 1024)} MB`);
    expect(r.maxRssKb).toBeGreaterThan(0);
    expect(r.maxRssKb).toBeLessThan(200 * 1024);
    // The node's commit holds the whole file.
    const size = execFileSync('git', ['cat-file', '-s', `${body.result[0]?.commit ?? ''}:big.bin`], {
      cwd: body.repo,
      encoding: 'utf8',
    });
    expect(Number(size)).toBe(bigMb * 1024 * 1024);
  }, 600_000);
});
