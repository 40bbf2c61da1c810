import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
      { cwd: sb.dir, env: sb.env, maxBuffer: 64 * 1024 * 1024, timeout: 240_000 },
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
    expect(r.maxRssKb).toBeLessThan(200 * 1024);
  }, 180_000);
});
