import { describe, expect, it } from 'vitest';
import {
  formatRunId,
  parseRunId,
  sanitizeCaseSlug,
  slugFromGoal,
  taggedCaseSlug,
  toCaseSlug,
  withSuffix,
} from './run-id.js';

describe('parseRunId', () => {
  it('accepts a run id with a real date and a known skill key', () => {
    expect(parseRunId('20261121-msowd-sample-run')).toEqual({
      runId: '20261121-msowd-sample-run',
      date: '20261121',
      skillKey: 'msowd',
      caseSlug: 'sample-run',
    });
  });
  it.each([
    ['99999999-msowd-x', 'MSO_INVALID_RUN_ID'],
    ['20260230-msowd-x', 'MSO_INVALID_RUN_ID'],
    ['20261121-nokey-x', 'MSO_INVALID_RUN_ID'],
    ['20261121-msowd-', 'MSO_INVALID_RUN_ID'],
    ['20261121-msowd-UPPER', 'MSO_INVALID_RUN_ID'],
    ['../20261121-msowd-x', 'MSO_UNSAFE_PATH'],
    ['20261121-msowd-a/b', 'MSO_UNSAFE_PATH'],
    ['20261121-msowd-a\0b', 'MSO_UNSAFE_PATH'],
  ])('refuses %j with %s', (id, code) => {
    expect(() => parseRunId(id)).toThrow(expect.objectContaining({ code }));
  });
});

describe('case slugs', () => {
  it('sanitizes to lowercase [a-z0-9-] with collapsed dashes', () => {
    expect(sanitizeCaseSlug('Hello  World__x')).toBe('hello-world-x');
  });
  it('caps slugs at 40 characters without a trailing dash', () => {
    const slug = sanitizeCaseSlug('a'.repeat(39) + ' bcd');
    expect(slug.length).toBeLessThanOrEqual(40);
    expect(slug.endsWith('-')).toBe(false);
  });
  it('romanizes Korean goals (particles dropped) and hashes goals with no letters at all', () => {
    expect(slugFromGoal('검색 API를 개선하고, 동시에 모바일 앱의 검색 화면을 다시 만든 다음, 두 결과를 함께 검증하라')).toBe(
      'geomsaek-api-gaeseonhago-dongsi-mobail-a',
    );
    expect(slugFromGoal('사용자 온보딩 프로세스 설계')).toBe('sayongja-onboding-peuroseseu-seolgye');
    expect(slugFromGoal('결제 흐름 개선')).toBe('gyeolje-heureum-gaeseon');
    const a = slugFromGoal('🚀🔥');
    expect(a).toMatch(/^run-[0-9a-f]{8}$/);
    expect(slugFromGoal('🎉🎉')).not.toBe(a);
    expect(slugFromGoal('🚀🔥')).toBe(a);
  });
  it('refuses a user slug that could escape', () => {
    expect(() => toCaseSlug('../etc')).toThrow(expect.objectContaining({ code: 'MSO_UNSAFE_PATH' }));
  });
  it('suffixes taken ids within the 40-character slug limit', () => {
    const at = new Date('2026-11-21T10:00:00Z');
    expect(formatRunId(at, 'msowd', 'x')).toBe('20261121-msowd-x');
    const long = withSuffix(at, 'msowd', 'a'.repeat(40), 12);
    expect(parseRunId(long).caseSlug).toBe(`${'a'.repeat(37)}-12`);
  });
  it('tags a slug (a replay, a rerun) within the limit, whatever the slug it starts from', () => {
    const at = new Date('2026-11-21T10:00:00Z');
    const full = slugFromGoal('Compare PostgreSQL, SQLite and DuckDB for the analytics store and recommend one');
    expect(full).toHaveLength(40);
    const tagged = taggedCaseSlug(full, 'replay');
    expect(tagged).toBe('compare-postgresql-sqlite-and-duc-replay');
    expect(tagged).toHaveLength(40);
    expect(parseRunId(formatRunId(at, 'msowd', tagged)).caseSlug).toBe(tagged);
    // Cut before a dash: no double dash.
    expect(taggedCaseSlug('ab-cd-ef', 'rerun')).toBe('ab-cd-ef-rerun');
    expect(taggedCaseSlug(`${'a'.repeat(33)}-bcdefg`, 'rerun')).toBe(`${'a'.repeat(33)}-rerun`);
  });
});
