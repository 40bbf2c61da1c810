import { describe, expect, it } from 'vitest';
import { ENV_SECRET, POLICY_SECRET, SECRET_SAMPLES } from '../../test/fixtures/secrets.js';
import { createRedactor, isCredentialEnvName } from './redact.js';

const r = createRedactor({ env: { [ENV_SECRET.name]: ENV_SECRET.value }, values: [POLICY_SECRET] });

describe('createRedactor', () => {
  it.each(SECRET_SAMPLES)('removes a $kind and keeps the text around it', ({ text, secret }) => {
    const out = r.text(`before «${text}» after`);
    expect(out).not.toContain(secret);
    expect(out).toContain('[REDACTED:');
    expect(out.startsWith('before «')).toBe(true);
    expect(out.endsWith('» after')).toBe(true);
  });

  it.each(SECRET_SAMPLES)('removes a $kind inside JSON and keeps it valid', ({ text, secret }) => {
    const out = r.json({ note: `x ${text} y`, list: [text], [text]: 1 });
    expect(out).not.toContain(secret);
    expect(() => JSON.parse(out) as unknown).not.toThrow();
  });

  it('is idempotent: redacting twice changes nothing', () => {
    const all = SECRET_SAMPLES.map((s) => s.text).join('\n');
    const once = r.text(all);
    expect(r.text(once)).toBe(once);
  });

  it.each([
    ['password=Hunter2Marigold&user=bob', 'password=[REDACTED:password]&user=bob'],
    [
      'see postgres://app:Vx7Plum!H@db:5432/x?ssl=1 now',
      'see postgres://app:[REDACTED:url-password]@db:5432/x?ssl=1 now',
    ],
    ['token=opaque9Lantern.', 'token=[REDACTED:password].'],
    ['Authorization: Bearer abc123def456ghi, next', 'Authorization: Bearer [REDACTED:bearer], next'],
    ['{"api_key":"MeadowFinch5521","n":1}', '{"api_key":"[REDACTED:password]","n":1}'],
    ['export GITHUB_TOKEN=ghp_Kd8Fh2Jl6Np0Rt4Vx8Zb2Df6Hj0Ln4Pr8Tv2; ls', 'export GITHUB_TOKEN=[REDACTED:github]; ls'],
    ['run --password s3cretValue9 --verbose', 'run --password [REDACTED:password] --verbose'],
  ])('replaces only the secret of %s', (input, expected) => {
    expect(r.text(input)).toBe(expected);
  });

  it.each([
    'commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904 is the base',
    'sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    'id 3f2504e0-4f89-41d3-9a0c-0305e82c3301',
    'Bearer authentication and Basic configuration are described below',
    '{"max_tokens": 4096, "input_tokens": 12, "token": 5}',
    'author: Alice, GIT_AUTHOR_NAME=mso-dev',
    'https://example.com:8080/path?q=1 and git@github.com:org/repo.git',
    'pass: 3 tests, secret: null, password=$DB_PASSWORD, token=${TOKEN}',
    'src/components/Header/NavigationBar2.tsx',
    'a sk-learn classifier and the task-runner',
  ])('leaves ordinary text alone: %s', (input) => {
    expect(r.text(input)).toBe(input);
  });

  it('redacts credential-named environment values and listed names and values, added later too', () => {
    const red = createRedactor({
      env: { DB_PASSWORD: 'correct-horse-battery', HOME: '/root', SSH_AUTH_SOCK: '/tmp/agent.1', SHORT_KEY: '1' },
    });
    expect(red.text('pw correct-horse-battery at /root /tmp/agent.1 1')).toBe(
      'pw [REDACTED:DB_PASSWORD] at /root /tmp/agent.1 1',
    );
    red.add({ env: { CUSTOM_VAR: 'plain-looking-value' }, envNames: ['CUSTOM_VAR'], values: ['Nightjar-44'] });
    expect(red.text('plain-looking-value Nightjar-44')).toBe('[REDACTED:CUSTOM_VAR] [REDACTED:listed]');
  });

  it('matches JSON-escaped forms of listed values', () => {
    const red = createRedactor({ env: { SERVICE_TOKEN: 'quote"and\\slash-secret' } });
    const out = red.json({ a: 'x quote"and\\slash-secret y' });
    expect(out).not.toContain('slash-secret');
    expect(JSON.parse(out)).toEqual({ a: 'x [REDACTED:SERVICE_TOKEN] y' });
  });

  it('redacts UTF-8 bytes and returns binary bytes unchanged', () => {
    const text = Buffer.from('key: token=opaque9LanternQ\n');
    expect(Buffer.from(r.bytes(text)).toString()).toBe('key: token=[REDACTED:password]\n');
    const binary = Uint8Array.from([0xff, 0xfe, 0x00, 0x41, 0x4b, 0x49, 0x41]);
    expect(r.bytes(binary)).toBe(binary);
  });

  it('names credential variables by separated words', () => {
    expect(
      ['OPENAI_API_KEY', 'GH_TOKEN', 'DB_PASSWORD', 'AWS_SECRET_ACCESS_KEY', 'X_AUTH_HEADER'].every(
        isCredentialEnvName,
      ),
    ).toBe(true);
    expect(['GIT_AUTHOR_NAME', 'KEYBOARD', 'PATH', 'TOKENIZER_MODE', 'HOME'].some(isCredentialEnvName)).toBe(false);
  });
});

describe('createRedactor on serialized text', () => {
  it('treats a JSON escape as a token boundary: every line of an escaped multi-line output is redacted', () => {
    const lines = SECRET_SAMPLES.map((s) => s.text).join('\n');
    const raw = JSON.stringify({ output: lines });
    const out = r.text(raw);
    for (const s of SECRET_SAMPLES) expect(out).not.toContain(s.secret);
    expect(() => JSON.parse(out) as unknown).not.toThrow();
  });
});
