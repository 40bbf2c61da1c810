/**
 * One clause → one unit (task-extraction.ts finds the clauses): its verb and kind, the targets one verb spreads over,
 * markers that link it to the step before (parallel, join, chain), and whether it is context rather than work.
 */
import {
  COLLECTIVE_VERBS,
  COMPARE_VERBS,
  DECIDE_VERBS,
  EN_JOIN,
  EN_PAR,
  KO_COLLECTIVE,
  KO_COMPARE,
  KO_DECIDE,
  KO_JOIN,
  KO_PAR,
  stageOf,
} from './goal-lexicon.js';
import { distribute, lemma, objectOf, verbOf } from './english.js';
import { HANGUL, koDistribute, koLabel, koVerb, type SplitKind } from './korean.js';

/** How a step relates to the one before it: decided later (auto), after it, beside it, or after every open end. */
export type Link = 'auto' | 'seq' | 'par' | 'join';
export type UnitKind = 'step' | 'compare' | 'collective' | 'decide' | 'item';

/** One step of the goal: a clause or list item, spread over the targets it names. */
export interface Unit {
  readonly text: string;
  readonly tasks: string[];
  readonly verb: string;
  readonly stage: number;
  readonly kind: UnitKind;
  /** For a comparison: the criteria step comes first ("Compare ..." asks for a frame). */
  readonly frame?: string;
  /** Set for list items that came as a bullet list, where steps of one stage run side by side. */
  readonly set: boolean;
  /** A sentence of running text that asks for nothing ("Users complain about slow search"): context, not a task. */
  readonly context?: boolean;
  /** The targets run one after another ("in order", "순서대로"), not side by side. */
  readonly chain?: boolean;
  /**
   * A list item under a title that builds ("Implement signup:", "회원가입을 구현하라:"): its result is code unless
   * its own words name other work (a review, docs, a comparison), as "verify the email" there means building it.
   */
  readonly builds?: boolean;
  link: Link;
}

const PEOPLE =
  /\b(?:we|you|they|i|team|someone|somebody|engineers?|designers?|developers?|devs?|owners?|leads?|qa|ops|devops|backend|frontend|people|everyone|reviewers?|writers?)\b/i;
/** Targets that run one after another. */
const KO_CHAIN = /순서대로|차례대로|차례로|순차적으로/g;
const EN_CHAIN = /,?\s*\b(?:in (?:that |this )?order|one after another|one by one|sequentially|in sequence)\b,?/gi;
/** Verbs that only say "do": with a list, the listed items are the tasks. */
export const GENERIC_KO = /^(?:진행|수행|실행|처리|하기)$/;
export const GENERIC_EN = /^(?:do|perform|carry out|handle|complete|finish|work on|tackle)$/i;

export function kindOfLink(kind: SplitKind): Link {
  return kind === 'S' ? 'seq' : kind === 'P' ? 'par' : 'auto';
}

/** A clause and how it relates to the clause before it. */
export interface Piece {
  readonly text: string;
  readonly kind: SplitKind;
}

/** "the design team builds the illustrations" → "build the illustrations": a clause with a subject keeps its work. */
function dropSubject(text: string): string {
  if (verbOf(text) !== '') return text;
  const words = text.split(' ');
  if (!/^(?:the|our|a|an|we|they|you|i|[A-Z][\w-]*)$/.test(words[0] ?? '')) return text;
  for (let i = 1; i < Math.min(words.length - 1, 5); i++) {
    // Only people do work: "the design team builds", "we need to migrate"; "the job keeps failing" is a report.
    if (!PEOPLE.test(words.slice(0, i).join(' '))) continue;
    const base = lemma(words[i] as string);
    if (base && /s$/.test(words[i] as string) !== /^(?:we|they|you|i)$/i.test(words[0] as string))
      return [base, ...words.slice(i + 1)].join(' ');
    if (base && /^(?:we|they|you|i)$/i.test(words[0] as string)) return [base, ...words.slice(i + 1)].join(' ');
  }
  return text;
}

/** The alternatives a sentence names ("use Redis or Postgres for the queue" → Redis, Postgres), or null. */
function alternativesOf(text: string): string[] | null {
  const d = distribute(text, true);
  if (!d) return null;
  const k = (d.items.at(-1) ?? '').replace(/^(?:the|a|an)\s+/i, '').split(' ').length;
  if (k > 3) return null;
  const items = d.items.map((it) => it.split(' ').slice(-k).join(' '));
  return items.length >= 2 ? items : null;
}

