import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createBoundedTranscript, createLineSplitter } from './bounded-output.js';

function split(chunks: readonly Buffer[], max = 1_000): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  const s = createLineSplitter(max, (line, cut) => out.push([line, cut]));
  for (const c of chunks) s.push(c);
  s.end();
  return out;
}

describe('createLineSplitter', () => {
  it('splits lines across chunks, drops CR of CRLF and keeps UTF-8 split between chunks whole', () => {
    const bytes = Buffer.from('a\r\nb가c\nlast', 'utf8');
    const chunks = [...bytes].map((b) => Buffer.from([b]));
    expect(split(chunks)).toEqual([
      ['a', 0],
      ['b가c', 0],
      ['last', 0],
    ]);
  });

  it('cuts a line longer than the limit and counts what it did not keep', () => {
    const long = 'x'.repeat(2_500);
    expect(split([Buffer.from(long.slice(0, 700)), Buffer.from(`${long.slice(700)}\nok\n`)])).toEqual([
      ['x'.repeat(1_000), 1_500],
      ['ok', 0],
    ]);
  });
});

describe('createBoundedTranscript', () => {
  it('keeps the head and a tail ring, marks what it dropped, and hashes every line', () => {
    const t = createBoundedTranscript({ headChars: 20, tailChars: 20 });
    const all = Array.from({ length: 100 }, (_, i) => `1|line${i}`);
    for (const l of all) t.add(l);
    const text = t.text();
    expect(text.length).toBeLessThan(120);
    expect(text.startsWith('1|line0\n1|line1\n')).toBe(true);
    expect(text.endsWith('1|line98\n1|line99')).toBe(true);
    expect(text).toMatch(/0\|\[mso: \d+ lines \(\d+ characters\) of output not kept\]/);
    expect(t.dropped).toBeGreaterThan(90);
    expect(t.sha256()).toBe(createHash('sha256').update(all.join('\n')).digest('hex'));
  });

  it('is the plain joined transcript when everything fits', () => {
    const t = createBoundedTranscript({ headChars: 1_000, tailChars: 1_000 });
    for (const l of ['1|a', '2|b', '1|c']) t.add(l);
    expect(t.text()).toBe('1|a\n2|b\n1|c');
    expect(t.sha256()).toBe(createHash('sha256').update('1|a\n2|b\n1|c').digest('hex'));
  });
});
