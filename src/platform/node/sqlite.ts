import Database from 'better-sqlite3';
import type { OpenSqlite, SqliteDb } from '../ports.js';

/** Opens an SQLite file through better-sqlite3 (N-API prebuilds, no compile step). */
export const openSqlite: OpenSqlite = (file, options = {}) => {
  const db = new Database(file, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
  return db as unknown as SqliteDb;
};
