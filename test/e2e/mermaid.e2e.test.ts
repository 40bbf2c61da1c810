import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { stringify } from 'yaml';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { REPO_ROOT, makeSandbox, type Sandbox } from '../helpers/cli.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../helpers/ui.js';

// Mermaid's own parser (the pinned devDependency, loaded from node_modules: no CDN) judges our `flowchart` output.
const MERMAID = join(REPO_ROOT, 'node_modules', 'mermaid', 'dist', 'mermaid.min.js');
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`skipping the Mermaid parser test: ${CHROMIUM} is missing (apt-get install chromium)`);

let sb: Sandbox;
let browser: Browser;
let page: Page;
beforeAll(async () => {
  if (!haveChromium) return;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  page = await browser.newPage();
  await page.setContent('<!doctype html><html><body></body></html>');
  await page.addScriptTag({ path: MERMAID });
  await page.evaluate(() =>
    (globalThis as unknown as { mermaid: { initialize(o: object): void } }).mermaid.initialize({
      startOnLoad: false,
      securityLevel: 'strict',
    }),
  );
}, 60_000);
afterAll(async () => {
  await browser?.close();
});
beforeEach(async () => {
  sb = await makeSandbox('mso-mermaid-');
});
afterEach(async () => {
  await sb.cleanup();
});

/** Mermaid's verdict on a text: null when it parses, else its error message. */
const parse = (text: string): Promise<string | null> =>
  page.evaluate(async (t) => {
    try {
      await (globalThis as unknown as { mermaid: { parse(t: string): Promise<unknown> } }).mermaid.parse(t);
      return null;
    } catch (e) {
      return String((e as Error)?.message ?? e);
    }
  }, text);

/** The SVG Mermaid draws for a text (its labels as a person sees them). */
const render = (text: string): Promise<string> =>
  page.evaluate(async (t) => {
    const m = (globalThis as unknown as { mermaid: { render(id: string, t: string): Promise<{ svg: string }> } })
      .mermaid;
    return (await m.render('chart', t)).svg;
  }, text);

const HOSTILE = [
  ['end', 'The "end" [of] it'],
  ['style', '<script>alert(1)</script> & |pipes| #hash'],
  ['graph', '검색 API를 개선 🚀 {braces} (parens)'],
  ['click', 'click call alert("x") `tick`'],
  ['subgraph', 'a --> b ; %% not a comment\nsecond line'],
] as const;

describe.skipIf(!haveChromium)('Mermaid output', () => {
  it('is accepted by Mermaid’s own parser for keyword ids, quotes, brackets, markup, Korean and emoji', async () => {
    // The parser can say no: a keyword used as a bare node id is rejected.
    expect(await parse('flowchart LR\n  end --> style')).not.toBeNull();
    const wf = join(sb.dir, 'hostile.yaml');
    await writeFile(
      wf,
      stringify({
        name: 'hostile',
        nodes: HOSTILE.map(([id, label]) => ({ id, label, command: 'true', persona: 'arch"<b>' })),
        edges: [
          { from: 'end', to: 'style' },
          { from: 'end', to: 'graph', type: 'hitl' },
          { from: 'style', to: 'click' },
          { from: 'graph', to: 'click' },
          { from: 'click', to: 'subgraph' },
          { from: 'subgraph', to: 'click', max_iterations: 3 },
        ],
      }),
    );
    const d = await sb.json<{ run_id: string }>(['design', 'all', '--workflow', wf]);
    expect(d.code, d.stderr).toBe(0);
    const m = await sb.run(['design', 'show', '--run-id', d.body.run_id, '--format', 'mermaid']);
    expect(m.code, m.stderr).toBe(0);
    const text = m.stdout;
    expect(text).toMatch(/^flowchart LR\n/);
    expect(await parse(text), text).toBeNull();
    // What a person sees: every character of the labels, none deleted, and no markup taken as markup.
    const svg = await render(text);
    for (const [id, label] of HOSTILE)
      for (const word of label.split(/\s+/).filter((w) => !w.includes('\n')))
        expect(svg, `${id}: ${word}`).toContain(
          word.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '"'),
        );
    expect(svg).not.toMatch(/<script/i);
  });
});
