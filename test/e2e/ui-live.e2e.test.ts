import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MSO_BIN, REPO_ROOT, makeSandbox, type Sandbox } from '../helpers/cli.js';
import { CHROMIUM, openDashboard, writeTalkerPolicy, type Dashboard } from '../helpers/ui.js';

// The dashboard while things happen: a running agent's words in the node panel, a syntax-highlighted diff, a run
// designed and reviewed before it starts, and failed nodes run again from the page.
const ARTIFACTS = join(REPO_ROOT, 'test', 'artifacts');
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`skipping the dashboard live test: ${CHROMIUM} is missing (apt-get install chromium)`);

let sb: Sandbox;
let ui: Dashboard;
let page: Page;
let dialogs: string[];
let pageErrors: string[];
const TS_FILE = [
  'export interface Greeting {',
  '  readonly to: string;',
  '}',
  'export function greet(g: Greeting): string {',
  '  return `hello ${g.to}`;',
  '}',
  '',
].join('\n');

const runPath = (runId: string, node?: string): string =>
  `#/run/${encodeURIComponent(runId)}${node ? `/${encodeURIComponent(node)}` : ''}`;
const goto = async (hash: string): Promise<void> => {
  await page.evaluate((h) => ((globalThis as unknown as { location: { hash: string } }).location.hash = h), hash);
};

