/**
 * English clause grammar for the offline planner: where a sentence splits into steps, which word is a step's verb,
 * and how an enumeration ("the cart, checkout and refund pages") spreads one verb over each item.
 */
import { splitMarked, type SplitKind } from './korean.js';
import {
  COLLECTIVE_VERBS,
  COMPARE_VERBS,
  DECIDE_VERBS,
  DESCRIBING,
  EN_FIRST,
  EN_SEQ_START,
  OBJECT_START,
  PARTICLES,
  PREPOSITIONS,
  STRONG_VERBS,
  WEAK_VERBS,
} from './goal-lexicon.js';

/** Whether `word` (followed by `next`) reads as a verb that starts a clause. */
export function isVerbAt(word: string, next: string | undefined, afterAnd = false): boolean {
  const w = word.toLowerCase();
  if (STRONG_VERBS.has(w) || COLLECTIVE_VERBS.has(w) || DECIDE_VERBS.has(w)) return true;
  const n = next?.toLowerCase().replace(/[,.;:]$/, '');
  // A word we do not know, followed by a determiner, is a verb too: "and cache the top queries".
  if (!WEAK_VERBS.has(w) && !COMPARE_VERBS.has(w))
    return (
      n !== undefined &&
      DETERMINERS.has(n) &&
      (afterAnd || n === 'it' || n === 'them' || n === 'the') &&
      /^[a-z]+$/i.test(word) &&
      !/(?:ing|ed|ly|s)$/.test(w) &&
      !NOT_VERBS.has(w)
    );
  return n === undefined || n === '' || OBJECT_START.has(n) || /^[A-Z0-9]/.test(next ?? '');
}

/** The base form of a gerund or third-person verb ("migrating" → migrate, "runs" → run), if it is a known verb. */
export function lemma(word: string): string | null {
  const w = word.toLowerCase();
  const known = (x: string): boolean =>
    [STRONG_VERBS, WEAK_VERBS, COLLECTIVE_VERBS, DECIDE_VERBS, COMPARE_VERBS].some((set) => set.has(x));
  if (known(w)) return w;
  const cands: string[] = [];
  if (w.endsWith('ing')) {
    const b = w.slice(0, -3);
    cands.push(b, `${b}e`, b.slice(0, -1));
  }
  if (w.endsWith('es')) cands.push(w.slice(0, -2));
  if (w.endsWith('s')) cands.push(w.slice(0, -1));
  if (w.endsWith('ed')) cands.push(w.slice(0, -2), w.slice(0, -1));
  return cands.find(known) ?? null;
}

/**
 * The verb a clause starts with ("set up", "load-test", "add"), or '' when it starts with something else. At the
 * start of a clause (the imperative position) a word that is also a noun reads as a verb: "design rate limiting".
 */
export function verbOf(clause: string): string {
  const [a, b] = clause.split(/\s+/);
  // An unknown word before "the", "a", "them" ... in the imperative position is a verb too: "group them", "file a ticket".
  if (!a || !(isVerbAt(a, b, true) || WEAK_VERBS.has(a.toLowerCase()))) return '';
  const v = a.toLowerCase();
  return b && PARTICLES.has(b.toLowerCase()) ? `${v} ${b.toLowerCase()}` : v;
}

const DETERMINERS = new Set([
  'the',
  'a',
  'an',
  'this',
  'these',
  'those',
  'its',
  'their',
  'our',
  'all',
  'each',
  'every',
  'it',
  'them',
]);

/** Words that can stand before 'the' without being verbs. */
const NOT_VERBS = new Set(
  (
    'except plus then both either not only even also just like unlike such per via than all and or but so because ' +
    'where when since as if unless until though although whereas after before once whether what how'
  ).split(' '),
);

const SEQ_JOINS =
  /,?\s+(?:and\s+)?then\s+|,\s*(?:and\s+)?(?:after that|afterwards|finally|lastly|next|subsequently),?\s+|,?\s+followed by\s+|,?\s+and (?:after that|afterwards|finally|lastly)\s*,?\s+/gi;
