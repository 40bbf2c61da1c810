/**
 * Hangul → Latin letters for run ids, by the Revised Romanization of Korean applied syllable by syllable (no sound
 * changes across syllables), after dropping a one-syllable particle from the end of each word: 검색 API를 개선하고 →
 * geomsaek API gaeseonhago. Deterministic; other scripts pass through unchanged.
 */
const INITIALS = ['g', 'kk', 'n', 'd', 'tt', 'r', 'm', 'b', 'pp', 's', 'ss', '', 'j', 'jj', 'ch', 'k', 't', 'p', 'h'];
const MEDIALS = [
  'a', 'ae', 'ya', 'yae', 'eo', 'e', 'yeo', 'ye', 'o', 'wa', 'wae', 'oe', 'yo', 'u', 'wo', 'we', 'wi', 'yu', 'eu', 'ui', 'i',
];
const FINALS = [
  '', 'k', 'k', 'k', 'n', 'n', 'n', 't', 'l', 'k', 'm', 'l', 'l', 'l', 'p', 'l', 'm', 'p', 'p', 't', 't', 'ng', 't', 't',
  'k', 't', 'p', 't',
];
const PARTICLE = /(?:에서|으로|에게|을|를|은|는|의|에|로|와|과|도)$/;

function syllable(c: string): string {
  const i = c.charCodeAt(0) - 0xac00;
  if (i < 0 || i > 11171) return c;
  return `${INITIALS[Math.floor(i / 588)]}${MEDIALS[Math.floor((i % 588) / 28)]}${FINALS[i % 28]}`;
}

/** The text with each Hangul word's trailing particle dropped and its syllables romanized. */
export function romanizeHangul(text: string): string {
  return text.replace(/[\p{L}\p{N}]+/gu, (word) => {
    if (!/[\uac00-\ud7a3]/.test(word)) return word;
    const rest = word.replace(PARTICLE, '');
    const base = rest.length >= 2 || /[A-Za-z0-9]/.test(rest) ? rest : word;
    return Array.from(base.replace(/(?<=[A-Za-z0-9])(?=[\uac00-\ud7a3])|(?<=[\uac00-\ud7a3])(?=[A-Za-z0-9])/g, ' '))
      .map(syllable)
      .join('');
  });
}
