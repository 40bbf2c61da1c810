// Dashboard benchmark (not a test): first paint of a run's DAG in Debian's Chromium (10 nodes as the baseline, then
// 1,000), and event → page latency: an audit event appended by another connection until the node's new state is in
// the page's DOM. Run: npm run bench:ui (compiled, under plain node, as `mso` runs). Needs /usr/bin/chromium.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { stringify } from 'yaml';
import { createNodeApp, type MsoApp } from '../src/app/index.js';
import { openAuditLog } from '../src/audit/index.js';
import { nodePlatform } from '../src/platform/index.js';
import { startUi } from '../src/ui/index.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/helpers/ui.js';

const SAMPLES = Number(process.env['BENCH_SAMPLES'] ?? 5);
const EVENTS = Number(process.env['BENCH_EVENTS'] ?? 20);
const TOKEN = 'b'.repeat(48);

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
};

/** A layered DAG of `n` nodes, 20 wide, each node with one or two parents in the layer above. */
async function design(app: MsoApp, dir: string, n: number): Promise<{ runId: string; ids: string[] }> {
  const width = Math.min(20, n);
  const ids = Array.from({ length: n }, (_, i) => `n${i}`);
  const edges: Array<{ from: string; to: string }> = [];
  for (let i = width; i < n; i++) {
    const layerStart = Math.floor(i / width) * width - width;
    edges.push({ from: `n${layerStart + (i % width)}`, to: `n${i}` });
    if (i % 3 === 0) edges.push({ from: `n${layerStart + ((i + 1) % width)}`, to: `n${i}` });
  }
  const file = join(dir, `dag-${n}.yaml`);
  await writeFile(
    file,
    stringify({ name: `dag-${n}`, nodes: ids.map((id) => ({ id, label: `step ${id}`, command: 'true' })), edges }),
  );
  const s = await app.engine.run({ workflow: file, dryRun: true });
  // The first layers done, as a run in progress looks (a big graph opens at its top, where the events land).
  const ws = await app.open(false);
  const log = openAuditLog(nodePlatform(), { file: ws.layout.auditDb, blobsDir: ws.layout.blobsDir });
  log.appendEvents(
    ids
      .slice(0, Math.min(40, n / 2))
      .map((id) => ({ runId: s.run_id, type: 'node.state', nodeId: id, payload: { state: 'done' } })),
  );
  log.close();
  return { runId: s.run_id, ids };
}

/**
 * Page loads until the DAG's first nodes are painted. Cold: a fresh browser profile per load; warm: one profile that
 * has shown the run before (its assets cached). The server lays a topology out once and keeps it: the first cold load
 * after the server started pays for the layout, the later ones do not.
 */
async function firstPaint(
  browser: Browser,
  url: string,
  runId: string,
  n: number,
  warm: boolean,
  extra = 0,
): Promise<number[]> {
  const out: number[] = [];
  const open = async (): Promise<BrowserContext> => {
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 }, bypassCSP: true });
    await ctx.addInitScript((t) => sessionStorage.setItem('mso-ui-token', t), TOKEN);
    return ctx;
  };
  const shared = warm ? await open() : null;
  for (let i = 0; i < SAMPLES + extra + (warm ? 1 : 0); i++) {
    const ctx = shared ?? (await open());
    const page = await ctx.newPage();
    await page.goto(`${url}#/run/${runId}`);
    // Page code as strings (the bench compiles without the DOM library), hence bypassCSP: the page forbids eval.
    await page.waitForFunction(
      `document.querySelectorAll('.react-flow__node:not([style*="visibility: hidden"])').length >= ${Math.min(n, 20)}`,
      undefined,
      { polling: 'raf', timeout: 60_000 },
    );
    const t = await page.evaluate<number>('new Promise((r) => requestAnimationFrame(() => r(performance.now())))');
    if (!warm || i > 0) out.push(t);
    await page.close();
    if (!shared) await ctx.close();
  }
  await shared?.close();
  return out;
}

