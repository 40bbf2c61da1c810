import fc from 'fast-check';
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

/** A short string of those pieces. */
const word = fc.array(fc.constantFrom(...ALPHABET), { minLength: 1, maxLength: 6 }).map((parts) => parts.join(''));

describe('renderTicket', () => {
  it('writes an ordinary ticket as yaml stringify does', () => {
    const text = renderTicket({ frontmatter: base, body: '# w1\n' });
    const yaml = stringify(base, { lineWidth: 0, defaultStringType: 'PLAIN', defaultKeyType: 'PLAIN' });
    expect(text).toBe(`---\n${yaml}---\n# w1\n`);
  });

  it('writes any string so that it reads back as itself', () => {
    fc.assert(
      fc.property(
        fc.record({
          title: word,
          owner: word,
          tags: fc.tuple(word, word),
          blocked_reason: fc.oneof(word, fc.constant('')),
          agent: word,
        }),
        (strings) => {
          const fm = { ...base, ...strings } as TicketFrontmatter;
          const text = renderTicket({ frontmatter: fm, body: '# body\n' });
          expect(parseTicket(text, 'random ticket').frontmatter, text).toStrictEqual(fm);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

/** The frontmatter text of a rendered ticket. */
const yamlOf = (fm: TicketFrontmatter): string => {
  const text = renderTicket({ frontmatter: fm, body: '# body\n' });
  return text.slice(4, text.indexOf('\n---\n'));
};

describe('readTicketYaml', () => {
  it('reads what renderTicket writes as the YAML parser does', () => {
    fc.assert(
      fc.property(word, fc.oneof(fc.constant([]), fc.tuple(word)), word, (title, tags, reason) => {
        const yaml = yamlOf({ ...base, title, tags: [...tags], blocked_reason: reason });
        expect(readTicketYaml(yaml), yaml).toStrictEqual(parseYamlText(yaml, 'x', 'x'));
      }),
      { numRuns: 500 },
    );
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
    /** One edit: at a fraction of the text, cut 0-2 characters and put in one of the edits. */
    const edit = fc.record({
      at: fc.double({ min: 0, max: 1, noNaN: true }),
      cut: fc.nat(2),
      put: fc.constantFrom(...edits),
    });
    let read = 0;
    fc.assert(
      fc.property(fc.boolean(), fc.array(edit, { minLength: 1, maxLength: 2 }), (quoted, changes) => {
        let yaml = yamlOf({ ...base, title: quoted ? 'Fix the "bug": now' : 'plain title', tags: [] });
        for (const { at, cut, put } of changes) {
          const i = Math.floor(at * yaml.length);
          yaml = yaml.slice(0, i) + put + yaml.slice(i + cut);
        }
        const quick = readTicketYaml(yaml);
        if (quick === null) return;
        read++;
        // Read without the parser: the parser must take it too, and read the same.
        expect(quick, yaml).toStrictEqual(parseYamlText(yaml, 'x', 'x'));
      }),
      { numRuns: 3000 },
    );
    // Enough changed texts are still in the written form for the comparison to mean something.
    expect(read).toBeGreaterThan(60);
  });
});
