import { describe, expect, it } from 'vitest';
import { bindPgParams, compilePgSql } from './pg-sql.js';

describe('compilePgSql', () => {
  it('numbers ? parameters in order and leaves quoted text and comments alone', () => {
    const c = compilePgSql('SELECT \'?\', "a?" FROM t -- why?\nWHERE x = ? AND y > ?');
    expect(c.text).toBe('SELECT \'?\', "a?" FROM t -- why?\nWHERE x = $1 AND y > $2');
    expect(c.names).toBeNull();
    expect(c.reader).toBe(true);
  });
  it('binds @name parameters by name, a name used twice once', () => {
    const c = compilePgSql('INSERT INTO runs (run_id, created_at, updated_at) VALUES (@run_id, @at, @at)');
    expect(c.text).toBe('INSERT INTO runs (run_id, created_at, updated_at) VALUES ($1, $2, $2)');
    expect(bindPgParams(c, [{ at: 'now', run_id: 'r', unused: 1 }])).toEqual(['r', 'now']);
  });
  it('adds RETURNING for a generated key, so lastInsertRowid can be reported', () => {
    expect(compilePgSql('INSERT INTO events (event_key) VALUES (?) ON CONFLICT(event_key) DO NOTHING')).toMatchObject({
      text: 'INSERT INTO events (event_key) VALUES ($1) ON CONFLICT(event_key) DO NOTHING RETURNING seq',
      returning: 'seq',
      reader: false,
    });
    expect(compilePgSql('INSERT INTO runs (run_id) VALUES (?)').returning).toBeNull();
  });
  it.each([
    [
      'INSERT OR IGNORE INTO decision_tags (a, b) VALUES (?, ?)',
      'INSERT INTO decision_tags (a, b) VALUES ($1, $2) ON CONFLICT DO NOTHING',
    ],
    [
      "SELECT json_extract(payload, '$.state') AS s FROM events",
      "SELECT (payload::jsonb ->> 'state') AS s FROM events",
    ],
    [
      'UPDATE runs SET metadata = json_patch(runs.metadata, excluded.metadata)',
      "UPDATE runs SET metadata = (COALESCE(runs.metadata, '{}')::jsonb || excluded.metadata::jsonb)::text",
    ],
    ['SELECT group_concat(id) AS ids FROM t', "SELECT string_agg((id)::text, ',') AS ids FROM t"],
  ])('rewrites the SQLite spelling %s', (sqlite, pg) => {
    expect(compilePgSql(sqlite).text).toBe(pg);
  });
  it('turns booleans and undefined into what PostgreSQL takes for the integer and null columns', () => {
    expect(bindPgParams(compilePgSql('SELECT ?, ?, ?'), [true, undefined, 'x'])).toEqual([1, null, 'x']);
  });
});