describe.skipIf(!haveChromium)('mso ui live, in a real browser', () => {
  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    sb = await makeSandbox('mso-ui-live-');
    await sb.run(['init']);
    const scenario = join(sb.dir, 'talk.json');
    await writeFile(
      scenario,
      JSON.stringify({
        name: 'talk',
        steps: [
          { text: 'Reading the code first.' },
          { writeFile: { path: 'src/greet.ts', content: TS_FILE } },
          { writeFile: { path: 'outputs/work.md', content: 'greeting added\n' } },
          { sleep: 4000 },
          { result: { text: 'All done.', costUsd: 0.001 } },
        ],
      }),
    );
    await writeTalkerPolicy(sb, scenario);
    ui = await openDashboard(sb);
    ({ page, dialogs, pageErrors } = ui);
    await page.goto(ui.link);
    await page.getByText('No runs').waitFor();
  }, 60_000);
  afterAll(async () => {
    await ui?.close();
    await sb?.cleanup();
  });

  it("shows a running agent's output in the node panel before the node ends, then its diff highlighted", async () => {
    const wf = join(sb.dir, 'talk.yaml');
    await writeFile(
      wf,
      stringify({ name: 'talk', nodes: [{ id: 'work', label: 'work', agent: 'talker' }], edges: [] }),
    );
    // Another process runs it; its first event line names the run.
    const child = spawn(process.execPath, [MSO_BIN, 'run', '--workflow', wf, '--events'], { cwd: sb.cwd, env: sb.env });
    let events = '';
    child.stdout?.on('data', (d: Buffer) => (events += d.toString()));
    let exited = false;
    const ended = new Promise<number | null>((done) => child.on('close', (code) => ((exited = true), done(code))));
    const runId = await new Promise<string>((done, fail) => {
      const t = setInterval(() => {
        const m = /"run_id":"([^"]+)"/.exec(events);
        if (m?.[1]) done(m[1]);
        if (m?.[1] || exited) clearInterval(t);
        if (exited && !m) fail(new Error(`the run ended before it said its id: ${events}`));
      }, 50);
    });
    await goto(runPath(runId, 'work'));
    const panel = page.locator('aside.panel[data-panel="work"]');
    await panel
      .locator('.transcript .tr-text', { hasText: 'Reading the code first.' })
      .first()
      .waitFor({ timeout: 20_000 });
    // Seen while the agent still works: the node runs and the run's process has not ended.
    expect(exited).toBe(false);
    expect(await page.locator('.dag-node[data-node="work"]').getAttribute('data-state')).toBe('running');
    expect(await panel.locator('.transcript').getAttribute('data-transcript')).toBe('live');
    await page.screenshot({ path: join(ARTIFACTS, 'node-live.png') });

    expect(await ended, events.split('\n').slice(-3).join('\n')).toBe(0);
    await page.locator('.dag-node[data-node="work"][data-state="done"]').waitFor();
    // The TypeScript file's diff is coloured by highlight.js (loaded when the first diff shows).
    const file = panel.locator('.d2h-file-wrapper', { hasText: 'src/greet.ts' });
    await file.locator('.hljs-keyword', { hasText: 'interface' }).first().waitFor();
    expect(await file.getAttribute('data-lang')).toBe('ts');
    expect(await file.locator('.hljs-title').count()).toBeGreaterThan(0);
    expect(await file.locator('.d2h-code-line-ctn').first().getAttribute('class')).toContain('hljs');
    await page.screenshot({ path: join(ARTIFACTS, 'node-diff-highlighted.png') });
  }, 90_000);

  it('designs a run from the page, shows its DAG for review without running it, and starts it', async () => {
    await writeFile(
      join(sb.cwd, 'pair.yaml'),
      stringify({
        name: 'pair',
        nodes: [
          { id: 'first', label: 'first', command: 'echo a > a.md' },
          { id: 'second', label: 'second', command: 'echo b > b.md', gates: ['test -f b.md'] },
          // The talker writes outputs/work.md, the output a node named work must leave.
          { id: 'work', label: 'work', agent: 'talker' },
        ],
        edges: [
          { from: 'first', to: 'second' },
          { from: 'second', to: 'work' },
        ],
      }),
    );
    await goto('#/');
    await page.getByLabel('source').selectOption('workflow');
    await page.getByLabel('new run').fill('pair.yaml');
    await page.getByRole('button', { name: 'Design run' }).click();
    const review = page.locator('[data-review]');
    await review.waitFor();
    expect(await review.textContent()).toContain('3 nodes, 2 edges, 0 merges, 1 gates');
    // The talker agent cost $0.0010 in the run before: that is the estimate (the shell nodes cost nothing).
    expect(await review.locator('[data-estimate]').textContent()).toBe('; estimated cost $0.0010');
    await page.locator('.run-title .pill', { hasText: 'designed' }).waitFor();
    expect(await page.locator('.dag-node[data-state="pending"]').count()).toBe(3);
    const runId = decodeURIComponent(/#\/run\/([^/]+)/.exec(page.url())?.[1] ?? '');
    const before = await sb.json<{ rows: Array<{ n: number }> }>([
      'audit',
      'query',
      `SELECT count(*) AS n FROM attempts WHERE run_id = '${runId}'`,
    ]);
    expect(before.body.rows).toEqual([{ n: 0 }]);
    await page.screenshot({ path: join(ARTIFACTS, 'run-review.png') });

    await page.getByRole('button', { name: 'Start' }).click();
    await page.locator('.run-title .pill', { hasText: 'active' }).waitFor();
    await page.locator('.run-title .pill:not(.s-active)').waitFor({ timeout: 40_000 });
    const end = await sb.json<{ status: string; reason: string | null }>(['status', runId]);
    expect(end.body.status, end.body.reason ?? '').toBe('completed');
    await page.locator('.run-title .pill', { hasText: 'completed' }).waitFor();
    await page.locator('.dag-node[data-node="work"][data-state="done"]').waitFor();
    expect(await page.locator('[data-review]').count()).toBe(0);
    // What the Start button said ('started') went when the run's status moved: no stale word beside 'completed'.
    expect(await page.locator('.run-head .actions').textContent()).not.toContain('started');
  }, 60_000);

  it('runs the failed nodes of a run again from the page and follows the new run', async () => {
    const flag = join(sb.dir, 'fixed');
    const wf = join(sb.dir, 'shaky.yaml');
    await writeFile(
      wf,
      stringify({
        name: 'shaky',
        nodes: [
          { id: 'base', label: 'base', command: 'echo base > base.md' },
          { id: 'shaky', label: 'shaky', command: `test -f '${flag}' && echo ok > ok.md`, max_retry: 0 },
        ],
        edges: [{ from: 'base', to: 'shaky' }],
      }),
    );
    const failed = await sb.json<{ run_id: string }>(['run', '--workflow', wf]);
    expect(failed.code).toBe(1);
    await goto(runPath(failed.body.run_id));
    await page.locator('.dag-node[data-node="shaky"][data-state="failed"]').waitFor();
    await writeFile(flag, 'yes');
    await page.getByRole('button', { name: 'Re-run failed' }).click();
    const shown = (): string => decodeURIComponent(/#\/run\/([^/]+)/.exec(page.url())?.[1] ?? '');
    for (let i = 0; i < 300 && shown() === failed.body.run_id; i++) await page.waitForTimeout(100);
    expect(shown(), (await page.locator('.actions').textContent()) ?? '').not.toBe(failed.body.run_id);
    await page.locator('.run-title .pill', { hasText: 'completed' }).waitFor({ timeout: 30_000 });
    await page.locator('.dag-node[data-node="shaky"][data-state="done"]').waitFor();
    const rerunId = shown();
    const status = await sb.json<{ status: string; nodes: Record<string, number> }>(['status', rerunId]);
    expect(status.body).toMatchObject({ status: 'completed', nodes: { done: 2 } });
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
