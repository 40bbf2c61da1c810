import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ENV_SECRET, POLICY_SECRET, SECRET_SAMPLES } from '../../test/fixtures/secrets.js';
import { createRedactor } from './redact.js';
import { createStreamRedactor, type StreamRedactionLimits } from './redact-stream.js';

const r = createRedactor({ env: { [ENV_SECRET.name]: ENV_SECRET.value }, values: [POLICY_SECRET] });
/** Small windows, so a few KB of text crosses many cuts; the margin still exceeds every sample secret. */
const SMALL: StreamRedactionLimits = { windowBytes: 300, marginBytes: 200, maxPendingBytes: 4000 };

function streamed(chunks: readonly Uint8Array[], limits = SMALL): { out: Buffer; forced: number } {
  const parts: Buffer[] = [];
  const s = createStreamRedactor(r, (b) => parts.push(b), limits);
  for (const c of chunks) s.push(c);
  s.end();
  return { out: Buffer.concat(parts), forced: s.forcedCuts };
}

/** Cuts `b` into pieces at the given offsets. */
function pieces(b: Buffer, cuts: readonly number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (b.length + 1)))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of [...at, b.length]) {
    out.push(b.subarray(from, c));
    from = c;
  }
  return out;
}

describe('createStreamRedactor', () => {
  const secrets = SECRET_SAMPLES.filter((s) => s.secret.length < 150);

  it('removes every sample secret wherever the stream is cut, and keeps all other bytes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...secrets), { minLength: 1, maxLength: 6 }),
        fc.array(fc.string({ maxLength: 400 }), { minLength: 7, maxLength: 7 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (picked, filler, cuts) => {
          const text = filler.map((f, i) => f + (picked[i] ? ` ${picked[i].text} ` : '')).join('\n');
          const { out } = streamed(pieces(Buffer.from(text, 'utf8'), cuts));
          const s = out.toString('utf8');
          for (const p of picked) expect(s).not.toContain(p.secret);
          // Cut by cut, the stream says what the whole text redacted at once says.
          expect(s).toBe(r.text(text));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('finds a secret that straddles a window cut in one long line without newlines', () => {
    const secret = ENV_SECRET.value;
    for (let at = 250; at < 700; at += 7) {
      const text = `${'y'.repeat(at)} ${secret} ${'z'.repeat(1500)}`;
      const { out, forced } = streamed(pieces(Buffer.from(text), [97, 311, 500, 777]));
      expect(out.toString()).not.toContain(secret);
      expect(out.toString()).toBe(r.text(text));
      expect(forced).toBe(0);
    }
  });

  it('passes bytes that are not UTF-8 through unchanged, secrets in them still removed', () => {
    const bin = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 37 + 11) % 256));
    const secret = POLICY_SECRET;
    const withSecret = Buffer.concat([bin.subarray(0, 1200), Buffer.from(` ${secret} `), bin.subarray(1200)]);
    const { out } = streamed(pieces(withSecret, [5, 400, 1201, 1900]));
    expect(out.includes(Buffer.from(secret))).toBe(false);
    expect(out.subarray(0, 1200).equals(bin.subarray(0, 1200))).toBe(true);
    expect(out.subarray(out.length - 1800).equals(bin.subarray(1200))).toBe(true);
    const plain = streamed(pieces(bin, [1, 999, 2048]));
    expect(plain.out.equals(bin)).toBe(true);
  });

  it('keeps multi-byte characters whole across cuts', () => {
    const text = '한국어 텍스트 ✓ '.repeat(400);
    const { out } = streamed(pieces(Buffer.from(text), [1, 2, 3, 500, 501, 2999]));
    expect(out.toString('utf8')).toBe(text);
  });

  it('holds a secret-shaped run back until it is whole, and cuts it only past the hard limit', () => {
    const run = `sk-${'A1b2'.repeat(600)}`;
    const { out, forced } = streamed([Buffer.from(`start ${run} end`)]);
    expect(out.toString()).toBe('start [REDACTED:openai] end');
    expect(forced).toBe(0);
    const huge = streamed([Buffer.from(`start sk-${'A1b2'.repeat(3000)} end`)]);
    expect(huge.forced).toBeGreaterThan(0);
    expect(huge.out.toString().startsWith('start [REDACTED:openai]')).toBe(true);
  });
});
