import { randomBytes } from 'node:crypto';
import { openPostgres } from '../../src/platform/node/postgres.js';

/** The PostgreSQL the store tests use (CI's `.ci/run` sets it; the development machines run one). */
export const PG_URL = process.env['MSO_TEST_PG_URL'] ?? 'postgres://root@127.0.0.1:5432/test';

let reachable: string | null | undefined;

/**
 * Null when PostgreSQL answers at MSO_TEST_PG_URL, else why not: the variable is unset (a laptop), or the server does
 * not answer. The reason is printed once per file, and the PostgreSQL half of the tests is skipped.
 */
export function pgUnavailable(): string | null {
  if (reachable !== undefined) return reachable;
  if (!process.env['MSO_TEST_PG_URL']) {
    reachable = 'MSO_TEST_PG_URL is unset: the PostgreSQL audit store tests are skipped (.ci/run sets it)';
    console.warn(reachable);
    return reachable;
  }
  try {
    openPostgres(PG_URL).close();
    reachable = null;
  } catch (e) {
    reachable = `PostgreSQL at ${PG_URL} is unreachable (${(e as Error).message}): its store tests are skipped`;
    console.warn(reachable);
  }
  return reachable;
}

/** A fresh schema for one test (file): its URL (`?schema=`) and how to drop it afterwards. */
export function pgSchema(prefix = 'mso_t'): { url: string; schema: string; drop(): void } {
  const schema = `${prefix}_${randomBytes(5).toString('hex')}`;
  const u = new URL(PG_URL);
  u.searchParams.set('schema', schema);
  return {
    url: u.toString(),
    schema,
    drop() {
      const db = openPostgres(PG_URL);
      try {
        db.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        db.close();
      }
    },
  };
}

/** The stores a suite runs against: always SQLite, and PostgreSQL when it is reachable. */
export function auditStores(): Array<'sqlite' | 'postgres'> {
  return pgUnavailable() === null ? ['sqlite', 'postgres'] : ['sqlite'];
}
