/**
 * Task extraction for the offline planner: a goal's lists, sentences and clauses become steps ("units"), each with
 * the tasks it spreads over, its verb and stage, and how it links to the step before it. Ordering happens in
 * task-ordering.ts; this module only reads the text.
 */
import { COLLECTIVE_VERBS, EN_PAR, KO_COLLECTIVE, KO_FIRST, KO_JOIN, KO_PAR, KO_SEQ_START } from './goal-lexicon.js';
import { forEachClause, splitEnglish, verbOf } from './english.js';
import { HANGUL, koLabel, koVerb, splitKorean } from './korean.js';
import { expandCollective, GENERIC_EN, unitOf, type Link, type Piece, type Unit } from './task-units.js';

export type { Link, Unit, UnitKind } from './task-units.js';

/** What the extractor found in a goal. */
export interface Extraction {
  readonly units: Unit[];
  readonly korean: boolean;
  /** A loop goal ("iterate until ...", "반복"): the condition to check, if one is stated. */
  readonly loop: { readonly until: string | null } | null;
  /**
   * Sentences that ask something of every step ("Each step must include tests", "각 단계는 테스트를 포함해야 한다"):
   * not steps of their own, but what each step's result must satisfy.
   */
  readonly everyStep: string[];
}

/** An item that starts with a word more often a noun than a verb, then a nominal: "email verification". */
const NOUN_FIRST =
  /^(?:e-?mail|mail|tests?|package|document|log|report)\s+\S*(?:tion|sion|ment|ing|ance|ence|ity|age|ure|er|or)s?\b/i;
/** "Each step must ...", "All changes should ...", "각 단계는 ...해야 한다", "모든 작업은 ...할 것". */
const EVERY_STEP_EN =
  /^(?:each|every|all)(?:\s+of\s+the)?\s+(?:steps?|stages?|tasks?|parts?|changes?|pieces?)\s+(?:must|should|needs?(?:\s+to)?|requires?|has\s+to|have\s+to|shall)\s+\S/i;
const EVERY_STEP_KO =
  /^(?:각|모든)\s*(?:단계|작업|태스크|변경|과정)(?:은|는|이|가|마다|에서|에|에는)?\s+.*(?:해야(?:\s*(?:한다|합니다|함))?|할\s*것|하여야\s*한다)$/;
/** What turns such a sentence into a step after the others: "once all steps are done, deploy", "모든 작업이 끝나면 배포". */
const EVERY_STEP_NOT = /\b(?:then|before|after|once|when|until)\b|(?:면|후에?|뒤에?|다음에?|때|전에)\s/i;

/** A title that announces a set of things it then names: "the following", "three things", "다음", "세 가지". */
const SET_TITLE =
  /\b(?:the following|these|(?:two|three|four|five|six|several|\d+)\s+(?:things|items|tasks|parts|areas|changes|pieces))\b|다음|가지|항목/i;

/** A title verb that makes something: "implement", "build", "add", "구현", "개발", "만들". */
const BUILD_TITLE = /^(?:implement|build|add|create|develop|ship|make)$|^(?:구현|개발|만들|추가|제작)/i;
/** A title that makes sure of something, or adds to writing ("Add to the README:"): its items are not code. */
const NOT_BUILD_TITLE = /^make sure\b|\b(?:readme|docs?|documentation|notes|changelog|report|wiki)\b|문서|보고서/i;

/** Structure is read from the first 4 KB only; a longer goal keeps its full text in the run but not more tasks. */
export const MAX_PARSE_CHARS = 4096;
/** At most this many tasks: a plan wider than that is not a plan a person can review. */
export const MAX_TASKS = 16;

const BULLET = /^\s*(?:([-*•·▪])|(\d{1,2}[.)]|[a-z][.)]|\(\d{1,2}\)))\s+(.+)$/i;
const STEP_TITLE =
  /\b(?:steps?|pipeline|in order|sequence|stages?|procedure|runbook|checklist)\b|단계|순서|절차|파이프라인/i;
const LOOP_EN = /\b(?:iterate|iteratively|iterative|repeatedly|repeat|loop|until)\b/i;
const LOOP_KO = /반복|루프|때까지/;

