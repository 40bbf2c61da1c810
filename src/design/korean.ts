/**
 * Korean clause grammar for the offline planner: where a sentence splits into steps (connective endings such as
 * -하고, -한 다음, -한 뒤, -고 나서, -기 전에), how a step's verb ending becomes a label (개선하고 → 개선, 만든 → 만들기),
 * and how an enumeration (A, B와 C) spreads one verb over each item.
 */

/** Every Hangul syllable whose final consonant is ㄴ (한, 든, 친, 운 ...): the adnominal form before 다음/뒤/후. */
const N_FINAL = (() => {
  let s = '';
  for (let c = 0xac00 + 4; c <= 0xd7a3; c += 28) s += String.fromCharCode(c);
  return s;
})();

export const HANGUL = /[\uac00-\ud7a3]/;

/** How a split point relates the next clause to the one before it. */
export type SplitKind = 'S' | 'P' | 'A' | 'B';

/** Nouns that end in 고 (a native -고 connective otherwise ends a clause: 찾고, 만들고, 고치고). */
const GO_NOUNS = new Set([
  '광고',
  '재고',
  '최고',
  '보고',
  '참고',
  '경고',
  '사고',
  '창고',
  '신고',
  '원고',
  '수고',
  '그리고',
  '고',
]);

/**
 * Split points, tried in order. The verb ending stays with the clause before the marker (`koLabel` removes it later);
 * the connective words (다음, 뒤, 후, 나서, 전에, 그리고) go.
 */
const KO_SPLITS: ReadonlyArray<readonly [RegExp, string | ((all: string, stem: string) => string)]> = [
  // -기 전에: the clause before it runs after the clause that follows (B = swap).
  [/(?<=[가-힣])기\s*전에\s*,?\s+/g, '기 \u0001B '],
  [/(?<=[가-힣])고\s*(?:나서|난\s*(?:뒤|후|다음)(?:에)?)\s*,?\s*/g, '고 \u0001S '],
  [new RegExp(`(?<=[${N_FINAL}])\\s*(?:다음|뒤|후)(?:에|에는|으로)?\\s*,?\\s+`, 'g'), '\u0002 \u0001S '],
  [/(?<=[가-힣])\s+(?:다음|뒤|후)(?:에|에는)\s*,?\s+/g, ' \u0001S '],
  [/(?<=[가-힣])(하여|해서|하여서)\s*,?\s+/g, '$1 \u0001S '],
  [/(?<=[가-힣])(아서|어서)\s*,?\s+/g, '$1 \u0001S '],
  [/(?<=[가-힣])(하면서|면서)\s*,?\s+/g, '$1 \u0001P '],
  [/(?<=[가-힣])(하는|는)\s*동안(?:에)?\s*,?\s+/g, '$1 \u0001P '],
  [/\s*,?\s*그리고\s+/g, ' \u0001A '],
  [/(?<=[가-힣])(하고|하며|되고|되며)\s*,?\s+/g, '$1 \u0001A '],
  // Native verbs: 만들고, 고치고, 바꾸고, 옮기고, 지우고, 없애고 ... (a stem of two or more syllables before 고).
  [
    /([가-힣]+)고\s*,?\s+/g,
    (all: string, stem: string) =>
      GO_NOUNS.has(`${stem}고`) || stem.endsWith('하') || stem.endsWith('되') ? all : `${stem}고\u0002 \u0001A `,
  ],
  [/(?<=[가-힣])(며|고)\s*,\s+/g, '$1 \u0001A '],
];

/** Cuts a Korean sentence at its connectives; each part carries how it relates to the part before it. */
export function splitKorean(sentence: string): Array<{ text: string; kind: SplitKind }> {
  let marked = sentence;
  for (const [re, to] of KO_SPLITS) marked = typeof to === 'string' ? marked.replace(re, to) : marked.replace(re, to);
  return splitMarked(marked);
}

/** Splits text at `\u0001<kind>` markers; the first part is 'A'. */
export function splitMarked(marked: string): Array<{ text: string; kind: SplitKind }> {
  const out: Array<{ text: string; kind: SplitKind }> = [];
  marked.split('\u0001').forEach((piece, i) => {
    const kind: SplitKind = i === 0 ? 'A' : (piece.charAt(0) as SplitKind);
    const text = (i === 0 ? piece : piece.slice(1)).trim();
    if (text !== '') out.push({ text, kind });
  });
  return out;
}

const ENDINGS: ReadonlyArray<readonly [RegExp, string]> = [
  [
    /\s*(?:해\s*줘|해\s*주라|해\s*줄래|해\s*주면\s*좋겠다|해\s*주세요|해\s*주십시오|하십시오|하세요|하시오|하라|해라|합시다|하자|합니다|한다|할\s*것|하기|해야\s*한다|해야\s*함|하고|하며|하여서|하여|해서|하면서|하는|되고|되며)$/,
    '',
  ],
  [/만든(?:다)?$|만들(?:어라|어|자|기)?$/, '만들기'],
  [/(?:아라|어라|는다|아서|어서)$/, '기'],
];

/**
 * A clause turned into a label: sentence endings, connective endings and marker words removed. A clause cut at a
 * native -고 or an adnominal -ㄴ (marked \u0002 by the splitter) gets its verb back as a noun form: 고치고 → 고치기,
 * 만든 → 만들기, 옮긴 → 옮기기.
 */
