/** True when the text contains Hangul. */
const HANGUL = /[\uac00-\ud7a3]/;

/**
 * Whether `keyword` occurs in `text` as a whole word (English: word boundaries, so "ui" is not in "build" and
 * "again" is not in "against") or, for Korean, as the start of a word (particles attach at the end: 분석을 ⊃ 분석).
 */
export function hasKeyword(text: string, keyword: string): boolean {
  const t = text.toLowerCase();
  const k = keyword.toLowerCase().trim();
  if (k === '') return false;
  if (HANGUL.test(k)) {
    const words = t.split(/[\s,.;:!?()[\]{}"'`/]+/);
    if (!k.includes(' ')) return words.some((w) => w.startsWith(k));
    return t.includes(k);
  }
  const escaped = k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+');
  return new RegExp(`(?<![\\p{L}\\p{N}_])${escaped}(?![\\p{L}\\p{N}_])`, 'u').test(t);
}

/** How many of the keywords occur (each counted once), and which. */
export function keywordScore(text: string, keywords: readonly string[]): { score: number; matched: string[] } {
  const matched = keywords.filter((k) => hasKeyword(text, k));
  return { score: matched.length, matched };
}

const BULLET = /^\s*(?:[-*•·▪]|\d{1,2}[.)]|[a-z][.)]|\(\d{1,2}\))\s+(.+)$/i;

/** Connectors that separate steps inside a sentence (English and Korean). */
const CONNECTORS = [
  /,?\s+and then\s+/i,
  /,?\s+then\s+/i,
  /;\s+/,
  /,?\s+after that,?\s+/i,
  /,?\s+afterwards,?\s+/i,
  /,?\s+finally,?\s+/i,
  /\s*그리고\s+/,
  /\s*그 다음(?:에)?\s*/,
  /\s*다음으로\s*/,
  /\s*및\s+/,
  /\s*또는\s+/,
  /\s*마지막으로\s*/,
  /(?<=[가-힣])(?:하고|한 뒤|한 후|한 다음)\s+/,
];

/** Items of a goal: list items if the goal is a list, else sentences split further at step connectors. */
export function splitGoal(goal: string): { items: string[]; context: string[] } {
  const lines = goal
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const listItems = lines.map((l) => BULLET.exec(l)?.[1]?.trim()).filter((x): x is string => Boolean(x));
  if (listItems.length >= 2) {
    return { items: listItems.map(tidy).filter(meaningful), context: lines.filter((l) => !BULLET.test(l)).map(tidy) };
  }
  let parts = goal
    .split(/(?<=[.?!。？！])\s+|\r?\n+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const c of CONNECTORS) parts = parts.flatMap((p) => p.split(c));
  return { items: parts.map(tidy).filter(meaningful), context: [] };
}

function tidy(s: string): string {
  return s
    .replace(/^[\s,;:.-]+|[\s,;:.]+$/g, '')
    .replace(/^(?:finally|then|next|first|second|third|lastly|also|and|먼저|다음|마지막으로)\b[,:]?\s*/iu, '')
    .replace(/\s+/g, ' ');
}

function meaningful(s: string): boolean {
  return s.replace(/[^\p{L}\p{N}]/gu, '').length >= 3;
}

/** First letter upper-cased (a no-op for Korean). */
export function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** A label of at most 60 characters, cut at a word boundary when possible. */
export function toLabel(s: string): string {
  const t = capitalize(s.trim());
  if (t.length <= 60) return t;
  const cut = t.slice(0, 60);
  const space = cut.lastIndexOf(' ');
  return `${space > 30 ? cut.slice(0, space) : cut}…`;
}