const PAR_JOINS =
  /,?\s+(?:and\s+)?(?:at the same time|meanwhile|simultaneously|in parallel),?\s+(?=[a-z])|,?\s+(?:while|whilst)\s+(?=[a-z])/gi;
const VERB_JOIN =
  /(,\s*(?:and\s+(?:also\s+|either\s+)?|as well as\s+|plus\s+)?|\s+(?:and|&)\s+(?:also\s+|either\s+)?|\s+as well as\s+)([A-Za-z][\w-]*)(?=([,;]|\s+[^\s,;]+)?)/g;

/** Cuts an English sentence into clauses; each carries how it relates to the clause before it. */
/** "Build, test and deploy the service" → "build the service, then test the service, then deploy the service". */
function verbSeries(sentence: string): string {
  const m = /^([A-Za-z-]+)((?:,\s*[A-Za-z-]+)*),?\s+(?:and|then|and then)\s+([A-Za-z-]+)\s+(.+)$/.exec(sentence);
  if (!m) return sentence;
  const verbs = [
    m[1] as string,
    ...(m[2] as string)
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
    m[3] as string,
  ];
  const known = (v: string): boolean =>
    [STRONG_VERBS, WEAK_VERBS, COLLECTIVE_VERBS, DECIDE_VERBS, COMPARE_VERBS].some((set) => set.has(v.toLowerCase()));
  if (!verbs.every(known)) return sentence;
  const [object, ...more] = (m[4] as string).split(/,\s*(?:then\s+)?(?=[a-z])|;\s*/);
  const series = verbs.map((v) => `${v} ${object as string}`).join(', then ');
  return [series, ...more].join(', ');
}

/**
 * "For each of the SDKs (Python, Ruby, Java), add a retry helper": the main clause once per item, or null.
 * The items come from the enumeration after "for each/every/all (of)".
 */
export function forEachClause(sentence: string): string[] | null {
  const head = /^for (?:each|every|all)(?: one)?(?: of)?\s+/i.exec(sentence);
  if (!head) return null;
  const rest = sentence.slice(head[0].length);
  // The list ends at the comma that a verb follows.
  const cut = [...rest.matchAll(/,\s+/g)].find((c) => verbOf(rest.slice((c.index ?? 0) + c[0].length)) !== '');
  if (!cut) return null;
  const d = distribute(rest.slice(0, cut.index));
  const main = rest.slice((cut.index ?? 0) + cut[0].length);
  if (!d || d.items.length < 2) return null;
  return d.items.map((it) => `${main} for ${[d.prefix, it, d.suffix].filter((x) => x !== '').join(' ')}`);
}

