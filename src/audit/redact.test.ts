import { describe, expect, it } from 'vitest';
import { createRedactor } from './redact.js';

describe('createRedactor', () => {
  it('removes secret env values and known key shapes, recursively', () => {
    const r = createRedactor({
      OPENAI_API_KEY: 'abc123-super-secret-value',
      HOME: '/root',
      GITHUB_TOKEN: 'tok-987654321',
    });
    const out = r.value({
      note: 'used abc123-super-secret-value and tok-987654321 and /root',
      headers: ['Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig'],
      nested: {
        k: 'sk-proj-ABCDEFGHIJKLMNOPQRSTUV',
        pem: '-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----',
      },
      n: 3,
    });
    const text = JSON.stringify(out);
    expect(text).not.toContain('abc123-super-secret-value');
    expect(text).not.toContain('tok-987654321');
    expect(text).not.toContain('eyJhbGciOiJIUzI1NiJ9');
    expect(text).not.toContain('ABCDEFGHIJKLMNOPQRSTUV');
    expect(text).not.toContain('MIIE');
    expect(text).toContain('/root');
    expect(out.n).toBe(3);
  });
  it('redacts serialized JSON in one pass and keeps it valid, including JSON-escaped secret values', () => {
    const r = createRedactor({ SERVICE_TOKEN: 'quote"and\\slash-secret' });
    const out = r.json({ a: 'x quote"and\\slash-secret y', b: ['Bearer abcdefghijklmnop'], c: 'password: hunter22' });
    expect(out).not.toContain('slash-secret');
    expect(out).not.toContain('abcdefghijklmnop');
    expect(out).not.toContain('hunter22');
    expect(() => JSON.parse(out)).not.toThrow();
  });
});
