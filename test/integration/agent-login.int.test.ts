import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adapter, testAdapterDeps } from '../helpers/agents.js';

let dir: string;
let env: Record<string, string>;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mso-agent-login-'));
  await mkdir(join(dir, 'bin'));
  await writeFile(join(dir, 'bin', 'codex'), '#!/bin/sh\necho codex 0.0.1\n');
  await chmod(join(dir, 'bin', 'codex'), 0o755);
  env = { PATH: join(dir, 'bin'), HOME: dir };
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("an agent CLI's login, as its availability reports it", () => {
  it('is missing when neither the environment nor a login file shows one', async () => {
    const av = await adapter(testAdapterDeps({}, env), 'codex', { kind: 'codex' }).availability();
    expect(av.available).toBe(true);
    expect(av.login).toEqual({ ready: false, hint: expect.stringContaining('codex login') });
  });
  it("counts the agent's own policy environment: its CODEX_HOME, its api_key_env", async () => {
    await mkdir(join(dir, 'codex-home'));
    await writeFile(join(dir, 'codex-home', 'auth.json'), '{}');
    const home = { kind: 'codex' as const, env: { CODEX_HOME: join(dir, 'codex-home') } };
    expect((await adapter(testAdapterDeps({}, env), 'codex', home).availability()).login?.ready).toBe(true);
    const keyed = { kind: 'codex' as const, api_key_env: 'TEAM_CODEX_KEY' };
    const withKey = testAdapterDeps({}, { ...env, TEAM_CODEX_KEY: 'k-123' });
    expect((await adapter(withKey, 'codex', keyed).availability()).login?.ready).toBe(true);
  });
  it('is not judged for a program the policy names', async () => {
    const own = { kind: 'codex' as const, command: join(dir, 'bin', 'codex') };
    expect((await adapter(testAdapterDeps({}, env), 'codex', own).availability()).login).toBeUndefined();
  });
});
