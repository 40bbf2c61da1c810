import { createHash } from 'node:crypto';
import { InvalidArgumentError, InvalidRunIdError, RUN_ID_PATTERN, SKILL_KEYS, SKILL_NAMES, UnsafePathError } from '../contracts/index.js';
import type { SkillKey } from '../contracts/index.js';
import { romanizeHangul } from './romanize.js';

const MAX_SLUG = 40;

/** The parts of a valid run id. */
export interface ParsedRunId {
  readonly runId: string;
  readonly date: string;
  readonly skillKey: SkillKey;
  readonly caseSlug: string;
}

/** Refuses names that could leave a folder: `..`, path separators, NUL. */
export function assertSafeName(field: string, value: string): void {
  if (value === '' || value.includes('..') || value.includes('/') || value.includes('\\') || value.includes('\0')) {
    throw new UnsafePathError(field, value);
  }
}

function isRealDate(yyyymmdd: string): boolean {
  const y = Number(yyyymmdd.slice(0, 4));
  const m = Number(yyyymmdd.slice(4, 6));
  const d = Number(yyyymmdd.slice(6, 8));
  if (y < 1970 || m < 1 || m > 12 || d < 1) return false;
  const dt = new Date(Date.UTC(y, m - 1, d));
  return dt.getUTCFullYear() === y && dt.getUTCMonth() === m - 1 && dt.getUTCDate() === d;
}

/** Parses `YYYYMMDD-<skill-key>-<case-slug>`; the date must exist and the key must be known. */
export function parseRunId(runId: string): ParsedRunId {
  assertSafeName('run id', runId);
  const m = RUN_ID_PATTERN.exec(runId);
  if (!m?.groups) {
    throw new InvalidRunIdError(runId, 'must match YYYYMMDD-<skill-key>-<case-slug>, e.g. 20261121-msowd-sample-run');
  }
  const { date, skillKey, caseSlug } = m.groups as { date: string; skillKey: string; caseSlug: string };
  if (!isRealDate(date)) throw new InvalidRunIdError(runId, `${date} is not a real date`);
  if (!(SKILL_KEYS as readonly string[]).includes(skillKey)) {
    throw new InvalidRunIdError(runId, `unknown skill key ${skillKey} (one of ${SKILL_KEYS.join(', ')})`);
  }
  return { runId, date, skillKey: skillKey as SkillKey, caseSlug };
}

/** Maps a skill key or full skill name (`mso-workflow-topology-design`) to its key, or throws. */
export function normalizeSkillKey(value: string): SkillKey {
  const key = SKILL_NAMES[value] ?? value;
  if (!(SKILL_KEYS as readonly string[]).includes(key)) {
    throw new InvalidArgumentError('skill key', `${JSON.stringify(value)} is not one of ${SKILL_KEYS.join(', ')}`);
  }
  return key as SkillKey;
}

/** Lowercase `[a-z0-9-]`, dashes collapsed and trimmed, at most 40 characters; empty when nothing is left. */
export function sanitizeCaseSlug(input: string): string {
  return input
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, MAX_SLUG)
    .replace(/-$/, '');
}

/**
 * A case slug for a goal. Korean words are romanized (`romanizeHangul`: 검색 API를 개선하고 → geomsaek-api-gaeseonhago),
 * like any other words. A goal with no letters left (emoji only, say) gets
 * `run-<8 hex of sha256(goal)>`, so two different goals never share a run id on the same day.
 */
export function slugFromGoal(goal: string): string {
  const slug = sanitizeCaseSlug(romanizeHangul(goal.slice(0, 400)));
  if (/[a-z]/.test(slug)) return slug;
  return `run-${createHash('sha256').update(goal, 'utf8').digest('hex').slice(0, 8)}`;
}

/** Checks a user-given case slug: refused if unsafe, sanitized otherwise. */
export function toCaseSlug(input: string): string {
  assertSafeName('case slug', input);
  const slug = sanitizeCaseSlug(input);
  if (slug === '') throw new InvalidArgumentError('case slug', `${JSON.stringify(input)} has no usable characters`);
  return slug;
}

/** `YYYYMMDD` of a date in UTC. */
export function utcDateStamp(at: Date): string {
  return at.toISOString().slice(0, 10).replaceAll('-', '');
}

/** Builds a run id from its parts (the slug is assumed sanitized). */
export function formatRunId(at: Date, skillKey: SkillKey, caseSlug: string): string {
  return `${utcDateStamp(at)}-${skillKey}-${caseSlug}`;
}

/** `<slug>-<tag>` (a replay's `-replay`), the slug cut so the whole stays within 40 characters. */
export function taggedCaseSlug(caseSlug: string, tag: string): string {
  return `${caseSlug.slice(0, MAX_SLUG - tag.length - 1).replace(/-$/, '')}-${tag}`;
}

/** The n-th alternative of a run id that was taken: `<id>-2`, `<id>-3`, ... keeping the slug within 40 chars. */
export function withSuffix(at: Date, skillKey: SkillKey, caseSlug: string, n: number): string {
  const suffix = `-${n}`;
  const base = caseSlug.slice(0, MAX_SLUG - suffix.length).replace(/-$/, '');
  return formatRunId(at, skillKey, `${base}${suffix}`);
}