/**
 * Inline lists: "1. Add SSO 2. Add audit logging" (numbered: steps) or "Clean up: • a • b" (bullets: a set).
 * Returns the title before the first marker and the items, or null.
 */
function inlineList(text: string): { title: string; items: string[]; numbered: boolean } | null {
  const marks = [...text.matchAll(/(?:^|\s)\(?(\d{1,2})[.)]\s+/g)] as RegExpExecArray[];
  const seq: RegExpExecArray[] = [];
  for (const m of marks) if (Number(m[1]) === seq.length + 1) seq.push(m);
  if (seq.length >= 2) {
    const items = seq.map((m, i) => text.slice((m.index ?? 0) + m[0].length, seq[i + 1]?.index ?? text.length).trim());
    return { title: text.slice(0, seq[0]?.index ?? 0).trim(), items: items.filter((s) => s !== ''), numbered: true };
  }
  const parts = text.split(/\s*[•·▪‣◦]\s+/);
  if (parts.length >= 3) {
    return {
      title: (parts[0] as string).trim(),
      items: parts
        .slice(1)
        .map((p) => p.trim())
        .filter((p) => p !== ''),
      numbered: false,
    };
  }
  return null;
}

const LIST_SPLIT = /\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or|및|또는)\s+/;

/**
 * A parenthesised list becomes an enumeration the distributor reads: "the three forms (signup, profile, checkout)"
 * → "the signup, profile and checkout forms"; "세 가지 폼(가입, 프로필, 결제)에" → "가입, 프로필, 결제 폼에".
 */
function unparen(sentence: string): string {
  // "Evaluate three options for the search backend (A, B, C)": the listed items are what gets evaluated.
  const cmp = /^(compare|evaluate|benchmark|assess|prototype|try)\s+([^()]*?)\s*\(([^()]+)\)(.*)$/i.exec(sentence);
  if (cmp) {
    const items = (cmp[3] as string)
      .replace(/^(?:e\.g\.|i\.e\.|such as),?\s*/i, '')
      .split(LIST_SPLIT)
      .map((x) => x.trim())
      .filter((x) => x !== '');
    if (items.length >= 2) {
      const pp = /\b(?:for|in|on|as|against)\b.*$/i.exec(cmp[2] as string)?.[0] ?? '';
      const list = `${items.slice(0, -1).join(', ')} and ${items.at(-1) as string}`;
      return [cmp[1], list, pp].filter(Boolean).join(' ') + (cmp[4] as string);
    }
  }
  return sentence
    .replace(
      /\b(?:(?:the|our|all|its|their)\s+(?:(?:two|three|four|five|six|seven|both|several|\d+)\s+)?|(?:two|three|four|five|six|seven|both|several|\d+)\s+)([A-Za-z][\w-]*)\s*\(((?:e\.g\.|i\.e\.|such as)?[^()]+)\)/gi,
      (all, head: string, inner: string) => {
        const items = inner
          .replace(/^(?:e\.g\.|i\.e\.|such as),?\s*/i, '')
          .split(LIST_SPLIT)
          .map((x) => x.trim())
          .filter((x) => x !== '');
        if (items.length < 2 || items.some((x) => x.split(' ').length > 4)) return all;
        return `the ${items.slice(0, -1).join(', ')} and ${items.at(-1) as string} ${head}`;
      },
    )
    .replace(
      /(?:(?:두|세|네|다섯|여섯|\d+)\s*(?:가지|개의?)?\s+)?([^\s()]+?)\s*\(([^()]+)\)/g,
      (all, head: string, inner: string) => {
        const items = inner
          .split(LIST_SPLIT)
          .map((x) => x.trim())
          .filter((x) => x !== '');
        if (!HANGUL.test(all) || items.length < 2 || items.some((x) => x.split(' ').length > 3)) return all;
        return `${items.join(', ')} ${head}`;
      },
    );
}

