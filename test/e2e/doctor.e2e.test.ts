import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeSandbox, type Sandbox } from '../helpers/cli.js';
import { startProviderStub } from '../helpers/provider-stub.js';
import { BIN } from '../helpers/real-clis.js';

let sb: Sandbox;
beforeEach(async () => {
  sb = await makeSandbox('mso-doctor-');
});
afterEach(async () => {
  await sb.cleanup();
});

interface Report {
  clis: Array<{
    kind: string;
    path: string | null;
    version: string | null;
    auth: { ready: boolean; via: string | null };
  }>;
  usable: string[];
  snippet: string;
}

describe('mso doctor', () => {
  it('finds the installed CLIs with versions and judges login from env and files, calling no model', async () => {
    const stub = await startProviderStub('anthropic');
    try {
      await mkdir(join(sb.env['HOME'] ?? '', '.codex'), { recursive: true });
      await writeFile(join(sb.env['HOME'] ?? '', '.codex', 'auth.json'), '{}');
      const r = await sb.json<Report>(['doctor'], {
        env: {
          PATH: `${BIN}:${process.env['PATH'] ?? ''}`,
          ANTHROPIC_API_KEY: 'sk-ant-doctor',
          ANTHROPIC_BASE_URL: stub.url,
        },
      });
      expect(r.code).toBe(0);
      const by = new Map(r.body.clis.map((c) => [c.kind, c]));
      expect(by.get('claude-code')).toMatchObject({
        version: expect.stringContaining('2.1.330'),
        auth: { ready: true, via: 'env ANTHROPIC_API_KEY' },
      });
      expect(by.get('codex')).toMatchObject({
        version: expect.stringContaining('0.169.0'),
        auth: { ready: true, via: expect.stringMatching(/auth\.json$/) },
      });
      expect(by.get('gemini')).toMatchObject({ version: '0.61.0', auth: { ready: false } });
      expect(r.body.usable).toEqual(['claude-code', 'codex']);
      expect(r.body.snippet).toContain('default: [claude-code, codex]');
      expect(JSON.stringify(r.body)).not.toContain('sk-ant-doctor');
      expect(stub.requests).toEqual([]);
    } finally {
      await stub.close();
    }
  });
  it('says what to install when nothing is on PATH (mso agents detect is the same command)', async () => {
    const r = await sb.run(['agents', 'detect'], { env: { PATH: '/usr/bin:/bin' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/claude-code\s+not installed \(npm install -g @anthropic-ai\/claude-code\)/);
    expect(r.stdout).toMatch(/no coding agent is usable/);
  });
});
