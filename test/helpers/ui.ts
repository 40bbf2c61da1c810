import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { stringify } from 'yaml';
import { FAKE_AGENT } from './agents.js';
import { MSO_BIN, type Sandbox } from './cli.js';

/** A file name that is markup: the dashboard must show it as text. */
export const MARKUP_NAME = '<img src=x onerror=alert(1)>.md';

/**
 * A workflow whose merge misses its quorum and waits for a person: `broken` fails its gate (with output on stderr),
 * `ok` succeeds and writes a file named like markup, `join` needs both parents.
 */
export async function writeQuorumWorkflow(dir: string, name = 'quorum'): Promise<string> {
  const out = (id: string): string => `mkdir -p outputs && echo ${id} > outputs/${id}.md`;
  const file = join(dir, `${name}.yaml`);
  await writeFile(
    file,
    stringify({
      name,
      nodes: [
        { id: 'root', label: 'root', command: out('root') },
        {
          id: 'ok',
          label: 'ok',
          command: `${out('ok')} && echo '<script>alert(2)</script>' > 'outputs/${MARKUP_NAME}'`,
        },
        {
          id: 'broken',
          label: 'broken',
          command: out('broken'),
          gates: ['echo "gate says no: 3 tests failed" >&2; exit 4'],
          max_retry: 0,
        },
        { id: 'join', label: 'join', command: out('join'), merge_policy: { strategy: 'score_weighted', quorum: 2 } },
      ],
      edges: [
        { from: 'root', to: 'ok' },
        { from: 'root', to: 'broken' },
        { from: 'ok', to: 'join' },
        { from: 'broken', to: 'join' },
      ],
    }),
  );
  return file;
}

/** Debian's Chromium, driven by playwright-core (never a downloaded browser build). */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** A dashboard under test: `mso ui --port 0` in the sandbox, and a Chromium page on the link it printed. */
export interface Dashboard {
  /** The link `mso ui` printed (with the token in the fragment). */
  readonly link: string;
  readonly page: Page;
  /** Messages of the page's dialogs (each dismissed). */
  readonly dialogs: string[];
  /** Uncaught errors in the page. */
  readonly pageErrors: string[];
  close(): Promise<void>;
}

/** Starts `mso ui --port 0` and resolves with the link it prints; fails with its stderr if it exits first. */
function startUi(sb: Sandbox): Promise<{ server: ChildProcess; link: string }> {
  const server = spawn(process.execPath, [MSO_BIN, 'ui', '--port', '0'], { cwd: sb.cwd, env: sb.env });
  return new Promise((done, fail) => {
    let out = '';
    let err = '';
    server.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /mso ui: (http:\/\/\S+#access=[0-9a-f]+)/.exec(out);
      if (m?.[1]) done({ server, link: m[1] });
    });
    server.stderr?.on('data', (b: Buffer) => (err += b.toString()));
    server.on('exit', (code) => fail(new Error(`mso ui exited ${code}: ${err}`)));
  });
}

/** `mso ui` in the sandbox and Debian's Chromium on a 1440×900 page (not yet navigated). */
export async function openDashboard(sb: Sandbox): Promise<Dashboard> {
  const { server, link } = await startUi(sb);
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const dialogs: string[] = [];
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    const opened = browser;
    return {
      link,
      page,
      dialogs,
      pageErrors,
      async close() {
        await opened.close();
        server.kill('SIGINT');
      },
    };
  } catch (e) {
    await browser?.close();
    server.kill('SIGINT');
    throw e;
  }
}

/** The sandbox's policy: one agent `talker`, the fake Claude Code CLI playing `scenario`, no retries. */
export async function writeTalkerPolicy(sb: Sandbox, scenario: string): Promise<void> {
  await writeFile(
    join(sb.dir, 'workspace', '.mso-context', 'config', 'policy.yaml'),
    stringify({
      agents: { talker: { kind: 'claude-code', command: FAKE_AGENT, env: { FAKE_AGENT_SCENARIO: scenario } } },
      resilience: { retry: { max_retries: 0 } },
    }),
  );
}