async function eventLatency(
  browser: Browser,
  app: MsoApp,
  url: string,
  runId: string,
  ids: string[],
): Promise<number[]> {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 }, bypassCSP: true });
  await ctx.addInitScript((t) => sessionStorage.setItem('mso-ui-token', t), TOKEN);
  const page = await ctx.newPage();
  await page.goto(`${url}#/run/${runId}`);
  await page.locator('.live.on').waitFor();
  const ws = await app.open(false);
  const log = openAuditLog(nodePlatform(), { file: ws.layout.auditDb, blobsDir: ws.layout.blobsDir });
  const out: number[] = [];
  // Pending nodes on screen (a big graph opens at its top; only what is visible is in the DOM).
  await page.locator('.dag-node[data-state="pending"]').first().waitFor();
  const pending = (
    await page.evaluate<string[]>(
      `[...document.querySelectorAll('.dag-node[data-state="pending"]')].map((e) => e.getAttribute('data-node'))`,
    )
  ).filter((id) => ids.includes(id));
  for (let i = 0; i < Math.min(EVENTS, pending.length); i++) {
    const id = pending[i] as string;
    await page.locator(`[data-node="${id}"]`).waitFor({ state: 'attached' });
    const seen = page.evaluate<number>(
      `new Promise((resolve) => {
        const check = () => {
          if (document.querySelector('[data-node="${id}"][data-state="running"]')) resolve(Date.now());
          else requestAnimationFrame(check);
        };
        check();
      })`,
    );
    const t0 = Date.now();
    log.appendEvent({ runId, type: 'node.state', nodeId: id, payload: { state: 'running' } });
    out.push((await seen) - t0);
  }
  log.close();
  await ctx.close();
  return out;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mso-bench-ui-'));
  const quiet = { warn: () => undefined, info: () => undefined };
  const app = createNodeApp(
    { workspace: join(dir, 'workspace'), observation: join(dir, 'observation'), observer: 'bench' },
    { PATH: process.env['PATH'], HOME: join(dir, 'home') },
    dir,
    quiet,
    'bench',
  );
  await app.workspace.init();
  const small = await design(app, dir, 10);
  const big = await design(app, dir, 1000);
  const ui = await startUi(app, { port: 0, token: TOKEN, version: 'bench', log: () => undefined });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const fmt = (xs: number[]): string => `median ${pct(xs, 50).toFixed(0)} ms, p95 ${pct(xs, 95).toFixed(0)} ms`;
    const p10 = await firstPaint(browser, ui.url, small.runId, 10, false);
    const [first1k = NaN, ...p1k] = await firstPaint(browser, ui.url, big.runId, 1000, false, 1);
    const w1k = await firstPaint(browser, ui.url, big.runId, 1000, true);
    const x = (a: number[]): string => `${(pct(a, 50) / pct(p10, 50)).toFixed(1)}x the baseline`;
    console.log(`first paint of the DAG (${SAMPLES} page loads each)`);
    console.log(`  10 nodes, cold     ${fmt(p10)}   (baseline)`);
    console.log(`  1,000 nodes, cold  ${fmt(p1k)}   ${x(p1k)}; goal < 1500 ms`);
    console.log(`  1,000 nodes, warm  ${fmt(w1k)}   ${x(w1k)} (the browser has the page's assets)`);
    console.log(
      `  1,000 nodes, the first load after the server started: ${first1k.toFixed(0)} ms (the server lays big runs out in a worker from its start)`,
    );
    const e10 = await eventLatency(browser, app, ui.url, small.runId, small.ids);
    const e1k = await eventLatency(browser, app, ui.url, big.runId, big.ids);
    console.log(
      'audit event -> node state in the page (another connection appends; the server reads the log on its change notice)',
    );
    console.log(`  10 nodes     ${fmt(e10)}   (${e10.length} events, baseline)`);
    console.log(`  1,000 nodes  ${fmt(e1k)}   (${e1k.length} events); goal p95 < 500 ms`);
  } finally {
    await browser.close();
    await ui.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
