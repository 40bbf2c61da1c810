import { describe, expect, it } from 'vitest';
import { errorFingerprint, normalizeErrorMessage } from './fingerprint.js';

describe('errorFingerprint', () => {
  const base = { stage: 'execution', persona: 'quill', provider: 'openai', model: 'm1', errorClass: 'timeout' };
  it('gives the same fingerprint when only numbers, ids, paths and hashes differ', () => {
    const a = errorFingerprint({
      ...base,
      message: 'timed out after 30000 ms in /tmp/wt/TKT-0007 (run 20261121-msowd-a, sha 3f9a1c2e77)',
    });
    const b = errorFingerprint({
      ...base,
      message: 'Timed out after 45000 ms in /var/x/y/TKT-0012 (run 20261122-msowd-bb, sha 0badc0ffee1)',
    });
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
  });
  it('separates different classes, providers and messages', () => {
    const a = errorFingerprint({ ...base, message: 'x' });
    expect(errorFingerprint({ ...base, errorClass: 'rate_limit', message: 'x' })).not.toBe(a);
    expect(errorFingerprint({ ...base, provider: 'anthropic', message: 'x' })).not.toBe(a);
    expect(errorFingerprint({ ...base, message: 'y' })).not.toBe(a);
  });
  it('normalises uuids and timestamps', () => {
    expect(normalizeErrorMessage('id 123e4567-e89b-12d3-a456-426614174000 at 2026-11-21T10:00:00Z')).toBe(
      'id <uuid> at <time>',
    );
  });
});
