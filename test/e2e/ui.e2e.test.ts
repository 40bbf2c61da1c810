import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_AGENT } from '../helpers/agents.js';
import { REPO_ROOT, makeSandbox, type Sandbox } from '../helpers/cli.js';
import { CHROMIUM, MARKUP_NAME, openDashboard, writeQuorumWorkflow, type Dashboard } from '../helpers/ui.js';

const ARTIFACTS = join(REPO_ROOT, 'test', 'artifacts');
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium)
  console.warn(`skipping the dashboard browser test: ${CHROMIUM} is missing (apt-get install chromium)`);

let sb: Sandbox;
let ui: Dashboard;
let link: string;
let page: Page;
let dialogs: string[];

const shot = (name: string): Promise<Buffer> => page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });

describe('mso ui: refusals at start', () => {
  it('refuses a non-loopback host without a token, and a bad port, with exit 2 and nothing served', async () => {
    const box = await makeSandbox('mso-ui-cli-');
    try {
      const open = await box.run(['ui', '--host', '0.0.0.0', '--port', '0']);
      expect(open.code).toBe(2);
      // Said whole: nothing in it looks to the redactor like a token given on a command line.
      expect(open.stderr).toContain('give an access token (--token, or MSO_UI_TOKEN) so the dashboard is not open');
      expect(open.stderr).not.toContain('REDACTED');
      expect(open.stdout).not.toContain('http://');
      const port = await box.json(['ui', '--port', '70000']);
      expect(port.code).toBe(2);
      expect(port.body).toMatchObject({ error: { code: 'MSO_INVALID_ARGUMENT' } });
    } finally {
      await box.cleanup();
    }
  });
});

