// Bundles the compiled CLI (dist/cli/main.js, from tsc) with the libraries every command loads (zod, yaml, commander)
// into dist/bundle/: a few files in place of ~400 modules, which Node otherwise resolves, reads and links one by one at
// every start (npm run bench:startup). Lazy imports stay lazy: each becomes a chunk of its own. dist/bundle/ is one
// folder deep in dist/ as dist/cli/ is, so the paths the code finds relative to itself (package.json, bin/, web/)
// hold. modules.json lists the source modules in each file, for the start-up test, which counts modules.
// The library entry (dist/index.js) and the other modules stay as tsc wrote them.
import { rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { rolldown } from 'rolldown';

const root = join(import.meta.dirname, '..');
const out = join(root, 'dist', 'bundle');
/** Packages bundled in: every command needs them. The rest load from node_modules when a command needs them. */
const INLINE = ['zod', 'yaml', 'commander'];
const inline = (id) => INLINE.some((p) => id === p || id.startsWith(`${p}/`));

await rm(out, { recursive: true, force: true }); // chunk names carry a hash: none of an older build is left
// The default policy.yaml text, made here once rather than at every start (src/workspace/policy.ts).
const { defaultPolicyText } = await import(join(root, 'dist', 'workspace', 'policy.js'));
const build = await rolldown({
  input: { main: join(root, 'dist', 'cli', 'main.js') },
  platform: 'node',
  external: (id) => !id.startsWith('.') && !id.startsWith('/') && !inline(id),
  transform: { define: { __MSO_DEFAULT_POLICY_TEXT__: JSON.stringify(defaultPolicyText()) } },
  logLevel: 'warn',
});
const { output } = await build.write({
  dir: out,
  format: 'esm',
  entryFileNames: '[name].js',
  chunkFileNames: '[name]-[hash].js',
  sourcemap: false,
});
await build.close();
const modules = Object.fromEntries(
  output
    .filter((o) => o.type === 'chunk')
    .map((c) => [c.fileName, c.moduleIds.filter((m) => !m.startsWith('\0')).map((m) => relative(root, m))]),
);
await writeFile(join(out, 'modules.json'), `${JSON.stringify(modules, null, 1)}\n`);

// The empty audit database a new workspace starts from (platform/node/sqlite.ts, seedSqlite): migrating a new file is
// ~20 ms of DDL at a workspace's first command, a copy ~1 ms. Made by the same migrations, in WAL mode as every audit
// database is, and marked: the first migrate of a copy dates its migrations and removes the mark (audit/migrate.ts).
const Database = (await import('better-sqlite3')).default;
const { migrate, SEED_MARKER } = await import(join(root, 'dist', 'audit', 'migrate.js'));
const seed = new Database(join(out, 'audit-template.db'));
seed.pragma('journal_mode = WAL');
migrate(seed, new Date(0).toISOString());
seed.prepare('INSERT INTO _skill_meta (k, v) VALUES (?, ?)').run(SEED_MARKER, '1');
seed.close();