export function splitEnglish(sentence: string): Array<{ text: string; kind: SplitKind }> {
  // "Before X, Y" / "After X, Y" / "Once X, Y": the clause that must come first comes first.
  const lead = /^(before|after|once|when)\s+([^,]+),\s+(.+)$/i.exec(sentence);
  if (lead) {
    const [, word, cond, main] = lead as unknown as [string, string, string, string];
    const first = asClause(cond);
    const rest = splitEnglish(main);
    if (rest.length === 0) return [];
    if (word.toLowerCase() === 'before') return [...rest, ...(first ? [{ text: first, kind: 'S' as const }] : [])];
    const [head, ...tail] = rest as [{ text: string; kind: SplitKind }];
    return [...(first ? [{ text: first, kind: 'A' as const }] : []), { ...head, kind: 'S' }, ...tail];
  }
  let m = verbSeries(sentence).replace(/\s*;\s*/g, ' \u0001A ');
  m = m.replace(SEQ_JOINS, ' \u0001S ').replace(PAR_JOINS, ' \u0001P ');
  // A word followed by "and", "or" or a comma is a list item ("the signup, profile and checkout forms"), not a verb.
  // After a bare comma, a word that is also a noun still reads as a verb (", design rate limiting"); after "and" it
  // needs an object start ("and test it", not "and test results").
  m = m.replace(VERB_JOIN, (all, sep: string, word: string, next: string | undefined) => {
    const after = next?.trim() ?? '';
    if (/^(?:[,;]|and|or)$/i.test(after)) return all;
    const verb =
      isVerbAt(word, after || undefined, /\band\b/i.test(sep)) ||
      (/^,\s*$/.test(sep) && WEAK_VERBS.has(word.toLowerCase()));
    return verb ? ` \u0001A ${word}` : all;
  });
  const out: Array<{ text: string; kind: SplitKind }> = [];
  for (const part of splitMarked(m)) out.push(...subordinate(part));
  // A marker alone ("Then, in parallel, build ...") passes its order to the clause after it.
  const result: Array<{ text: string; kind: SplitKind }> = [];
  let carry: SplitKind | null = null;
  for (const p of out) {
    let { text, kind } = p;
    const seq = EN_SEQ_START.exec(text);
    if (seq) {
      text = text.slice(seq[0].length);
      kind = 'S';
    }
    text = text.replace(EN_FIRST, '').trim();
    if (text === '') {
      carry = kind;
      continue;
    }
    result.push({ text, kind: carry === 'S' ? 'S' : kind });
    carry = null;
  }
  return result;
}

const SUBJECT_START = /^(?:the|it|this|that|these|those|they|we|you|i|our|all|everything)\b/i;

/** "Y after you X" / "Y before X": the clause that must come first comes first. */
function subordinate(p: { text: string; kind: SplitKind }): Array<{ text: string; kind: SplitKind }> {
  const trail = /^(.+?)\s+(before|after|once)\s+(?:you\s+|we\s+|they\s+)?(.+)$/i.exec(p.text);
  if (trail) {
    const [, main, word, cond] = trail as unknown as [string, string, string, string];
    const other = asClause(cond);
    if (other && verbOf(main) !== '') {
      if (word.toLowerCase() === 'before')
        return [
          { text: main, kind: p.kind },
          { text: other, kind: 'S' },
        ];
      return [
        { text: other, kind: p.kind },
        { text: main, kind: 'S' },
      ];
    }
  }
  return [p];
}

/** A subordinate clause as a step ("migrating the database" → "migrate the database"), or null for a state. */
function asClause(text: string): string | null {
  const t = text.replace(/^(?:you|we|they)\s+/i, '');
  if (SUBJECT_START.test(t)) return null;
  const [w, ...rest] = t.split(/\s+/);
  const base = w ? lemma(w) : null;
  return base ? [base, ...rest].join(' ') : null;
}

const DET = /^(?:the|a|an|our|its|their|your|my|each|every|all)$/i;

function singular(w: string): string {
  if (/ies$/i.test(w)) return `${w.slice(0, -3)}y`;
  if (/(?:ses|xes|ches|shes)$/i.test(w)) return w.slice(0, -2);
  if (/[^s]s$/i.test(w)) return w.slice(0, -1);
  return w;
}

/**
 * Finds an enumeration after a verb: "the avatar upload and the attachment upload to it" → prefix '', items
 * [the avatar upload, the attachment upload], suffix 'to it'. Items that are one word before a longer last item
 * share its head noun ("the cart, checkout and refund pages" → the cart page, the checkout page, the refund page).
 */
