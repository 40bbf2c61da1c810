import { describe, expect, it } from 'vitest';
import { claudeDialect } from './adapters/claude-code.js';
import { codexDialect } from './adapters/codex.js';
import type { CliDialect } from './adapters/dialect.js';
import { geminiDialect } from './adapters/gemini.js';
import { classifyHttp, classifyMessage, retryDelayInText } from './classify.js';
import { CLI_TABLES, credentialEnvNames, decideMode, modeRefusal, NEUTRAL_MODES, type CliKind } from './cli-table.js';
import { buildChildEnv } from './process/environment.js';

const DIALECTS: Readonly<Record<CliKind, CliDialect>> = {
  'claude-code': claudeDialect,
  codex: codexDialect,
  gemini: geminiDialect,
};

/** The exact argv each CLI gets for each neutral mode (prompt on stdin, never in argv). */
function argvOf(kind: CliKind, mode: string): string[] {
  const d = decideMode(CLI_TABLES[kind], mode, undefined);
  if (!d.ok) throw new Error(d.reason);
  return DIALECTS[kind].args(
    { runId: 'r', instructions: '-rf: a prompt that looks like a flag', cwd: '/wt' },
    { args: [] },
    'SESSION',
    d.flags,
  );
}

describe('mode mapping: the exact argv per CLI and mode', () => {
  it('snapshots every CLI × neutral mode', () => {
    const all = Object.fromEntries(
      (Object.keys(CLI_TABLES) as CliKind[]).flatMap((k) =>
        NEUTRAL_MODES.map((m) => [`${k} ${m}`, argvOf(k, m).join(' ')]),
      ),
    );
    expect(all).toMatchInlineSnapshot(`
      {
        "claude-code edit": "-p --output-format stream-json --verbose --session-id SESSION --permission-mode acceptEdits --max-turns 50",
        "claude-code full": "-p --output-format stream-json --verbose --session-id SESSION --permission-mode bypassPermissions --max-turns 50",
        "claude-code read-only": "-p --output-format stream-json --verbose --session-id SESSION --permission-mode plan --max-turns 50",
        "codex edit": "exec --json --skip-git-repo-check --sandbox workspace-write -c approval_policy="never" -C /wt -",
        "codex full": "exec --json --skip-git-repo-check --sandbox danger-full-access -c approval_policy="never" -C /wt -",
        "codex read-only": "exec --json --skip-git-repo-check --sandbox read-only -c approval_policy="never" -C /wt -",
        "gemini edit": "-o stream-json --approval-mode auto_edit --session-id SESSION",
        "gemini full": "-o stream-json --approval-mode yolo --session-id SESSION",
        "gemini read-only": "-o stream-json --approval-mode plan --session-id SESSION",
      }
    `);
  });
  it('never puts the prompt in argv', () => {
    for (const k of Object.keys(CLI_TABLES) as CliKind[])
      for (const m of NEUTRAL_MODES) expect(argvOf(k, m).join(' ')).not.toContain('-rf');
  });
  it('maps the old plan names onto the neutral modes', () => {
    const mode = (m: string) => decideMode(CLI_TABLES.gemini, m, undefined);
    expect(mode('acceptEdits')).toMatchObject({ ok: true, mode: 'edit', flags: ['--approval-mode', 'auto_edit'] });
    expect(mode('bypassPermissions')).toMatchObject({ ok: true, mode: 'full', flags: ['--approval-mode', 'yolo'] });
    expect(mode('plan')).toMatchObject({ ok: true, mode: 'read-only', flags: ['--approval-mode', 'plan'] });
    expect(mode('dontAsk')).toMatchObject({ ok: true, mode: 'read-only' });
  });
  it('refuses what a CLI cannot honour instead of widening it', () => {
    expect(decideMode(CLI_TABLES['claude-code'], 'experimental', undefined)).toMatchObject({ ok: false });
    expect(decideMode(CLI_TABLES.codex, 'auto', undefined)).toMatchObject({ ok: false });
  });
  it("treats the agent's own mode as a ceiling a request cannot raise", () => {
    expect(decideMode(CLI_TABLES.codex, 'full', 'edit')).toMatchObject({
      ok: false,
      reason: /wider than the agent's own edit/,
    });
    expect(decideMode(CLI_TABLES.codex, 'read-only', 'edit')).toMatchObject({ ok: true, mode: 'read-only' });
    // No request: the agent's own mode, else edit.
    expect(decideMode(CLI_TABLES.codex, undefined, 'read-only')).toMatchObject({ ok: true, mode: 'read-only' });
    expect(decideMode(CLI_TABLES.codex, undefined, undefined)).toMatchObject({ ok: true, mode: 'edit' });
  });
  it('holds a shell command to no read-only promise, and LLM agents and people to any mode', () => {
    expect(modeRefusal('shell', undefined, 'read-only')).toMatch(/shell command cannot be held to read-only/);
    expect(modeRefusal('shell', undefined, 'acceptEdits')).toBeNull();
    expect(modeRefusal('openai', undefined, 'read-only')).toBeNull();
    expect(modeRefusal('manual', undefined, 'experimental')).toMatch(/not a mode/);
  });
});

