import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createBoundedTranscript, createLineSplitter } from './bounded-output.js';

function split(chunks: readonly Buffer[], max = 1_000): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  const s = createLineSplitter(max, (line, cut) => out.push([line.toString('utf8'), cut]));
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
  const fill = (t: ReturnType<typeof createBoundedTranscript>, lines: readonly string[]) => {
    for (const l of lines) t.add(l.slice(0, 2), Buffer.from(l.slice(2)));
  };

  it('keeps the head and a tail ring, marks what it dropped, and hashes every line', () => {
    const t = createBoundedTranscript({ headBytes: 20, tailBytes: 20 });
    const all = Array.from({ length: 100 }, (_, i) => `1|line${i}`);
    fill(t, all);
    const text = t.text();
    expect(text.startsWith('1|line0\n1|line1\n0|[mso: ')).toBe(true);
    expect(text.endsWith('\n1|line98\n1|line99')).toBe(true);
    const kept = text.split('\n').filter((l) => l.startsWith('1|')).length;
    expect(text).toContain(`0|[mso: ${100 - kept} lines of output not kept]`);
    expect(t.sha256()).toBe(createHash('sha256').update(all.join('\n')).digest('hex'));
  });

  it('is the plain joined transcript when everything fits, with a cut note kept on its line', () => {
    const t = createBoundedTranscript({ headBytes: 1_000, tailBytes: 1_000 });
    fill(t, ['1|a', '2|b']);
    t.add('1|', Buffer.from('c'), ' [cut]');
    expect(t.text()).toBe('1|a\n2|b\n1|c [cut]');
    expect(t.sha256()).toBe(createHash('sha256').update('1|a\n2|b\n1|c [cut]').digest('hex'));
  });

  it('with no head room keeps only whole tail lines', () => {
    const t = createBoundedTranscript({ headBytes: 0, tailBytes: 16 });
    fill(t, ['1|aaaa', '1|bbbb', '1|cccc', '1|dddd']);
    expect(t.text()).toBe('0|[mso: 2 lines of output not kept]\n1|cccc\n1|dddd');
  });
});