/** Strips loop adverbs and the "until" clause; returns the condition. */
function stripLoop(text: string): { text: string; until: string | null } {
  let until: string | null = null;
  let t = text.replace(/,?\s+until\s+([^,.;]+)/i, (_, c: string) => {
    until = c.trim();
    return '';
  });
  // "테스트가 통과할 때까지": the subject goes with its condition, not into the work ("테스트가 버그를 고쳐라").
  t = t.replace(/((?:[^\s,.;]+(?:이|가)\s+)?[^\s,.;]+)\s*(?:할|될|할\s*수\s*있을)\s*때까지\s*/, (_, c: string) => {
    until = c.trim();
    return '';
  });
  t = t
    .replace(/\b(?:iteratively|repeatedly|again and again)\s+/gi, '')
    .replace(/반복(?:해서|하여|적으로|하며)\s*/g, '')
    .replace(/\s+/g, ' ');
  return { text: t.trim(), until };
}

function sentencesOf(paragraph: string): string[] {
  return paragraph
    .split(/(?<![Ee]\.g\.|[Ii]\.e\.|\b(?:etc|vs|cf|approx|incl|Mr|Dr|No)\.)(?<=[.!?。？！])\s+(?=\S)/)
    .map((s) => s.trim().replace(/[.!?。？！]+$/, ''))
    .filter((s) => s !== '');
}

function clausesOf(sentence: string): Piece[] {
  if (HANGUL.test(sentence)) {
    const pieces: Piece[] = [];
    for (const p of splitKorean(sentence)) {
      const seq = KO_SEQ_START.exec(p.text);
      const text = p.text.replace(KO_SEQ_START, '').replace(KO_FIRST, '');
      const prev = pieces.at(-1);
      // "A하기 전에 B": B comes first, then A.
      if (p.kind === 'B' && prev) pieces.splice(-1, 1, { text, kind: prev.kind }, { text: prev.text, kind: 'S' });
      else pieces.push({ text, kind: seq ? 'S' : p.kind });
    }
    return pieces;
  }
  return splitEnglish(sentence);
}

/**
 * Constraints on the whole work, which no step does alone, stated as sentences of their own (never list items): a
 * prohibition or reminder ("Do not change the schema", "Don't forget the migration", "스키마를 바꾸지 마라"), a short "Use
 * TypeScript" / "타입스크립트를 사용하라" (a tool to use, not a place to use it in), and what follows each step ("After
 * each step, run the tests", "각 단계가 끝나면 테스트를 실행하라").
 */
