import Database from 'better-sqlite3';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqlite, seedSqlite } from './sqlite.js';

let dir: string;
let seed: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mso-sqlite-seed-'));
  seed = join(dir, 'seed.db');
  const db = new Database(seed);
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (x TEXT)');
  db.close();
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('seedSqlite', () => {
  it('puts a copy of the seed where there is no database yet, once, and leaves no copy of its own behind', () => {
    const file = join(dir, 'audit.db');
    expect(seedSqlite(file, seed)).toBe(true);
    expect(readFileSync(file)).toEqual(readFileSync(seed));
    const db = openSqlite(file);
    db.prepare('INSERT INTO t (x) VALUES (?)').run('kept');
    db.close();
    // A second opener finds it made, and it keeps what was written.
    expect(seedSqlite(file, seed)).toBe(false);
    const again = openSqlite(file, { readonly: true });
    expect(again.prepare('SELECT x FROM t').all()).toEqual([{ x: 'kept' }]);
    again.close();
    expect(readdirSync(dir).filter((f) => f.includes('.seed-'))).toEqual([]);
  });

  it('leaves a file that exists, or a write-ahead log without its database, alone', () => {
    const file = join(dir, 'other.db');
    writeFileSync(file, 'not a database');
    expect(seedSqlite(file, seed)).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe('not a database');
    const orphan = join(dir, 'orphan.db');
    writeFileSync(`${orphan}-wal`, '');
    expect(seedSqlite(orphan, seed)).toBe(false);
    expect(existsSync(orphan)).toBe(false);
  });

  it('does nothing without a seed, or where the folder is missing', () => {
    expect(seedSqlite(join(dir, 'a.db'), join(dir, 'none.db'))).toBe(false);
    expect(existsSync(join(dir, 'a.db'))).toBe(false);
    expect(seedSqlite(join(dir, 'missing', 'a.db'), seed)).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['seed.db']);
  });
});