export function koLabel(clause: string): string {
  let t = clause
    .replace(/[.!?。]+$/, '')
    .replace(/\s+(?:동시에|병렬로|별도로|따로|각각|나란히|독립적으로)(?=\s)/g, '')
    .replace(/^(?:동시에|병렬로|별도로|따로|각각|나란히|독립적으로)\s+/, '')
    .trim();
  const cut = t.endsWith('\u0002');
  if (cut) t = t.slice(0, -1).trim();
  if (cut) {
    const last = t.split(' ').at(-1) ?? '';
    if (/(?:한|된)$/.test(last)) return t.slice(0, -1).trim();
    if (/만든$/.test(last)) return `${t.slice(0, -2)}만들기`;
    if (/은$/.test(last) && last.length >= 2) return `${t.slice(0, -1)}기`;
    if (/고$/.test(last)) return `${t.slice(0, -1)}기`;
    const end = last.at(-1) ?? '';
    if (N_FINAL.includes(end)) return `${t.slice(0, -1)}${String.fromCharCode(end.charCodeAt(0) - 4)}기`;
    return t;
  }
  for (const [re, to] of ENDINGS) {
    if (re.test(t)) return t.replace(re, to).replace(/\s+/g, ' ').trim();
  }
  return t.replace(/\s+/g, ' ').trim();
}

/** The head verb of a Korean label: its last word (a 하다 noun such as 개선, or a native verb such as 만들기). */
export function koVerb(label: string): string {
  const last = label.split(' ').at(-1) ?? '';
  return HANGUL.test(last) ? last.replace(/(?:을|를|로|으로)$/, '') : '';
}

/** Nouns that end in 과/와 without being "A and": 결과, 효과, 성과 ... */
const GWA_NOUNS = new Set(['결과', '효과', '성과', '통과', '초과', '사과', '부과', '학과', '일과', '과', '와', '기와']);
const PARTICLE = /(으로|에서|에게|에는|에도|를|을|에|의|로|은|는|도)$/;

function isConjToken(tok: string): 'comma' | 'gwa' | 'word' | null {
  if (tok === '및' || tok === '또는' || tok === '혹은' || tok === '그리고') return 'word';
  if (tok.endsWith(',')) return 'comma';
  if (/[와과]$/.test(tok) && tok.length >= 2 && !GWA_NOUNS.has(tok) && HANGUL.test(tok.slice(0, -1).slice(-1) || 'a'))
    return 'gwa';
  if (/[와과]$/.test(tok) && tok.length >= 2 && /[A-Za-z0-9]$/.test(tok.slice(0, -1)) && !GWA_NOUNS.has(tok))
    return 'gwa';
  return null;
}

/**
 * Spreads a clause over an enumeration it contains: "iOS 앱과 안드로이드 앱에 다크 모드를 추가" → one clause per item.
 * Returns the items' clauses and the items, or null when the clause lists nothing.
 */
export function koDistribute(clause: string): { clauses: string[]; items: string[] } | null {
  const toks = clause.split(/\s+/).filter((t) => t !== '');
  const first = toks.findIndex((t, i) => i < toks.length - 1 && isConjToken(t) !== null);
  if (first < 0) return null;
  let start = first;
  while (start > 0 && !PARTICLE.test(toks[start - 1] as string) && !/[,]$/.test(toks[start - 1] as string)) start--;
  const items: string[][] = [];
  let cur: string[] = [];
  let particle = '';
  let end = -1;
  for (let i = start; i < toks.length; i++) {
    const tok = toks[i] as string;
    const conj = isConjToken(tok);
    if (conj === 'word') {
      if (cur.length) items.push(cur);
      cur = [];
      continue;
    }
    if (conj === 'comma') {
      cur.push(tok.slice(0, -1));
      items.push(cur);
      cur = [];
      continue;
    }
    if (conj === 'gwa') {
      cur.push(tok.slice(0, -1));
      items.push(cur);
      cur = [];
      continue;
    }
    const m = PARTICLE.exec(tok);
    if (m && items.length > 0) {
      cur.push(tok.slice(0, -m[1]!.length));
      particle = m[1] as string;
      end = i;
      break;
    }
    cur.push(tok);
    if (cur.length > 4) return null;
  }
  if (end < 0 || items.length === 0 || cur.length === 0) return null;
  items.push(cur);
  if (items.some((it) => it.length === 0 || it.join('') === '')) return null;
  const last = items.at(-1) as string[];
  // "장바구니, 결제, 환불 페이지의": one-word items share the last item's head noun.
  if (last.length >= 2 && items.slice(0, -1).every((it) => it.length === 1))
    for (const it of items.slice(0, -1)) it.push(last.at(-1) as string);
  const before = toks.slice(0, start).join(' ');
  const after = toks
    .slice(end + 1)
    .filter((t) => !/^(?:각각|별도로|따로|병렬로|동시에|독립적으로)$/.test(t))
    .join(' ');
  const names = items.map((it) => it.join(' '));
  return {
    items: names,
    clauses: names.map((n) => [before, `${n}${particle}`, after].filter((x) => x !== '').join(' ')),
  };
}