describe.skipIf(!haveChromium)('mso ui in a real browser', () => {
  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    sb = await makeSandbox('mso-ui-e2e-');
    await sb.run(['init']);
    ui = await openDashboard(sb);
    ({ link, page, dialogs } = ui);
  }, 60_000);
  afterAll(async () => {
    await ui?.close();
    await sb?.cleanup();
  });

  it('shows a run started by another process live, its waiting merge and diffs, and finishes it after an approval without a reload', async () => {
    await page.goto(link);
    await page.getByText('No runs').waitFor();
    // The token left the address bar once the page took it.
    expect(page.url()).not.toContain('access=');
    await page.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 42));

    // Another process runs the workflow: its merge misses its quorum and asks a person (exit 3).
    const run = await sb.json<{ run_id: string; status: string }>([
      'run',
      '--workflow',
      await writeQuorumWorkflow(sb.dir),
    ]);
    expect(run.code).toBe(3);
    const runId = run.body.run_id;
    const row = page.locator(`tr[data-run="${runId}"]`);
    await row.getByText('awaiting human').waitFor();
    await row.getByText('1 waiting').waitFor();
    await shot('runs');

    // The DAG: the merge waits for a person and shows its quorum; the failed branch is red.
    await row.click();
    const join_ = page.locator('.dag-node[data-node="join"]');
    await join_.locator('.dn-human').waitFor();
    expect(await join_.locator('.dn-quorum').textContent()).toBe('quorum 2');
    expect(await page.locator('.dag-node[data-node="broken"]').getAttribute('data-state')).toBe('failed');
    expect(await page.locator('.dag-node[data-node="ok"]').getAttribute('data-state')).toBe('done');
    await shot('run-waiting');

    // The node's diff, per file; a file named like markup is text, never an element.
    await page.locator('.dag-node[data-node="ok"]').click();
    const panel = page.locator('aside.panel[data-panel="ok"]');
    await panel.locator('.d2h-file-header').first().waitFor();
    // git ends a name with spaces with a tab on the +++ line.
    const names = (await panel.locator('.d2h-file-name').allTextContents()).map((n) => n.trim());
    expect(names).toContain(`outputs/${MARKUP_NAME}`);
    expect(await panel.locator('.diff').textContent()).toContain('<script>alert(2)</script>');
    expect(await panel.locator('.diff img, .diff script').count()).toBe(0);
    expect(await panel.locator('[data-tree-hash]').getAttribute('data-tree-hash')).toMatch(/^[0-9a-f]{64}$/);
    await shot('node-diff');

    // A failing node shows its error and its gate's output.
    await page.locator('.dag-node[data-node="broken"]').click();
    const failed = page.locator('aside.panel[data-panel="broken"]');
    await failed.locator('.failure').getByText('gate_failed').waitFor();
    expect(await failed.locator('.gate.bad pre').textContent()).toContain('gate says no: 3 tests failed');
    await shot('node-failed');

    // Approve from the inbox with a note; the page resumes the run as `mso resume` would.
    await page.locator('nav a', { hasText: 'Inbox' }).click();
    const card = page.locator('[data-hitl="HITL-0001"]');
    await card.getByText('quorum missed').waitFor();
    await card.locator('input').fill('one branch is enough');
    await shot('inbox');
    await card.getByRole('button', { name: 'Approve' }).click();
    await card.getByText('approved · run resumed').waitFor();

    // Back on the run: it moves to its end live (the merge is done without `broken`: the run completed, saying so).
    await card.getByRole('link', { name: 'open run' }).click();
    await page.locator('.dag-node[data-node="join"][data-state="done"]').waitFor();
    await page.locator('.run-title .pill', { hasText: 'completed' }).waitFor();
    await page.getByText('join done without broken').first().waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(42);
    // The finished run sends no more events: a failed load of a tab shows its error and is tried again by itself.
    const failOnce = async (what: string): Promise<void> => {
      let failures = 1;
      await page.route(`**/api/runs/*/${what}`, (r) =>
        failures-- > 0
          ? r.fulfill({ status: 503, contentType: 'application/json', body: '{"error":{"message":"busy, try later"}}' })
          : r.continue(),
      );
    };
    await failOnce('timeline');
    await failOnce('tickets');
    await page.locator('.tabs button', { hasText: 'Timeline' }).click();
    await page.locator('.error', { hasText: 'busy, try later' }).waitFor();
    await page.locator('.timeline').getByText('HITL-0001 approved by tester: one branch is enough').waitFor();
    expect(await page.locator('.error').count()).toBe(0);
    await shot('timeline');
    await page.locator('.tabs button', { hasText: 'Tickets' }).click();
    await page.locator('.error', { hasText: 'busy, try later' }).waitFor();
    await page.locator('[data-column="done"] .ticket').first().waitFor();
    expect(await page.locator('.error').count()).toBe(0);
    await shot('tickets');
    await page.locator('.tabs button', { hasText: 'Graph' }).click();
    await page.locator('.dag-node[data-node="join"]').waitFor();
    await shot('run-finished');

    const decided = await sb.json<{ rows: unknown[] }>([
      'audit',
      'query',
      "SELECT approved_by, decision_content FROM decisions WHERE title LIKE 'HITL-0001 approved%'",
    ]);
    expect(decided.body.rows).toEqual([{ approved_by: 'tester', decision_content: 'one branch is enough' }]);
    expect(dialogs).toEqual([]);
  }, 90_000);

  it('shows a proposal as a diff of the file it changes and accepts it from the page', async () => {
    // The same agent node fails the same way in three runs: the observer proposes the critical_review model for it
    // (an agent reads its mental model; a shell command would get no such proposal).
    await writeFile(
      join(sb.dir, 'workspace', '.mso-context', 'config', 'policy.yaml'),
      [
        `agents:\n  crasher:\n    kind: claude-code\n    command: ${FAKE_AGENT}`,
        'resilience:\n  retry: { max_retries: 0 }\n  circuit_breaker: { failure_threshold: 100 }',
        'run_policy:\n  max_active_runs: 50',
      ].join('\n'),
    );
    const wf = join(sb.dir, 'flaky.yaml');
    await writeFile(
      wf,
      'name: flaky\nnodes:\n  - id: work\n    label: Work\n    agent: crasher\n    instructions: "#scenario:crash"\n    max_retry: 0\nedges: []\n',
    );
    for (let i = 0; i < 3; i++) expect((await sb.run(['run', '--workflow', wf])).code).toBe(1);
    await page.locator('nav a', { hasText: 'Proposals' }).click();
    const card = page.locator('.proposal').filter({ hasText: 'critical_review' }).first();
    await card.locator('.patch tr.add', { hasText: '"model_id": "critical_review"' }).waitFor();
    expect(await card.locator('.patch-file').textContent()).toContain('mental_model_bundle.json');
    expect(await card.locator('.patch tr.del').count()).toBeGreaterThan(0);
    await shot('proposal');
    await card.getByRole('button', { name: 'Accept' }).click();
    await card.locator('.pill', { hasText: 'accepted' }).waitFor();
    const list = await sb.json<{ proposals: Array<{ status: string; decided_by: string }> }>(['proposals', 'list']);
    expect(list.body.proposals[0]).toMatchObject({ status: 'accepted', decided_by: 'tester' });
  }, 60_000);
});
