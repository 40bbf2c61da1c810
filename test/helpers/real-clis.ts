import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliKind } from '../../src/agents/index.js';
import { REPO_ROOT } from './cli.js';
import type { ProviderStub, StubProtocol } from './provider-stub.js';

/** The real CLIs, installed as devDependencies at the versions package.json pins. */
export const BIN = join(REPO_ROOT, 'node_modules', '.bin');
export const REAL_CLI: Readonly<Record<CliKind, { bin: string; protocol: StubProtocol; version: string }>> = {
  'claude-code': { bin: join(BIN, 'claude'), protocol: 'anthropic', version: '2.1.330' },
  codex: { bin: join(BIN, 'codex'), protocol: 'openai', version: '0.169.0' },
  gemini: { bin: join(BIN, 'gemini'), protocol: 'google', version: '0.61.0' },
};

/** Credential values the tests plant; none may reach the audit DB, blobs or stdout. */
export const SECRETS: Readonly<Record<CliKind, { name: string; value: string }>> = {
  'claude-code': { name: 'ANTHROPIC_API_KEY', value: 'sk-ant-interop-SECRET-7f3a9c' },
  codex: { name: 'CODEX_API_KEY', value: 'sk-codex-interop-SECRET-2b8d41' },
  gemini: { name: 'GEMINI_API_KEY', value: 'AIza-interop-SECRET-9e6c05' },
};

/** The model Codex's temp config selects (Codex's events never name one). */
export const CODEX_STUB_MODEL = 'gpt-stub-codex';

/**
 * A private home for one CLI pointed at `stub`: its own config dirs (nothing of the user's), the provider's base URL
 * and a planted key. Returns the parent environment the adapter reads through its table.
 */
export async function cliEnv(kind: CliKind, stub: ProviderStub): Promise<Record<string, string>> {
  const home = await mkdtemp(join(tmpdir(), `mso-interop-${kind}-`));
  const secret = SECRETS[kind];
  const env: Record<string, string> = {
    PATH: `${BIN}:${process.env['PATH'] ?? ''}`,
    HOME: home,
    [secret.name]: secret.value,
  };
  if (kind === 'claude-code') {
    env['ANTHROPIC_BASE_URL'] = stub.url;
    env['CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC'] = '1';
    env['DISABLE_TELEMETRY'] = '1';
  } else if (kind === 'codex') {
    const codexHome = join(home, '.codex');
    await mkdir(codexHome, { recursive: true });
    await writeFile(
      join(codexHome, 'config.toml'),
      [
        `model = "${CODEX_STUB_MODEL}"`,
        'model_provider = "stub"',
        '[model_providers.stub]',
        'name = "stub"',
        `base_url = "${stub.url}/v1"`,
        'env_key = "CODEX_API_KEY"',
        'wire_api = "responses"',
        '',
      ].join('\n'),
    );
    env['CODEX_HOME'] = codexHome;
  } else {
    // With only a base URL set, gemini picks its "gateway" auth and refuses it headless: select the key auth.
    await mkdir(join(home, '.gemini'), { recursive: true });
    await writeFile(
      join(home, '.gemini', 'settings.json'),
      JSON.stringify({ security: { auth: { selectedType: 'gemini-api-key' } } }),
    );
    env['GOOGLE_GEMINI_BASE_URL'] = stub.url;
  }
  return env;
}