export function distribute(rest: string, allowOr = false): { prefix: string; items: string[]; suffix: string } | null {
  const toks = rest
    .replace(/\s+as well as\s+/gi, ' && ')
    .replace(/,/g, ' , ')
    .split(/\s+/)
    .filter((t) => t !== '');
  const conj = (t: string): boolean => /^(?:and|&|&&)$/i.test(t) || (allowOr && /^or$/i.test(t));
  const c = toks.findIndex((t, i) => i > 0 && i < toks.length - 1 && conj(t));
  if (c < 0) return null;
  let start = c - 1;
  while (start > 0 && !PREPOSITIONS.has((toks[start - 1] as string).toLowerCase())) start--;
  // "including the database, the cache and the queue" describes one thing; it is not a list of targets.
  const before = toks.slice(Math.max(0, start - 2), start).map((t) => t.toLowerCase());
  if (before.some((t) => DESCRIBING.has(t))) return null;
  let end = c + 1;
  while (end < toks.length && toks[end] !== ',' && !PREPOSITIONS.has((toks[end] as string).toLowerCase())) end++;
  const left = toks
    .slice(start, c)
    .join(' ')
    .split(/\s*,\s*/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const last = toks.slice(c + 1, end).join(' ');
  if (left.length === 0 || last === '') return null;
  // "build the resolvers on the server and the queries in the web client": two whole phrases, each with its own
  // preposition, not one phrase with a list after "on".
  const prefix0 = toks.slice(0, start).join(' ').replace(/\s+,/g, ',');
  const tail0 = toks.slice(end).join(' ');
  if (
    start > 1 &&
    left.length === 1 &&
    DET.test(toks[0] as string) &&
    DET.test(toks[c + 1] as string) &&
    tail0 !== '' &&
    PREPOSITIONS.has((toks[end] as string).toLowerCase())
  )
    return { prefix: '', items: [`${prefix0} ${left[0] as string}`, `${last} ${tail0}`], suffix: '' };
  const items = [...left, last].map((s) => s.split(' '));
  if (items.some((it) => it.length > 6 || it.some(conj))) return null;
  const bare = (it: string[]): string[] => (DET.test(it[0] as string) ? it.slice(1) : it);
  const lastBare = bare(items.at(-1) as string[]);
  const earlier = items.slice(0, -1);
  // Share when the earlier items are bare modifiers: lowercase words ("the cart, checkout and refund pages") or
  // names behind a determiner ("the iOS and the Android app"); "Redis, Memcached and an LRU cache" shares nothing.
  const lower = earlier.every(
    (it, i) => /^[a-z]/.test(bare(it)[0] as string) && (i === 0 || !DET.test(it[0] as string)),
  );
  const named = DET.test(items[0]?.[0] as string) && earlier.every((it) => /[A-Z]/.test(bare(it)[0] as string));
  const share = lastBare.length >= 2 && earlier.every((it) => bare(it).length === 1) && (lower || named);
  if (share) {
    const head = lastBare.at(-1) as string;
    const det = DET.test(items[0]?.[0] as string) ? (items[0]?.[0] as string) : '';
    for (const it of earlier) {
      it.push(singular(head));
      if (det && !DET.test(it[0] as string)) it.unshift(det);
    }
    const l = items.at(-1) as string[];
    l[l.length - 1] = singular(head);
    if (det && !DET.test(l[0] as string)) l.unshift(det);
  }
  const suffix = toks.slice(end).join(' ').replace(/\s+,/g, ',');
  // "X, as well as Y for Z": the phrase after the last item is that item's own.
  const own = toks[c] === '&&' && suffix !== '';
  return {
    prefix: prefix0,
    items: items.map((it, i) => (own && i === items.length - 1 ? `${it.join(' ')} ${suffix}` : it.join(' '))),
    suffix: own ? '' : suffix,
  };
}

/** The object of a clause (after its verb, up to the first preposition), for resolving "it" in the next clause. */
export function objectOf(clause: string, verb: string): string {
  const words = clause.split(/\s+/).slice(verb.split(' ').length);
  const cut = words.findIndex(
    (w) => PREPOSITIONS.has(w.toLowerCase()) || /^(?:and|or|so|because|then|that|which|who)$/i.test(w) || /,$/.test(w),
  );
  const obj = (cut < 0 ? words : words.slice(0, /,$/.test(words[cut] ?? '') ? cut + 1 : cut))
    .join(' ')
    .replace(/,$/, '');
  return obj.replace(/^(?:a|an)\s+/i, 'the ');
}