describe('environment from the tables', () => {
  it('passes the variables each CLI reads, and nothing else of the parent', () => {
    const parent = {
      PATH: '/bin',
      ANTHROPIC_API_KEY: 'a',
      CLAUDE_CODE_USE_BEDROCK: '1',
      AWS_REGION: 'eu-west-1',
      CODEX_API_KEY: 'c',
      GEMINI_API_KEY: 'g',
      HTTPS_PROXY: 'http://proxy:3128',
      UNRELATED_SECRET: 'x',
    };
    const env = (k: CliKind) => Object.keys(buildChildEnv(parent, CLI_TABLES[k].env)).sort();
    expect(env('claude-code')).toEqual([
      'ANTHROPIC_API_KEY',
      'AWS_REGION',
      'CLAUDE_CODE_USE_BEDROCK',
      'HTTPS_PROXY',
      'NO_COLOR',
      'PATH',
    ]);
    expect(env('codex')).toEqual(['CODEX_API_KEY', 'HTTPS_PROXY', 'NO_COLOR', 'PATH']);
    expect(env('gemini')).toEqual(['GEMINI_API_KEY', 'HTTPS_PROXY', 'NO_COLOR', 'PATH']);
  });
  it('lists the names that carry credentials, for the redactor', () => {
    const names = credentialEnvNames(['MY_GATEWAY_KEY']);
    for (const n of [
      'ANTHROPIC_API_KEY',
      'ANTHROPIC_AUTH_TOKEN',
      'CODEX_API_KEY',
      'GEMINI_API_KEY',
      'GOOGLE_API_KEY',
      'AWS_SECRET_ACCESS_KEY',
      'MY_GATEWAY_KEY',
    ])
      expect(names).toContain(n);
    expect(names).not.toContain('ANTHROPIC_BASE_URL');
  });
});

describe('classifier cases from the real messages', () => {
  it.each([
    ['{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}', 'auth'],
    ['{"error":{"code":401,"message":"API key not valid.","status":"UNAUTHENTICATED"}}', 'auth'],
    ['{"error":{"message":"Incorrect API key provided","code":"invalid_api_key"}}', 'auth'],
    ['{"error":{"code":403,"message":"denied","status":"PERMISSION_DENIED"}}', 'permission'],
    ['{"type":"error","error":{"type":"permission_error","message":"no"}}', 'permission'],
    ['{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}', 'rate_limit'],
    ['{"error":{"code":429,"status":"RESOURCE_EXHAUSTED"}}', 'rate_limit'],
    ['You exceeded your current quota, please check your plan and billing details', 'quota'],
    ['{"type":"error","error":{"type":"overloaded_error"}}', 'server_error'],
    ['TypeError: fetch failed', 'network'],
    ['Reached maximum number of turns (3)', 'max_turns'],
  ])('%s → %s', (message, cls) => {
    expect(classifyMessage(message)).toBe(cls);
  });
  it.each([
    ['codex', 'unexpected status 401 Unauthorized: Incorrect API key provided', 'auth'],
    ['codex', 'unexpected status 403 Forbidden: You are not allowed', 'permission'],
    ['codex', 'exceeded retry limit, last status: 429 Too Many Requests', 'rate_limit'],
    ['codex', 'We’re currently experiencing high demand, which may cause temporary errors.', 'server_error'],
    ['codex', 'stream disconnected before completion: error sending request', 'network'],
    ['gemini', 'Attempt 1 failed: Resource has been exhausted (e.g. check quota).', 'rate_limit'],
    ['gemini', '  status: 401', 'auth'],
    ['gemini', 'Invalid auth method selected.', 'auth'],
    ['claude-code', 'authentication_failed', 'auth'],
    ['claude-code', 'billing_error', 'quota'],
  ] as const)('%s: %s → %s', (kind, message, cls) => {
    expect(classifyMessage(message, CLI_TABLES[kind].failures)).toBe(cls);
  });
  it('maps HTTP statuses, 403 to permission (not auth)', () => {
    expect(classifyHttp(401)).toBe('auth');
    expect(classifyHttp(403)).toBe('permission');
    expect(classifyHttp(429)).toBe('rate_limit');
    expect(classifyHttp(503)).toBe('server_error');
  });
  it('reads the retry delays the CLIs print', () => {
    expect(retryDelayInText('"retryDelay": "7s"')).toBe(7000);
    expect(retryDelayInText('Suggested retry after 7s.. Retrying after 7057ms...')).toBe(7000);
    expect(retryDelayInText('Rate limit reached. Please try again in 1.5s.')).toBe(1500);
    expect(retryDelayInText('nothing here')).toBeNull();
  });
});