const CONSTRAINT_EN =
  /^(?:(?:do not|don't|never|must not|should not)\s+\S|keep\s+.*\b(?:under|below|within|backwards?[- ]compatible|compatible|stable|intact|unchanged|the same|as it is|green|passing)\b|use\s+(?!the\b|a\b|an\b)[\w.+#/-]+(?:\s+[\w.+#/-]+)?\.?$|(?:after|following)\s+(?:each|every)\s+(?:steps?|stages?|tasks?|changes?|parts?)\b)/i;
/** Orders only ("~지 마라", "~지 말 것", "~않도록 하라", "금지"): "세션이 만료되지 않는다" states a fact. */
const CONSTRAINT_KO =
  /(?:지\s*(?:마라|마시오|마세요|말\s*것|말라)|않도록\s*(?:하라|할\s*것)|금지(?:한다|하라|할\s*것)?)\.?$|^\S+(?:을|를)\s*사용(?:하라|할\s*것|해야\s*한다)\.?$|^(?:각|매)\s*(?:단계|작업|변경)(?:가|이|를|을)?\s*(?:끝나면|끝난\s*(?:후|뒤)에?|마친\s*(?:후|뒤)에?|마다|후에?)\s/;

/** `orders`: an order ("Do not ...", "Use X") counts as a rule too (not for a list item, nor an opening clause). */
const isEveryStep = (sentence: string, orders: boolean): boolean =>
  (orders && (CONSTRAINT_EN.test(sentence) || CONSTRAINT_KO.test(sentence))) ||
  ((EVERY_STEP_EN.test(sentence) || EVERY_STEP_KO.test(sentence)) && !EVERY_STEP_NOT.test(sentence));

/**
 * The rule for every step a sentence states, and the work it goes on with (null: none): the whole sentence, or its
 * opening clause ("Each step must include tests, and once all steps are done, deploy"); null when it states none.
 */
function everyStepRule(sentence: string, inList: boolean): { rule: string; work: string | null } | null {
  if (isEveryStep(sentence, !inList)) return { rule: sentence, work: null };
  const en = /^(.+?),?\s+and\s+(.+)$/i.exec(sentence);
  if (en && isEveryStep(en[1] as string, false)) return { rule: en[1] as string, work: en[2] as string };
  const ko = /^(.+?해야)\s*(?:하고|하며),?\s+(.+)$/.exec(sentence);
  if (ko && isEveryStep(ko[1] as string, false)) return { rule: `${ko[1] as string} 한다`, work: ko[2] as string };
  // "Refactor the auth module; do not modify the migrations": the work, then a constraint on it.
  const semi = /^(.+?)\s*;\s*(.+)$/.exec(sentence);
  if (semi && isEveryStep(semi[2] as string, !inList)) return { rule: semi[2] as string, work: semi[1] as string };
  return null;
}

/** Units of running text (sentences and clauses), in order; sentences about every step go to `everyStep`. */
function paragraphUnits(text: string, set: boolean, startLink: Link, everyStep?: string[], inList = false): Unit[] {
  const units: Unit[] = [];
  for (const whole of sentencesOf(unparen(text))) {
    const ruled = everyStep ? everyStepRule(whole, inList) : null;
    if (ruled) {
      everyStep?.push(ruled.rule);
      if (ruled.work === null) continue;
    }
    const sentence = ruled?.work ?? whole;
    if (units.reduce((n, u) => n + u.tasks.length, 0) > MAX_TASKS) break;
    // "For each of the SDKs (A, B, C), add X": the clause once per item.
    const each = HANGUL.test(sentence) ? null : forEachClause(sentence);
    const eachUnit = each ? unitOf({ text: each[0] as string, kind: 'A' }, set, units.at(-1)) : null;
    if (each && eachUnit) {
      units.push({ ...eachUnit, tasks: each, kind: 'step', link: units.length ? 'seq' : eachUnit.link });
      continue;
    }
    let pieces = clausesOf(sentence);
    // "Move the uploads to S3: add ..., switch ..." — the part before the colon titles the steps after it; a title
    // that says "independently" or "동시에" makes them run side by side.
    const colon = /^([^:]{3,100}):\s+(.+)$/.exec(sentence);
    if (colon) {
      const after = clausesOf(colon[2] as string);
      const par = EN_PAR.test(colon[1] as string) || KO_PAR.test(colon[1] as string);
      if (after.length >= 2) pieces = par ? after.map((p, k) => (k === 0 ? p : { ...p, kind: 'P' as const })) : after;
      // "Implement signup in three steps: email checks, password rules, a welcome mail" (세 단계로 …: 이메일 확인,
      // …): a title that announces steps, then a list of short names, is a list of steps under that title.
      const named = (colon[2] as string).split(/\s*(?:[,，、]\s*(?:and\s+)?|\band\b|및)\s*/).filter((x) => x !== '');
      // A title that announces a set of things ("Do the following three things in parallel:", "다음 세 가지를
      // 처리하라:") then names them: a list of those things, side by side.
      const short = named.length >= 2 && named.every((x) => x.split(/\s+/).length <= 6);
      if (short && !STEP_TITLE.test(colon[1] as string) && SET_TITLE.test(colon[1] as string)) {
        units.push(...listUnits(colon[1] as string, named, false, everyStep));
        continue;
      }
      if (STEP_TITLE.test(colon[1] as string) && short) {
        // One after the other, in the order named.
        const list = listUnits(colon[1] as string, named, true, everyStep).map((u, k) =>
          k > 0 || units.length > 0 ? { ...u, link: 'seq' as const } : u,
        );
        units.push(...list);
        continue;
      }
    }
    // "A 그리고 B 그리고 C를 통합": a collective verb takes every bare noun phrase before it as its input.
    const out: Unit[] = [];
    for (const piece of pieces) {
      const u = unitOf(piece, set, out.at(-1) ?? units.at(-1));
      if (!u) continue;
      const before = out.at(-1);
      // "캐시 계층을 설계하고 나서 구현하고": a bare verb takes the object of the clause before it.
      if (HANGUL.test(u.text) && !u.text.includes(' ') && u.tasks.length === 1 && before?.tasks.length === 1) {
        const obj = /^(.*[을를])\s+\S+$/.exec(before.text)?.[1];
        if (obj && !KO_JOIN.test(obj)) {
          out.push({ ...u, text: `${obj} ${u.text}`, tasks: [`${obj} ${u.text}`] });
          continue;
        }
      }
      if (u.kind === 'collective' && u.tasks.length === 1 && HANGUL.test(u.text) && out.length > 0) {
        const bare = out.every((o) => o.kind === 'step' && !/[을를]\s/.test(`${o.text} `) && o.tasks.length === 1);
        if (bare) {
          out.forEach((o, i) => (o.link = i === 0 ? o.link : 'par'));
          const obj = u.text.replace(/\s*\S+$/, '').replace(/[을를]$/, '');
          if (obj) out.push({ ...u, kind: 'item', tasks: [obj], link: 'par' });
          out.push({ ...u, tasks: [`${out.map((o) => o.tasks[0]).join(', ')} ${koVerb(u.text)}`], link: 'join' });
          continue;
        }
      }
      out.push(...expandCollective(u));
    }
    if (out[0] && out[0].link === 'auto' && units.length > 0) out[0].link = 'seq';
    units.push(...out);
  }
  if (units[0] && units[0].link === 'auto') units[0].link = startLink;
  return units;
}

/** Units of a list under an optional title; a title with a verb of its own applies it to bare items. */
function listUnits(title: string, items: string[], numbered: boolean, everyStep?: string[]): Unit[] {
  const head = title.replace(/[:：]\s*$/, '').trim();
  // A title that announces steps ("pipeline", "in order", "단계별") makes a bullet list a sequence.
  const announced = STEP_TITLE.test(head);
  const ordered = numbered || announced;
  const headVerb = HANGUL.test(head) ? '' : verbOf(head);
  const firstVerb = headVerb.split(' ')[0] ?? '';
  // The title's own verb builds something: its items are parts of what it builds.
  const builds = BUILD_TITLE.test(HANGUL.test(head) ? koVerb(koLabel(head)) : firstVerb) && !NOT_BUILD_TITLE.test(head);
  const units: Unit[] = [];
  // Items named as things ("email verification, password rule checks, welcome mail") all take the title's verb, also
  // one whose first word is more often a noun than a verb ("email", "test", "package") when a nominal follows it
  // ("email verification"); "publish packages" or "run tests" keep their own verb.
  const bare = (item: string): boolean => !HANGUL.test(item) && verbOf(item) === '';
  const nouns = !HANGUL.test(head) && items.filter(bare).length * 2 >= items.length;
  for (const item of items) {
    if (units.reduce((n, u) => n + u.tasks.length, 0) > MAX_TASKS) break;
    const bareItem = headVerb !== '' && (bare(item) || (nouns && NOUN_FIRST.test(item)));
    // A verb that only says "do" ("Do the following:") gives the items nothing: they are the tasks as named.
    const text =
      bareItem && !COLLECTIVE_VERBS.has(firstVerb) && !GENERIC_EN.test(firstVerb)
        ? `${head.split(' ')[0]} ${item}`
        : item;
    const us = paragraphUnits(text, !ordered, 'auto', everyStep, true).map((u) => ({
      ...u,
      context: false,
      ...(builds ? { builds } : {}),
    }));
    if (us[0]) us[0].link = us[0].link === 'seq' && units.length === 0 ? 'auto' : us[0].link;
    // Under a title that announces steps, each item comes after the one before ("in three steps:" then a list).
    if (us[0] && units.length > 0 && us[0].link === 'auto' && announced) us[0].link = 'seq';
    units.push(...us);
  }
  if (headVerb && COLLECTIVE_VERBS.has(firstVerb)) units.push(...paragraphUnits(head, false, 'join'));
  const hkVerb = HANGUL.test(head) ? koVerb(koLabel(head)) : '';
  if (hkVerb && KO_COLLECTIVE.some((w) => hkVerb.startsWith(w))) units.push(...paragraphUnits(head, false, 'join'));
  return units;
}

/**
 * Reads a goal into units: multi-line lists (bullets run as a set, numbers as steps) under their title line,
 * inline numbered lists, sentences, and clauses split at the connectives of English and Korean.
 */
export function extractUnits(goal: string): Extraction {
  const korean = HANGUL.test(goal);
  // Control characters are never text (and \u0001/\u0002 mark split points below).
  const head = goal.slice(0, MAX_PARSE_CHARS).replace(/\r\n?/g, '\n');
  let control = false;
  for (let i = 0; i < head.length && !control; i++) control = head.charCodeAt(i) < 32 && head[i] !== '\n';
  const full = control
    ? Array.from(head)
        .map((c) => (c < ' ' && c !== '\n' ? ' ' : c))
        .join('')
    : head;
  const loopSignal = LOOP_EN.test(full) || LOOP_KO.test(full);
  const { text, until } = loopSignal ? stripLoop(full) : { text: full, until: null };
  const raw = text.split('\n').filter((l) => l.trim() !== '');
  const lines = raw.map((l) => l.trim());
  const indent = raw.map((l) => /^\s*/.exec(l)?.[0].length ?? 0);
  const working = (): boolean => units.some((u) => !u.context);
  const units: Unit[] = [];
  const everyStep: string[] = [];
  let i = 0;
  while (i < lines.length && units.reduce((n, u) => n + u.tasks.length, 0) <= MAX_TASKS) {
    const line = lines[i] as string;
    const items: string[] = [];
    let numbered = false;
    let j = i;
    const base = indent[i] ?? 0;
    const subs: string[][] = [];
    while (j < lines.length && BULLET.test(lines[j] as string)) {
      const m = BULLET.exec(lines[j] as string) as RegExpExecArray;
      // An indented bullet belongs to the item above it: "- Port the layouts\n  - header\n  - footer".
      if ((indent[j] ?? 0) > base && items.length > 0) (subs[items.length - 1] ??= []).push((m[3] as string).trim());
      else {
        numbered ||= m[2] !== undefined;
        items.push((m[3] as string).trim());
      }
      j++;
    }
    items.forEach((it, k) => {
      const sub = subs[k];
      if (sub && sub.length >= 2) items[k] = `${it} (${sub.join(', ')})`;
      else if (sub?.length === 1) items[k] = `${it}: ${sub[0] as string}`;
    });
    if (items.length >= 2) {
      const prevTitle = !working() && i > 0 ? (lines[i - 1] as string) : '';
      units.push(...listUnits(prevTitle, items, numbered, everyStep));
      i = j;
      continue;
    }
    const nextIsList = i + 2 < lines.length + 1 && BULLET.test(lines[i + 1] ?? '') && BULLET.test(lines[i + 2] ?? '');
    if (nextIsList && !working()) {
      i++;
      continue;
    }
    const inline = inlineList(line);
    if (inline && inline.items.length >= 2)
      units.push(...listUnits(inline.title, inline.items, inline.numbered, everyStep));
    else {
      const bullet = BULLET.exec(line)?.[3];
      units.push(
        ...paragraphUnits(bullet ?? line, false, units.length ? 'seq' : 'auto', everyStep, bullet !== undefined),
      );
    }
    i++;
  }
  // Sentences that ask for nothing are context when others ask for work.
  const work = units.some((u) => !u.context) ? units.filter((u) => !u.context) : units;
  let count = 0;
  const capped = work.filter((u) => (count += u.tasks.length + (u.frame ? 1 : 0)) <= MAX_TASKS);
  // A goal that is nothing but such a sentence is a task after all.
  if (capped.length === 0 && everyStep.length > 0) {
    const units = everyStep.flatMap((s, k) => paragraphUnits(s, false, k ? 'seq' : 'auto'));
    return { units, korean, loop: loopSignal ? { until } : null, everyStep: [] };
  }
  return { units: capped, korean, loop: loopSignal ? { until } : null, everyStep };
}
