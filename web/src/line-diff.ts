/** One line of a line diff: kept, removed or added, with its line numbers. */
export interface DiffLine {
  readonly sign: ' ' | '-' | '+';
  readonly text: string;
  readonly a: number | null;
  readonly b: number | null;
}

/** Above this many line pairs the changed middle is shown as all removed then all added (no LCS table). */
const MAX_CELLS = 4_000_000;

/**
 * Line diff of two texts (common prefix and suffix, then a longest common subsequence of the middle), cut to hunks
 * with `context` unchanged lines around each change; `null` separates hunks.
 */
export function lineDiff(before: string, after: string, context = 3): Array<DiffLine | null> {
  const a = before.split('\n');
  const b = after.split('\n');
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const lines: DiffLine[] = [];
  for (let i = 0; i < start; i++) lines.push({ sign: ' ', text: a[i] ?? '', a: i + 1, b: i + 1 });
  if (midA.length * midB.length > MAX_CELLS) {
    midA.forEach((t, i) => lines.push({ sign: '-', text: t, a: start + i + 1, b: null }));
    midB.forEach((t, j) => lines.push({ sign: '+', text: t, a: null, b: start + j + 1 }));
  } else {
    const n = midA.length;
    const m = midB.length;
    const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--)
      for (let j = m - 1; j >= 0; j--)
        (lcs[i] as Uint32Array)[j] =
          midA[i] === midB[j]
            ? ((lcs[i + 1] as Uint32Array)[j + 1] ?? 0) + 1
            : Math.max((lcs[i + 1] as Uint32Array)[j] ?? 0, (lcs[i] as Uint32Array)[j + 1] ?? 0);
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && midA[i] === midB[j]) {
        lines.push({ sign: ' ', text: midA[i] ?? '', a: start + i + 1, b: start + j + 1 });
        i++;
        j++;
      } else if (i < n && (j === m || ((lcs[i + 1] as Uint32Array)[j] ?? 0) >= ((lcs[i] as Uint32Array)[j + 1] ?? 0))) {
        lines.push({ sign: '-', text: midA[i] ?? '', a: start + i + 1, b: null });
        i++;
      } else {
        lines.push({ sign: '+', text: midB[j] ?? '', a: null, b: start + j + 1 });
        j++;
      }
    }
  }
  for (let i = endA; i < a.length; i++) lines.push({ sign: ' ', text: a[i] ?? '', a: i + 1, b: endB + (i - endA) + 1 });
  const keep = lines.map(() => false);
  lines.forEach((l, k) => {
    if (l.sign === ' ') return;
    for (let x = Math.max(0, k - context); x <= Math.min(lines.length - 1, k + context); x++) keep[x] = true;
  });
  const out: Array<DiffLine | null> = [];
  lines.forEach((l, k) => {
    if (keep[k]) out.push(l);
    else if (out.length > 0 && out[out.length - 1] !== null && keep.slice(k).some(Boolean)) out.push(null);
  });
  return out;
}
