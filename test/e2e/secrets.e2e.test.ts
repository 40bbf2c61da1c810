import { connectMso } from '../helpers/mcp.js';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_SECRETS, ENV_SECRET, POLICY_SECRET, SECRET_SAMPLES } from '../fixtures/secrets.js';
import { FAKE_AGENT } from '../helpers/agents.js';
import { makeSandbox, type MsoResult, type Sandbox } from '../helpers/cli.js';

// Twenty-odd secret formats go in through the goal, the workflow, the environment and an agent's output; then every
// byte the runs wrote (workspace, observation space, audit DB with its -wal, blobs, exports) and every byte printed
// (stdout and stderr of each command, human and --json) is scanned for them.

let sb: Sandbox;
const printed: Array<{ args: string; out: MsoResult }> = [];
const allTexts = SECRET_SAMPLES.map((s) => s.text);
const oneLine = allTexts.map((t) => t.replaceAll('\n', ' ')).join(' | ');
let runId = '';

async function mso(args: string[]): Promise<MsoResult> {
  const out = await sb.run(args, { env: { [ENV_SECRET.name]: ENV_SECRET.value } });
  printed.push({ args: args.join(' '), out });
  return out;
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

beforeAll(async () => {
  sb = await makeSandbox('mso-secrets-');
  await sb.run(['init']);
  const secretsFile = join(sb.dir, 'secrets.txt');
  await writeFile(secretsFile, `${allTexts.join('\n')}\n${POLICY_SECRET}\n`);
  const scenario = join(sb.dir, 'leaky-agent.json');
  await writeFile(
    scenario,
    JSON.stringify({
      name: 'leaky',
      steps: [
        ...allTexts.map((text) => ({ text: `found ${text} in the config` })),
        { text: `the codename is ${POLICY_SECRET}` },
        { stderr: `debug: ${oneLine}` },
        { writeRequested: { content: 'checked' } },
        { result: { subtype: 'success', text: `done; used ${allTexts[0]} and password=Hunter2Marigold` } },
      ],
    }),
  );
  await writeFile(
    join(sb.dir, 'workspace', '.mso-context', 'config', 'policy.yaml'),
    stringify({
      agents: {
        'fake-claude': {
          kind: 'claude-code',
          command: FAKE_AGENT,
          args: ['--scenario', scenario],
          env_allow: [ENV_SECRET.name],
        },
        sh: { kind: 'shell', env_allow: [ENV_SECRET.name] },
      },
      fallback_chains: { default: ['fake-claude'] },
      resilience: { retry: { max_retries: 0 } },
      redaction: { values: [POLICY_SECRET] },
    }),
  );
  const wf = join(sb.dir, 'leaky.yaml');
  await writeFile(
    wf,
    stringify({
      name: 'leaky',
      goal: `Rotate the keys: ${oneLine} and ${POLICY_SECRET}`,
      nodes: [
        {
          id: 'print',
          label: `Print them (${allTexts[20]})`,
          description: `uses ${allTexts[3]} and ${allTexts[13]}`,
          agent: 'sh',
          command: `cat ${secretsFile}; cat ${secretsFile} >&2; echo "env $${ENV_SECRET.name}"; mkdir -p outputs && echo ok > outputs/print.md`,
        },
        { id: 'ask', label: 'Ask the agent', agent: 'fake-claude', instructions: `Check ${oneLine}` },
        { id: 'fail', label: 'Fail loudly', command: `echo "${allTexts[24]} rejected" >&2; exit 3`, max_retry: 0 },
      ],
      edges: [
        { from: 'print', to: 'ask' },
        { from: 'print', to: 'fail' },
      ],
    }),
  );
  const run = await mso(['--json', 'run', '--workflow', wf]);
  runId = (JSON.parse(run.stdout) as { run_id?: string }).run_id ?? `(no run: ${run.stdout} ${run.stderr})`;
  await mso(['run', '--goal', `Audit ${oneLine}`, '--dry-run']);
  await mso(['status', runId]);
  await mso(['--json', 'status', runId]);
  await mso(['timeline', runId]);
  await mso(['--json', 'timeline', runId]);
  await mso(['audit', 'export', '--run-id', runId]);
  await mso(['audit', 'export', '--run-id', runId, '--format', 'otlp']);
  await mso(['audit', 'export', '--run-id', runId, '--out', join(sb.dir, 'workspace', 'export.jsonl')]);
  await mso(['--json', 'audit', 'tail', '--run-id', runId]);
  await mso(['--json', 'runs', 'show', runId]);
  await mso(['workspace', 'sync']);
}, 180_000);

afterAll(async () => {
  if (process.env['MSO_KEEP_SANDBOX'] === '1') console.log(`sandbox kept: ${sb.dir}`);
  else await sb.cleanup();
});

describe('secrets never leave mso', () => {
  it('the runs really carried the secrets through (the test can fail)', () => {
    expect(runId).toMatch(/^\d{8}-/);
    const run = printed[0]?.out;
    expect(run?.code, run?.stderr).toBe(1); // the `fail` node fails on purpose
    const body = JSON.parse(run?.stdout ?? '{}') as { nodes: Record<string, number> };
    expect(body.nodes).toEqual({ done: 2, failed: 1 });
  });

  it('finds none of them in any file written: workspace, observation space, audit DB and -wal, blobs, export', async () => {
    const files = [...(await filesUnder(join(sb.dir, 'workspace'))), ...(await filesUnder(join(sb.dir, 'observation')))]
      // The user's own policy file lists the value to redact.
      .filter((f) => !f.endsWith(join('config', 'policy.yaml')));
    expect(files.some((f) => f.endsWith('audit.db'))).toBe(true);
    // The blobs (requests, responses, transcripts) are in the database's rows: the file is scanned below, and each
    // row whole here too (a row longer than a page is cut across pages in the file).
    const db = new Database(join(sb.dir, 'workspace', '.mso-context', 'audit.db'), { readonly: true });
    const rows = db.prepare('SELECT hash, data FROM blobs WHERE data IS NOT NULL').all() as Array<{
      hash: string;
      data: Buffer;
    }>;
    db.close();
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows)
      for (const s of ALL_SECRETS) expect(r.data.toString('latin1').includes(s), `blob ${r.hash}`).toBe(false);
    const leaks: string[] = [];
    let redactions = 0;
    for (const f of files) {
      const bytes = await readFile(f);
      const text = bytes.toString('latin1');
      redactions += text.split('[REDACTED:').length - 1;
      for (const s of ALL_SECRETS) if (text.includes(s)) leaks.push(`${relative(sb.dir, f)}: ${s}`);
    }
    expect(leaks).toEqual([]);
    expect(redactions).toBeGreaterThan(50);
  });

  it('finds none of them in stdout or stderr of any command, human or --json', () => {
    const leaks = printed.flatMap(({ args, out }) =>
      ALL_SECRETS.filter((s) => out.stdout.includes(s) || out.stderr.includes(s)).map((s) => `${args}: ${s}`),
    );
    expect(leaks).toEqual([]);
    for (const { args, out } of printed.filter((p) => p.args.startsWith('--json'))) {
      expect(() => JSON.parse(out.stdout) as unknown, args).not.toThrow();
    }
    expect(printed.some((p) => p.out.stdout.includes('[REDACTED:'))).toBe(true);
  });

  it('finds none of them in MCP results, even when a tool echoes them back (audit_query of a literal)', async () => {
    const client = await connectMso('secrets-test', {
      env: { ...sb.env, [ENV_SECRET.name]: ENV_SECRET.value },
      cwd: sb.cwd,
    });
    try {
      const texts: string[] = [];
      for (const [name, args] of [
        ['run_status', { run_id: runId }],
        ['run_explain', { run_id: runId }],
        ['audit_query', { sql: `SELECT '${[...allTexts, ENV_SECRET.value, POLICY_SECRET].join(' ')}' AS echoed` }],
      ] as const) {
        const r = await client.callTool({ name, arguments: args });
        texts.push(JSON.stringify(r));
      }
      expect(texts[2]).toContain('[REDACTED:');
      const leaks = ALL_SECRETS.filter((s) => texts.some((t) => t.includes(s)));
      expect(leaks).toEqual([]);
    } finally {
      await client.close();
    }
  });
});
