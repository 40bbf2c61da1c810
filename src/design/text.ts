import { HANGUL } from './korean.js';
import { extractUnits } from './task-extraction.js';

const patterns = new Map<string, RegExp>();

/** The whole-word pattern of a non-Korean keyword, compiled once. */
function patternOf(k: string): RegExp {
  let re = patterns.get(k);
  if (!re) {
    const escaped = k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+');
    re = new RegExp(`(?<![\\p{L}\\p{N}_])${escaped}(?![\\p{L}\\p{N}_])`, 'u');
    if (patterns.size < 10_000) patterns.set(k, re);
  }
  return re;
}

/** A text prepared once for many keyword tests. */
function prepared(text: string): { lower: string; words: () => string[] } {
  const lower = text.toLowerCase();
  let words: string[] | undefined;
  return { lower, words: () => (words ??= lower.split(/[\s,.;:!?()[\]{}"'`/]+/)) };
}

function matches(p: ReturnType<typeof prepared>, keyword: string): boolean {
  const k = keyword.toLowerCase().trim();
  if (k === '') return false;
  if (HANGUL.test(k)) return k.includes(' ') ? p.lower.includes(k) : p.words().some((w) => w.startsWith(k));
  return p.lower.includes(k.split(/\s/)[0] as string) && patternOf(k).test(p.lower);
}

/**
 * Whether `keyword` occurs in `text` as a whole word (English: word boundaries, so "ui" is not in "build" and
 * "again" is not in "against") or, for Korean, as the start of a word (particles attach at the end: 분석을 ⊃ 분석).
 */
export function hasKeyword(text: string, keyword: string): boolean {
  return matches(prepared(text), keyword);
}

/** How many of the keywords occur (each counted once), and which. */
export function keywordScore(text: string, keywords: readonly string[]): { score: number; matched: string[] } {
  const p = prepared(text);
  const matched = keywords.filter((k) => matches(p, k));
  return { score: matched.length, matched };
}

/** The tasks the offline planner reads from a goal, in order (list items, clauses, one per enumerated target). */
export function splitGoal(goal: string): { items: string[]; context: string[] } {
  return { items: extractUnits(goal).units.flatMap((u) => u.tasks), context: [] };
}

/** First letter upper-cased (a no-op for Korean and for names such as iOS). */
export function capitalize(s: string): string {
  if (/^[a-z][A-Z]/.test(s)) return s;
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
