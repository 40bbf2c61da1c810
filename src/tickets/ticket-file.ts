import { stringify } from 'yaml';
import { TicketFrontmatterSchema, parseArtifact, type TicketFrontmatter } from '../contracts/index.js';
import { parseFrontmatter } from '../workspace/index.js';

/** A ticket as stored: frontmatter plus markdown body. */
export interface TicketDoc {
  readonly frontmatter: TicketFrontmatter;
  readonly body: string;
}

const KEY_ORDER = [
  'id',
  'task_context_id',
  'title',
  'status',
  'priority',
  'owner',
  'due_by',
  'dependencies',
  'tags',
  'created',
  'updated',
  'run_id',
  'node_id',
  'persona',
  'agent',
  'attempts',
  'artifact_uri',
  'blocked_reason',
];

/** Serialises a ticket with real YAML lists and dates as plain strings, in a stable key order, ending in a newline. */
export function renderTicket(doc: TicketDoc): string {
  const fm = doc.frontmatter as Record<string, unknown>;
  const ordered: Record<string, unknown> = {};
  for (const k of KEY_ORDER) if (fm[k] !== undefined) ordered[k] = fm[k];
  for (const [k, v] of Object.entries(fm)) if (!(k in ordered) && v !== undefined) ordered[k] = v;
  const yaml =
    frontmatterYaml(ordered) ??
    stringify(ordered, { lineWidth: 0, defaultStringType: 'PLAIN', defaultKeyType: 'PLAIN' });
  return `---\n${yaml}---\n${bodyText(doc.body)}`;
}

/** A string YAML can only read as itself, written plain: it starts with a letter and holds nothing YAML reads. */
const PLAIN =
  /^[A-Za-z_\u00c0-\u2027\u202a-\ud7ff\ue000-\ufefe](?:[\w .,()/+\u00c0-\u2027\u202a-\ud7ff\ue000-\ufefe-]*[\w.,()/+\u00c0-\u2027\u202a-\ud7ff\ue000-\ufefe-])?$/;
/** Words YAML reads as something else than a string (YAML 1.2 core schema, and 1.1's booleans for other readers). */
const RESERVED = /^(?:null|true|false|yes|no|on|off|y|n)$/i;
/** Dates and run ids, plain in YAML 1.2's core schema (as yaml's stringify writes them). */
const PLAIN_DIGITS = /^(?:\d{4}-\d{2}-\d{2}|\d{8}-[a-z0-9-]*[a-z][a-z0-9-]*)$/;
/** What a double-quoted YAML scalar must escape beyond JSON's escapes: DEL, C1 controls, line and paragraph seps, BOM. */
const UNPRINTABLE = /[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/g;
const KEY = /^[a-z_][a-z0-9_]*$/;

/** Whether `s` is written plain, and read as a plain string. */
const isPlain = (s: string): boolean => (PLAIN.test(s) && !RESERVED.test(s)) || PLAIN_DIGITS.test(s);

function yamlString(s: string): string {
  if (isPlain(s)) return s;
  return JSON.stringify(s).replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * The frontmatter's YAML, written here rather than by yaml's stringify, which takes about half a millisecond a ticket
 * where a node writes its ticket three times: a ticket holds strings, integers and lists of strings under plain keys.
 * A string is plain when it can only read back as itself (see PLAIN), else in JSON's double-quoted form, which YAML
 * 1.2 reads the same; a list is a block list, empty `[]`. Anything else returns null, for stringify to write.
 * ticket-file.test checks the round trip on random strings, and that an ordinary ticket reads as stringify writes it.
 */
function frontmatterYaml(fm: Record<string, unknown>): string | null {
  let out = '';
  for (const [k, v] of Object.entries(fm)) {
    if (!KEY.test(k)) return null;
    if (typeof v === 'string') out += `${k}: ${yamlString(v)}\n`;
    else if (typeof v === 'number' && Number.isSafeInteger(v)) out += `${k}: ${v}\n`;
    else if (Array.isArray(v) && v.every((x) => typeof x === 'string'))
      out += v.length === 0 ? `${k}: []\n` : `${k}:\n${v.map((x) => `  - ${yamlString(x)}\n`).join('')}`;
    else return null;
  }
  return out;
}

const bodyText = (body: string): string => (body.endsWith('\n') ? body : `${body}\n`);

/**
 * The document that {@link renderTicket}'s text of these parts parses to, made without that text: the frontmatter
 * checked by its schema, the body as written. A new ticket needs no YAML round trip (store.test checks that the two
 * agree on awkward titles and bodies).
 */
export function ticketDoc(frontmatter: TicketFrontmatter, body: string, file: string): TicketDoc {
  return { frontmatter: parseArtifact(TicketFrontmatterSchema, frontmatter, file), body: bodyText(body) };
}

const INT = /^(?:0|-?[1-9][0-9]{0,14})$/;
const LINE = /^([a-z_][a-z0-9_]{0,63}):(?: (.*))?$/;

/** A scalar as {@link frontmatterYaml} writes it: a JSON string, an integer or a plain string; else undefined. */
function readScalar(v: string): string | number | undefined {
  if (v.startsWith('"')) {
    try {
      const s: unknown = JSON.parse(v);
      return typeof s === 'string' ? s : undefined;
    } catch {
      return undefined;
    }
  }
  if (INT.test(v)) return Number(v);
  return isPlain(v) ? v : undefined;
}

/**
 * Reads frontmatter written the way {@link frontmatterYaml} writes it (`key: scalar`, `key: []`, or `key:` and
 * `  - scalar` lines), without the YAML parser (about 1.5 ms a ticket: `mso status` of a 42-node run read its tickets
 * for 70 ms); null for any other text (a comment, another style, a repeated key), which the parser then reads.
 * ticket-file.test checks it against the parser on written tickets and on thousands of texts changed at random.
 */
export function readTicketYaml(yaml: string): Record<string, unknown> | null {
  const out: Record<string, unknown> = {};
  const lines = yaml.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = LINE.exec(lines[i] as string);
    const key = m?.[1];
    if (key === undefined || key === '__proto__' || Object.hasOwn(out, key)) return null;
    const value = m?.[2];
    if (value === undefined) {
      const items: string[] = [];
      for (; lines[i + 1]?.startsWith('  - '); i++) {
        const item = readScalar((lines[i + 1] as string).slice(4));
        if (typeof item !== 'string') return null;
        items.push(item);
      }
      if (items.length === 0) return null;
      out[key] = items;
    } else if (value === '[]') out[key] = [];
    else {
      const scalar = readScalar(value);
      if (scalar === undefined) return null;
      out[key] = scalar;
    }
  }
  return out;
}

/** Parses and validates a ticket file (file and field named on failure). */
export function parseTicket(text: string, file: string): TicketDoc {
  const { data, body } = parseFrontmatter(text, file, readTicketYaml);
  return { frontmatter: parseArtifact(TicketFrontmatterSchema, data, file), body };
}

/** `TKT-0007-some-title`: lowercase ASCII, Hangul kept, max 60 characters. */
export function ticketSlug(title: string): string {
  const slug = title
    .toLowerCase()
    .replace(/[^a-z0-9\uac00-\ud7a3 _-]+/g, ' ')
    .trim()
    .replace(/[\s_-]+/g, '-')
    .slice(0, 60)
    .replace(/-+$/, '');
  return slug || 'ticket';
}