/** Builds the unit of one clause (English or Korean), given the unit before it for "it". */
export function unitOf(piece: Piece, set: boolean, prev: Unit | undefined): Unit | null {
  const raw = piece.text.replace(/^[\s,;:.-]+|[\s,;:.]+$/g, '');
  if (raw.replace(/[^\p{L}\p{N}]/gu, '').length < 2) return null;
  const link0: Link = kindOfLink(piece.kind);
  if (HANGUL.test(raw)) return koUnit(raw, link0, set);
  const chain = EN_CHAIN.test(raw);
  EN_CHAIN.lastIndex = 0;
  const par = EN_PAR.test(raw);
  const join = EN_JOIN.test(raw);
  let text = raw
    .replace(EN_CHAIN, '')
    .replace(
      /,?\s*\b(?:in parallel|simultaneously|at the same time|concurrently|separately|independently|side by side)\b,?/gi,
      '',
    )
    .replace(/^(?:and|also|please|plus)\s+/i, '')
    .replace(/\s+/g, ' ')
    .trim();
  text = dropSubject(text);
  const verb = verbOf(text);
  if (prev && verb && /\bit\b/i.test(text) && prev.tasks.length === 1 && prev.verb) {
    const obj = objectOf(prev.text, prev.verb);
    if (obj && obj.split(' ').length <= 6) text = text.replace(/\bit\b/i, obj);
  }
  // "Should we use Redis or Postgres? Benchmark both ...": a set pronoun takes the alternatives named just before.
  const set0 = verb && prev?.context ? alternativesOf(prev.text) : null;
  const pron = set0
    ? new RegExp(`^(${verb})\\s+(?:both|them all|all of them|each of them|them|all three)\\b`, 'i')
    : null;
  if (set0 && pron?.test(text))
    text = text.replace(pron, `$1 ${set0.slice(0, -1).join(', ')} and ${set0.at(-1) as string}`);
  const first = verb.split(' ')[0] ?? '';
  const kind: UnitKind = !verb
    ? 'item'
    : COMPARE_VERBS.has(first)
      ? 'compare'
      : COLLECTIVE_VERBS.has(first)
        ? 'collective'
        : DECIDE_VERBS.has(first)
          ? 'decide'
          : 'step';
  const verbWords = text
    .split(' ')
    .slice(0, verb ? verb.split(' ').length : 0)
    .join(' ');
  const rest = text.slice(verbWords.length).trim();
  // "split utils.ts into A and B" makes two outputs of one change; it is not two changes.
  const d =
    kind === 'decide' || kind === 'item' || /^(?:split|divide|break|separate|partition)$/.test(first)
      ? null
      : distribute(rest, kind === 'compare');
  let tasks = [text];
  let frame: string | undefined;
  if (d && d.items.length >= 2) {
    const shown =
      kind === 'compare' && first === 'compare' ? (verbWords === 'Compare' ? 'Evaluate' : 'evaluate') : verbWords;
    tasks = GENERIC_EN.test(verb)
      ? [...d.items]
      : d.items.map((it) => [shown, d.prefix, it, d.suffix].filter((x) => x !== '').join(' '));
    if (kind === 'compare' && first === 'compare') frame = `Define the criteria to compare ${rest}`;
    if (kind === 'collective') tasks = [...d.items];
  }
  const link: Link = join ? 'join' : kind === 'decide' ? 'join' : par && tasks.length === 1 ? 'par' : link0;
  return {
    text,
    tasks,
    verb,
    stage: stageOf(verb, text),
    kind,
    set,
    link,
    ...(frame ? { frame } : {}),
    ...(verb === '' ? { context: true } : {}),
    ...(chain && tasks.length > 1 ? { chain: true } : {}),
  };
}

function koUnit(raw0: string, link0: Link, set: boolean): Unit {
  const chain = KO_CHAIN.test(raw0);
  const raw = raw0.replace(KO_CHAIN, ' ').replace(/\s+/g, ' ').trim();
  const par = KO_PAR.test(raw);
  const join = KO_JOIN.test(raw);
  const label = koLabel(raw);
  const verb = koVerb(label);
  const is = (list: readonly string[]): boolean => list.some((w) => verb.startsWith(w));
  const kind: UnitKind = is(KO_COMPARE)
    ? 'compare'
    : is(KO_COLLECTIVE)
      ? 'collective'
      : is(KO_DECIDE)
        ? 'decide'
        : 'step';
  const d = kind === 'decide' ? null : koDistribute(raw);
  let tasks = [label];
  let frame: string | undefined;
  if (d && d.items.length >= 2) {
    tasks =
      kind === 'compare'
        ? d.clauses.map((c) => koLabel(c.replace(/비교(?=[하한해]|$|\s)/, '평가')))
        : kind === 'collective'
          ? d.items
          : GENERIC_KO.test(verb)
            ? d.items
            : d.clauses.map((c) => koLabel(c));
    if (kind === 'compare') frame = `비교 기준 정의: ${label}`;
  }
  const link: Link = join ? 'join' : kind === 'decide' ? 'join' : par && tasks.length === 1 ? 'par' : link0;
  return {
    text: label,
    tasks,
    verb,
    stage: stageOf(verb, label),
    kind,
    set,
    link,
    ...(frame ? { frame } : {}),
    ...(chain && tasks.length > 1 ? { chain: true } : {}),
    // "결제 실패율이 높다": a statement (an ending -다 that is not an action) is context.
    ...(/다$/.test(label) ? { context: true } : {}),
  };
}

/** A collective verb over a list: its items run first, then the collective step joins them. */
export function expandCollective(u: Unit): Unit[] {
  if (u.kind !== 'collective' || u.tasks.length < 2) return [u];
  return [
    { ...u, kind: 'item', tasks: u.tasks },
    { ...u, tasks: [u.text], link: 'join' },
  ];
}
