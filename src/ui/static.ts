import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** A built file of the browser app, held in memory. */
export interface WebAsset {
  readonly type: string;
  readonly body: Uint8Array;
}

/**
 * The browser app's files by URL path (`/`, `/assets/x.js`), read once at start. Requests are looked up in this
 * map only, so no part of a URL ever becomes a file path.
 */
export function loadWebAssets(root: string): Map<string, WebAsset> {
  const out = new Map<string, WebAsset>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const file = join(dir, name);
      if (statSync(file).isDirectory()) walk(file);
      else {
        const url = `/${relative(root, file).split(sep).join('/')}`;
        out.set(url, { type: TYPES[extname(name)] ?? 'application/octet-stream', body: readFileSync(file) });
      }
    }
  };
  walk(root);
  const index = out.get('/index.html');
  if (index) out.set('/', index);
  return out;
}

/** Where the built browser app is: `dist/web` beside the compiled server (or the built one when run from src/ or bench). */
export function defaultWebRoot(): string | null {
  const here = import.meta.dirname;
  for (const dir of [
    join(here, '..', 'web'),
    join(here, '..', '..', 'dist', 'web'),
    join(here, '..', '..', '..', 'dist', 'web'),
  ])
    if (existsSync(join(dir, 'index.html'))) return dir;
  return null;
}
