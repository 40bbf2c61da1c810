import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { TicketFrontmatter } from '../contracts/index.js';
import { parseYamlText } from '../workspace/index.js';
import { parseTicket, readTicketYaml, renderTicket } from './ticket-file.js';

const base: TicketFrontmatter = {
  id: 'TKT-0002',
  task_context_id: 'TKT-0002',
  title: 'w1',
  status: 'done',
  priority: 'medium',
  owner: 'agent',
  due_by: '2026-12-05',
  dependencies: ['TKT-0001'],
  tags: ['branch'],
  created: '2026-11-28',
  updated: '2026-11-28',
  run_id: '20261128-msowd-wide',
  node_id: 'w1',
  persona: 'arch',
  attempts: 0,
};

/** A small random generator (mulberry32), so a failure names a seed that reproduces it. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Characters YAML gives a meaning to, or that a reader could stumble on, and ordinary ones. */
const ALPHABET = [
  ...'aZ_09 -.:#,[]{}&*!|>\'"%@`?~=+/\\()\t\n\r',
  '\u0000',
  '\u0007',
  '\u007f',
  '\u0085',
  '\u00a0',
  '\u2028',
  '\u2029',
  '\ufeff',
  '\uffff',
  '\ud83d\ude00',
  '\ud800',
  '한',
  'é',
  '0x1',
  '1e5',
  '.inf',
  'true',
  'No',
  'null',
  '2026-11-28',
  '---',
  '...',
  '- ',
  ': ',
  ' #',
];

describe('renderTicket', () => {
  it('writes an ordinary ticket as yaml stringify does', () => {
    const text = renderTicket({ frontmatter: base, body: '# w1\n' });
    const yaml = stringify(base, { lineWidth: 0, defaultStringType: 'PLAIN', defaultKeyType: 'PLAIN' });
    expect(text).toBe(`---\n${yaml}---\n# w1\n`);
  });

  it('writes any string so that it reads back as itself', () => {
    for (let seed = 1; seed <= 1000; seed++) {
      const r = rng(seed);
      const word = (): string =>
        Array.from({ length: 1 + Math.floor(r() * 6) }, () => ALPHABET[Math.floor(r() * ALPHABET.length)]).join('');
      const fm = {
        ...base,
        title: word(),
        owner: word(),
        tags: [word(), word()],
        blocked_reason: r() < 0.5 ? word() : '',
        agent: word(),
      } as TicketFrontmatter;
      const text = renderTicket({ frontmatter: fm, body: '# body\n' });
      let back: TicketFrontmatter;
      try {
        back = parseTicket(text, `seed ${seed}`).frontmatter;
      } catch (e) {
        throw new Error(`seed ${seed}: ${JSON.stringify(fm)} wrote\n${text}\n${(e as Error).message}`, { cause: e });
      }
      expect(back, `seed ${seed}:\n${text}`).toStrictEqual(fm);
    }
  });
});

/** The frontmatter text of a rendered ticket. */
const yamlOf = (fm: TicketFrontmatter): string => {
  const text = renderTicket({ frontmatter: fm, body: '# body\n' });
  return text.slice(4, text.indexOf('\n---\n'));
};

describe('readTicketYaml', () => {
  it('reads what renderTicket writes as the YAML parser does', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const r = rng(seed);
      const word = (): string =>
        Array.from({ length: 1 + Math.floor(r() * 6) }, () => ALPHABET[Math.floor(r() * ALPHABET.length)]).join('');
      const yaml = yamlOf({ ...base, title: word(), tags: r() < 0.3 ? [] : [word()], blocked_reason: word() });
      expect(readTicketYaml(yaml), `seed ${seed}:\n${yaml}`).toStrictEqual(parseYamlText(yaml, 'x', 'x'));
    }
    expect(readTicketYaml(yamlOf(base))).toStrictEqual(base);
  });

  it('leaves to the parser what YAML reads otherwise than it looks', () => {
    const texts = [
      'title: true',
      'title: False',
      'title: null',
      'title: ~',
      'title: 1e5',
      'title: 0x10',
      'title: 007',
      'title: +5',
      'title: .5',
      "title: 'x'",
      'title: x # note',
      'title: "a" # note',
      'title: [a]',
      'title: {a: 1}',
      'title: &a x',
      'title: !!str 5',
      'title: >\n  folded',
      'title: "a',
      'title: a\ntitle: b',
      'tags:\n - a',
      'tags:\n  - 1',
      'tags:',
      '__proto__: x',
      'title: 2026-11-28T10:00:00Z',
      'title:  two spaces',
      'title: trailing ',
    ];
    for (const t of texts) {
      const quick = readTicketYaml(t);
      if (quick !== null) expect(quick, t).toStrictEqual(parseYamlText(t, 'x', 'x'));
    }
    expect(readTicketYaml('title: -5\nattempts: 0\ntags: []')).toStrictEqual({ title: -5, attempts: 0, tags: [] });
  });

  it('reads a text changed at random as the YAML parser does, or leaves it to the parser', () => {
    const edits = [...'aZ09 -_:#"\'[]{},&*!|>%@`?~.\\\t\n', '  - ', '\n  - x', ': ', '"', '\\u0041'];
    let read = 0;
    for (let seed = 1; seed <= 3000; seed++) {
      const r = rng(seed);
      let yaml = yamlOf({ ...base, title: r() < 0.5 ? 'Fix the "bug": now' : 'plain title', tags: [] });
      for (let k = 1 + Math.floor(r() * 2); k > 0; k--) {
        const at = Math.floor(r() * (yaml.length + 1));
        const cut = r() < 0.5 ? Math.floor(r() * 3) : 0;
        yaml = yaml.slice(0, at) + (edits[Math.floor(r() * edits.length)] ?? '') + yaml.slice(at + cut);
      }
      const quick = readTicketYaml(yaml);
      if (quick === null) continue;
      read++;
      let parsed: unknown;
      try {
        parsed = parseYamlText(yaml, 'x', 'x');
      } catch (e) {
        throw new Error(`seed ${seed}: read without the parser, refused by it:\n${yaml}`, { cause: e });
      }
      expect(quick, `seed ${seed}:\n${yaml}`).toStrictEqual(parsed);
    }
    // Enough changed texts are still in the written form for the comparison to mean something.
    expect(read).toBeGreaterThan(150);
  });
});
