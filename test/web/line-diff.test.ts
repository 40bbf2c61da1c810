import { describe, expect, it } from 'vitest';
import { lineDiff } from '../../web/src/line-diff.js';

const signs = (d: ReturnType<typeof lineDiff>): string =>
  d.map((l) => (l === null ? '~' : `${l.sign}${l.text}`)).join('|');

describe('lineDiff (the proposal view)', () => {
  it('gives nothing for equal texts', () => {
    expect(lineDiff('a\nb\n', 'a\nb\n')).toEqual([]);
  });
  it('shows a replaced line as removed then added, with line numbers on both sides', () => {
    const d = lineDiff('a\nb\nc', 'a\nB\nc');
    expect(signs(d)).toBe(' a|-b|+B| c');
    expect(d[1]).toMatchObject({ a: 2, b: null });
    expect(d[2]).toMatchObject({ a: null, b: 2 });
  });
  it('cuts unchanged stretches longer than the context into separate hunks', () => {
    const before = Array.from({ length: 20 }, (_, i) => `l${i}`);
    const after = [...before];
    after[1] = 'X';
    after[18] = 'Y';
    expect(signs(lineDiff(before.join('\n'), after.join('\n'), 1))).toBe(' l0|-l1|+X| l2|~| l17|-l18|+Y| l19');
  });
});
