import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = import.meta.dirname;

describe('public surfaces', () => {
  it('keeps contracts/ free of node: imports (it must load anywhere)', async () => {
    const files = (await readdir(join(SRC, 'contracts'))).filter((f) => f.endsWith('.ts'));
    for (const f of files) {
      const text = await readFile(join(SRC, 'contracts', f), 'utf8');
      expect(text, f).not.toMatch(/from ['"]node:/);
    }
  });
  // Second entries that load less than their domain's index.ts, for start-up (see the top of src/cli/main.ts).
  const LIGHT_ENTRIES = new Set([
    'contracts/light.js',
    'engine/read.js',
    'audit/light.js',
    'app/light.js',
    'agents/light.js',
    // Loaded by `mso audit migrate` only.
    'audit/copy.js',
    'platform/light.js',
  ]);
  it('imports other domains only through their index.ts', async () => {
    const entries = await readdir(SRC, { recursive: true, withFileTypes: true });
    const offenders: string[] = [];
    for (const e of entries) {
      if (!e.isFile() || !e.name.endsWith('.ts') || e.name.endsWith('.test.ts')) continue;
      const file = join(e.parentPath, e.name);
      const domain = file.slice(SRC.length + 1).split('/')[0];
      for (const m of (await readFile(file, 'utf8')).matchAll(/from '(\.\.\/[^']+)'/g)) {
        const spec = m[1] ?? '';
        const target = join(e.parentPath, spec).slice(SRC.length + 1);
        const targetDomain = target.split('/')[0];
        if (
          targetDomain !== domain &&
          !/^[a-z-]+\/index\.js$/.test(target) &&
          !LIGHT_ENTRIES.has(target) &&
          !target.startsWith('platform/testing/')
        )
          offenders.push(`${file}: ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });
  it('exports a stable set of names from the package root', async () => {
    const root = await import('./index.js');
    expect(Object.keys(root).sort()).toMatchSnapshot();
  });
});
