import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers/cli.js';

// A first run with nothing configured: no agent CLI on PATH and no API key in the environment (the default chain is
// claude-code, codex, gemini, anthropic, openai, google, manual).

let sb: Sandbox;
const emptyBin = (): string => join(sb.dir, 'bin');
beforeEach(async () => {
  sb = await makeSandbox('mso-first-run-');
  await sb.run(['init']);
});
afterEach(async () => {
  await sb.cleanup();
});
/** Only node's own directory on PATH, so no agent CLI can be found whatever this machine has installed. */
const bare = () => ({ env: { PATH: `${emptyBin()}:${join(process.execPath, '..')}:/usr/bin:/bin` } });
const activeRuns = async (): Promise<string[]> =>
  readdir(join(sb.dir, 'workspace', '.mso-context', 'active')).catch(() => []);
const eventCount = async (): Promise<number> => {
  const r = await sb.json<{ rows: Array<{ n: number }> }>(['audit', 'query', 'SELECT count(*) AS n FROM events']);
  return Number(r.body.rows[0]?.n ?? 0);
};

describe('the first-run gate', () => {
  it('refuses a run no agent can do, before anything is written, with advice', async () => {
    const before = await eventCount();
    const r = await sb.json<{ error: { code: string; message: string } }>(['run', '--goal', 'Write the notes'], bare());
    expect(r.code).toBe(2);
    expect(r.body.error.code).toBe('MSO_NO_USABLE_AGENT');
    expect(r.body.error.message).toMatch(/mso doctor/);
    expect(r.body.error.message).toMatch(/fallback_chains:\n\s+default: \[claude-code, manual\]/);
    expect(r.body.error.message).toMatch(/--allow-manual/);
    expect(r.body.error.message).toMatch(/claude-code \(/);
    expect(await activeRuns()).toEqual([]);
    expect(await eventCount()).toBe(before);
    const plain = await mkdtemp(join(tmpdir(), 'mso-plain-'));
    const badRepo = await sb.run(['run', '--goal', 'Write the notes', '--allow-manual', '--repo', plain], bare());
    await rm(plain, { recursive: true });
    expect(badRepo.code).toBe(2);
    expect(badRepo.stderr).toMatch(/--repo.*not inside a git repository/);
    expect(await activeRuns()).toEqual([]);
    const human = await sb.run(['run', '--goal', 'Write the notes'], bare());
    expect(human.code).toBe(2);
    expect(human.stderr).toMatch(/no usable agent for every node \(fallback_chains\.default\)/);
  });

  it('lets a run use an agent CLI that shows no login, saying so (mso doctor says the same)', async () => {
    // A `claude` on PATH (the CLI's own command) with no key and no login file: it may log in some other way, so the
    // run goes ahead, but says its calls may fail first.
    await mkdir(emptyBin(), { recursive: true });
    const calls = join(sb.dir, 'claude-calls');
    const claude = `#!/bin/sh\n[ "$1" = --version ] && echo 1.0.0 && exit 0\necho call >> ${calls}\necho "Invalid API key: please run /login" >&2\nexit 1\n`;
    await writeFile(join(emptyBin(), 'claude'), claude, { mode: 0o755 });
    const r = await sb.run(['run', '--goal', 'Write the notes'], bare());
    // It could not log in: the node fell back along the chain to a person.
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(
      /claude-code shows no login \(claude-code: run `claude` once and \/login, or set ANTHROPIC_API_KEY\)/,
    );
    expect(r.stderr).toMatch(
      /each node's call falls back along fallback_chains\.default to a person \(see mso doctor\)/,
    );
    // The person says no to doing it by hand: the node fails when the run goes on, and claude is not called again.
    const first = (await sb.json<{ runs: Array<{ run_id: string }> }>(['status'], bare())).body.runs[0]
      ?.run_id as string;
    const byHand = await sb.json<{ pending_human: string[] }>(['status', first], bare());
    const handItem = String(byHand.body.pending_human[0]).split(':')[0] as string;
    const callsBefore = (await readFile(calls, 'utf8')).split('\n').filter(Boolean).length;
    expect((await sb.run(['reject', first, handItem], bare())).code).toBe(0);
    const refused = await sb.json<{ status: string; reason: string }>(['resume', first], bare());
    expect([refused.body.status, refused.body.reason]).toEqual([
      'failed',
      expect.stringContaining(`${handItem} rejected`),
    ]);
    expect((await readFile(calls, 'utf8')).split('\n').filter(Boolean).length).toBe(callsBefore);
    // Alone (--agent), it fails the node with the reason in plain words: nothing in it reads as a secret.
    const alone = await sb.json<{ run_id: string; status: string }>(
      ['run', '--goal', 'Write the notes', '--agent', 'claude-code'],
      bare(),
    );
    expect(alone.body.status).toBe('awaiting_human');
    const timeline = await sb.run(['timeline', alone.body.run_id], bare());
    expect(timeline.stdout).toMatch(/configuration problem \(auth\): .*Invalid API key/);
    expect(timeline.stdout).not.toMatch(/REDACTED/);
    // The failure went to a person; rejected, the node fails when the run goes on, without calling claude again.
    const asked = await sb.json<{ pending_human: string[] }>(['status', alone.body.run_id], bare());
    const item = String(asked.body.pending_human[0]).split(':')[0] as string;
    const before = (await readFile(calls, 'utf8')).split('\n').filter(Boolean).length;
    expect((await sb.run(['reject', alone.body.run_id, item, '--note', 'no key here'], bare())).code).toBe(0);
    const resumed = await sb.json<{ status: string; reason: string }>(['resume', alone.body.run_id], bare());
    expect(resumed.body.status).toBe('failed');
    expect(resumed.body.reason).toMatch(new RegExp(`${item} rejected by .*: no key here`));
    expect((await readFile(calls, 'utf8')).split('\n').filter(Boolean).length).toBe(before);
    const doctor = await sb.run(['doctor'], bare());
    expect(doctor.stdout).toMatch(/claude-code.*no login found: run `claude` once and \/login/);
    // With a key it shows a login: no warning.
    const keyed = await sb.run(['run', '--goal', 'Write the notes'], {
      env: { ...bare().env, ANTHROPIC_API_KEY: 'sk-ant-first-run' },
    });
    expect(keyed.code, keyed.stderr).toBe(3);
    expect(keyed.stderr).not.toMatch(/shows no login/);
  });

  it('holds a designed run to the same check when mso resume first executes it', async () => {
    const d = await sb.json<{ run_id: string }>(
      ['design', 'all', '--goal', 'Write the notes then review them'],
      bare(),
    );
    expect(d.code).toBe(0);
    const before = await eventCount();
    const r = await sb.json<{ error: { code: string; message: string } }>(['resume', d.body.run_id], bare());
    expect(r.code).toBe(2);
    expect(r.body.error.code).toBe('MSO_NO_USABLE_AGENT');
    expect(r.body.error.message).toMatch(/--allow-manual/);
    // Refused before its first write: still only designed, no event, no ticket.
    expect(await eventCount()).toBe(before);
    expect((await sb.json<{ status: string }>(['status', d.body.run_id])).body.status).toBe('created');
    // Designed, not run: no run's duration to show.
    expect((await sb.run(['status', d.body.run_id])).stdout).toContain('duration  - (not run yet)');
    const manual = await sb.json<{ status: string; pending_human: string[] }>(
      ['resume', d.body.run_id, '--allow-manual'],
      bare(),
    );
    expect(manual.code).toBe(3);
    expect(manual.body.pending_human[0]).toMatch(/by hand/);
  });

  it('checks a run stopped while it was designed before resume designs the rest', async () => {
    // Killed right after its topology was written: no plan yet.
    const killed = await sb.run(['design', 'all', '--goal', 'Write the notes'], {
      env: { ...bare().env, MSO_FAULT_KILL_AT: 'design.topology' },
    });
    expect(killed.code).not.toBe(0);
    const [id] = await activeRuns();
    const plan = join(
      sb.dir,
      'workspace',
      '.mso-context',
      'active',
      id as string,
      '30_execution',
      'execution_plan.json',
    );
    expect(existsSync(plan)).toBe(false);
    const before = await eventCount();
    const r = await sb.json<{ error: { code: string } }>(['resume', id as string], bare());
    expect(r.code).toBe(2);
    expect(r.body.error.code).toBe('MSO_NO_USABLE_AGENT');
    // Refused before the rest of its design was written.
    expect(existsSync(plan)).toBe(false);
    expect(await eventCount()).toBe(before);
  });

  it('with --allow-manual hands the nodes to a person, who must say each was done', async () => {
    const r = await sb.json<{ run_id: string; status: string; pending_human: string[] }>(
      ['run', '--goal', 'Write the notes', '--allow-manual'],
      bare(),
    );
    expect(r.code).toBe(3);
    expect(r.body.status).toBe('awaiting_human');
    expect(r.body.pending_human[0]).toMatch(/by hand/);
    const item = String(r.body.pending_human[0]).split(':')[0] as string;
    const approve = await sb.run(['approve', r.body.run_id, item], bare());
    expect(approve.code).toBe(2);
    expect(approve.stderr).toMatch(/approve with --done/);
    const s = await sb.json<{ pending_human: string[] }>(['status', r.body.run_id]);
    expect(s.body.pending_human[0]).toMatch(new RegExp(`^${item}`));
    // Shown to a person: approve with --done once the work is done, then resume.
    const shown = await sb.run(['status', r.body.run_id], bare());
    expect(shown.stdout).toContain(`(mso approve ${r.body.run_id} ${item} --done once you did it, or mso reject`);
    expect(shown.stdout).toMatch(new RegExp(`next      mso resume ${r.body.run_id}   \\(once HITL-\\d+ is decided\\)`));
  });

  it('lets a workflow that asks for manual nodes explicitly run without --allow-manual', async () => {
    const wf = join(sb.dir, 'manual.yaml');
    await writeFile(
      wf,
      stringify({
        name: 'manual',
        nodes: [
          { id: 'prep', label: 'prep', command: 'mkdir -p outputs && echo ok > outputs/prep.md' },
          { id: 'sign', label: 'sign off', agent: 'manual' },
        ],
        edges: [{ from: 'prep', to: 'sign' }],
      }),
    );
    const r = await sb.json<{ status: string }>(['run', '--workflow', wf], bare());
    expect(r.code).toBe(3);
    expect(r.body.status).toBe('awaiting_human');
    // The same workflow with the sign-off left to the default chain is refused, naming the node.
    await writeFile(
      wf,
      stringify({
        name: 'manual',
        nodes: [{ id: 'sign', label: 'sign off' }],
        edges: [],
      }),
    );
    const refused = await sb.run(['run', '--workflow', wf], bare());
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/no usable agent for sign \(fallback_chains\.default\)/);
  });

  it('refuses --planner llm without a usable model; --planner auto falls back and says so', async () => {
    const llm = await sb.json<{ error: { code: string; message: string } }>(
      ['run', '--goal', 'Write the notes', '--planner', 'llm', '--allow-manual'],
      bare(),
    );
    expect(llm.code).toBe(2);
    expect(llm.body.error.code).toBe('MSO_PLANNER_UNAVAILABLE');
    expect(llm.body.error.message).toMatch(/--planner auto/);
    expect(await activeRuns()).toEqual([]);
    const auto = await sb.json<{ run_id: string }>(
      ['run', '--goal', 'Write the notes', '--planner', 'auto', '--dry-run'],
      bare(),
    );
    expect(auto.code).toBe(0);
    const q = await sb.json<{ rows: Array<{ p: string }> }>([
      'audit',
      'query',
      `SELECT json_extract(payload, '$.planner') AS p FROM events WHERE run_id = '${auto.body.run_id}' AND type = 'design.topology'`,
    ]);
    const planner = JSON.parse(String(q.body.rows[0]?.p)) as Record<string, unknown>;
    expect(planner).toMatchObject({ requested: 'auto', used: 'heuristic' });
    expect(String(planner['choice_reason'])).toMatch(/no usable model in design\.planner_chain/);
  });
});
