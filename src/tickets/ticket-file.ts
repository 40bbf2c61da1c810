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
  const yaml = stringify(ordered, { lineWidth: 0, defaultStringType: 'PLAIN', defaultKeyType: 'PLAIN' });
  return `---\n${yaml}---\n${bodyText(doc.body)}`;
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

/** Parses and validates a ticket file (file and field named on failure). */
export function parseTicket(text: string, file: string): TicketDoc {
  const { data, body } = parseFrontmatter(text, file);
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
