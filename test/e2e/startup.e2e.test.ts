import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MSO_BIN, REPO_ROOT, makeSandbox, type Sandbox } from '../helpers/cli.js';

// Start-up budget: the modules `mso` loads to answer, counted (not timed) by a loader hook. The pattern that keeps
// this small is described at the top of src/cli/main.ts. Raise a budget only with a reason in the commit message.
// 47 modules at the merge of the terminal commands (logs, results, the progress view); a few to spare, no more.
// status 301 → 306: the second-Ctrl-C handler needs the live agent groups at start (platform/light, live-groups).
// status 306 → 307: audit/audit-log.ts (570 lines) split into four modules by concern (the house limit is ~400 lines);
// two other new modules were folded into ones status loads anyway, so the split costs one module net.
// Since the CLI is bundled (scripts/bundle.mjs), a file of the bundle counts as the source modules it holds.
const BUDGET = { version: 50, help: 50, status: 307 } as const;
// The app's light entry (the redactor the CLI prints through) is allowed; the rest of app/ and engine/ are not.
const HEAVY =
  /node_modules\/(zod|yaml|better-sqlite3|kysely|ai|@ai-sdk|@modelcontextprotocol|hono|bullmq|ioredis)\/|\/dist\/engine\/|\/dist\/app\/(?!light\.js$|redaction\.js$|run-progress\.js$)/;

let sb: Sandbox;
beforeAll(async () => {
  sb = await makeSandbox('mso-startup-');
});
afterAll(async () => {
  await sb.cleanup();
});

/**
 * The URLs of the modules `mso args` loaded. A file of the bundled CLI (dist/bundle/, scripts/bundle.mjs) counts as
 * the source modules it holds (its modules.json): the budget is of code loaded, bundled or not.
 */
async function modulesLoadedBy(args: readonly string[]): Promise<string[]> {
  const files = await loadedFiles(args);
  const bundle = JSON.parse(await readFile(join(REPO_ROOT, 'dist', 'bundle', 'modules.json'), 'utf8')) as Record<
    string,
    string[]
  >;
  // The bin runs the bundle: a build that fell back to the unbundled CLI would make these counts meaningless.
  expect(files.some((u) => u.endsWith('/dist/bundle/main.js'))).toBe(true);
  return files.flatMap((u) => {
    const name = /\/dist\/bundle\/([^/]+\.js)$/.exec(u)?.[1];
    const held = name === undefined ? undefined : bundle[name];
    if (name !== undefined && held === undefined) throw new Error(`${u} is not in dist/bundle/modules.json`);
    return held ? held.map((m) => pathToFileURL(join(REPO_ROOT, m)).href) : [u];
  });
}

/** The URLs of the files `mso args` loaded. */
async function loadedFiles(args: readonly string[]): Promise<string[]> {
  const list = join(sb.dir, `modules-${args.join('-').replace(/[^a-z0-9-]/gi, '')}.txt`);
  const hook = join(REPO_ROOT, 'test/fixtures/count-modules.mjs');
  await new Promise<void>((done, fail) =>
    execFile(
      process.execPath,
      ['--import', hook, MSO_BIN, ...args],
      { cwd: sb.dir, env: { ...sb.env, MSO_MODULE_LIST: list } },
      (error, _stdout, stderr) => (error ? fail(new Error(`mso ${args.join(' ')}: ${stderr}`)) : done()),
    ),
  );
  return (await readFile(list, 'utf8')).split('\n').filter(Boolean);
}

describe('mso start-up', () => {
  it('answers --version and --help without the app, zod, yaml, SQLite or any SDK', async () => {
    for (const [args, budget] of [
      [['--version'], BUDGET.version],
      [['--help'], BUDGET.help],
    ] as const) {
      const loaded = await modulesLoadedBy(args);
      expect(
        loaded.filter((u) => HEAVY.test(u)),
        `mso ${args.join(' ')}`,
      ).toEqual([]);
      expect(loaded.length, `modules loaded by mso ${args.join(' ')}:\n${loaded.join('\n')}`).toBeLessThanOrEqual(
        budget,
      );
      // The hook sees the CLI itself: a count of zero would mean it counted nothing.
      expect(loaded.some((u) => u.endsWith('/dist/cli/main.js'))).toBe(true);
    }
  });

  it('reads a run for mso status without the scheduler, git, kysely or any SDK', async () => {
    await writeFile(
      join(sb.dir, 'two.yaml'),
      'name: two\ngoal: two steps\nnodes:\n  - { id: a, label: A, command: "echo a > a.txt" }\n  - { id: b, label: B, command: "echo b > b.txt" }\nedges:\n  - { from: a, to: b }\n',
    );
    const run = await sb.json<{ run_id: string; status: string }>(['run', '--workflow', join(sb.dir, 'two.yaml')]);
    expect(run.body.status, run.stderr).toBe('completed');
    const loaded = await modulesLoadedBy(['status', run.body.run_id]);
    const engine = loaded.filter((u) => u.includes('/dist/engine/')).map((u) => u.replace(/.*\/dist\//, ''));
    // branches.js: the branch names, pure functions with no imports (engine/read re-exports them; a re-export only,
    // the bundle holds no module for it).
    expect(engine.sort()).toEqual(['engine/branches.js', 'engine/run-state.js']);
    expect(
      loaded.filter((u) =>
        /node_modules\/(kysely|ai|@ai-sdk|@modelcontextprotocol)\/|\/dist\/(agents\/(?!light\.js$|cli-table\.js$)|design\/|mcp\/)/.test(
          u,
        ),
      ),
    ).toEqual([]);
    expect(loaded.length, loaded.join('\n')).toBeLessThanOrEqual(BUDGET.status);
  });
});

describe('zod at start-up', () => {
  it('takes the jitless setting the bin makes before it loads, and then compiles no parser', async () => {
    const out = await new Promise<string>((done, fail) =>
      execFile(process.execPath, [join(REPO_ROOT, 'test/fixtures/zod-config.mjs')], (error, stdout, stderr) =>
        error ? fail(new Error(stderr)) : done(stdout),
      ),
    );
    expect(JSON.parse(out)).toEqual({ jitless: true, compiled: 0 });
    expect(await readFile(MSO_BIN, 'utf8')).toContain('globalThis.__zod_globalConfig = {');
  });
});

describe('the default policy in the bundle', () => {
  it('is made when the CLI is built, and is the text the library makes', async () => {
    const chunks = await readdir(join(REPO_ROOT, 'dist', 'bundle'));
    const code = await Promise.all(
      chunks.filter((f) => f.endsWith('.js')).map((f) => readFile(join(REPO_ROOT, 'dist', 'bundle', f), 'utf8')),
    );
    // Replaced by the text at build time: a start never builds it.
    expect(code.some((c) => c.includes('__MSO_DEFAULT_POLICY_TEXT__'))).toBe(false);
    const { defaultPolicyText } = (await import(
      pathToFileURL(join(REPO_ROOT, 'dist', 'workspace', 'policy.js')).href
    )) as { defaultPolicyText: () => string };
    const ws = join(sb.dir, 'pol-ws');
    const r = await sb.run(['--workspace', ws, '--observation', join(sb.dir, 'pol-obs'), 'init']);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(join(ws, '.mso-context', 'config', 'policy.yaml'), 'utf8')).toBe(defaultPolicyText());
  });
});

// A run's fixed cost, counted (not timed): each SQLite connection parses the schema and prepares its statements again
// (about 2–3 ms on these machines, and the last writer's closing writes the WAL back). A one-node run opens: one log
// from the design (which checks the log takes writes) through the governance gate and the coordinator to the
// observation, the summary's reader, and the observation's query-only reader. Raise it only with a reason in the
// commit message.
const AUDIT_OPENS = 3;
// Each write of the run's manifest is a locked, synced rewrite. A one-node run writes it when it is made, at the end of
// each of its design's three phases (not also at their start), for the gate's phase, when it goes active, when its
// tickets' phase starts, at its end, and for the observation's phase.
const MANIFEST_WRITES = 9;
// A small file read through the thread pool is four round trips (open, stat, read, close): the run's manifest, its
// tickets, its locks' owners and its design artifacts are read on the calling thread (smallFsOf); what is left is
// read once or twice (the policy, the workflow, the anchors, the observation's own files).
const THREAD_POOL_READS = 24;

describe("a run's fixed cost", () => {
  it(`opens the audit database at most ${AUDIT_OPENS} times and writes its manifest at most ${MANIFEST_WRITES} times in a one-node run`, async () => {
    await writeFile(
      join(sb.dir, 'one.yaml'),
      'name: one\ngoal: one step\nnodes:\n  - { id: a, label: A, command: "echo a > a.txt" }\n',
    );
    const list = join(sb.dir, 'sqlite-opens.json');
    const hook = join(REPO_ROOT, 'test/fixtures/count-sqlite-opens.mjs');
    const fsCounts = join(sb.dir, 'fs-counts.json');
    const fsHook = join(REPO_ROOT, 'test/fixtures/count-fs.mjs');
    const run = await sb.json<{ status: string }>(['run', '--workflow', join(sb.dir, 'one.yaml')], {
      env: { NODE_OPTIONS: `--import ${hook} --import ${fsHook}`, MSO_SQLITE_OPENS: list, MSO_FS_COUNTS: fsCounts },
    });
    expect(run.body.status, run.stderr).toBe('completed');
    const counted = JSON.parse(await readFile(fsCounts, 'utf8')) as Record<string, number>;
    // The hook saw the run's writes (the plan's, once in the run and once in the observation space).
    expect(counted['execution_plan.json']).toBe(2);
    expect(counted['manifest.json']).toBeLessThanOrEqual(MANIFEST_WRITES);
    const reads = Object.entries(counted).filter(([k]) => k.startsWith('read:'));
    expect(reads.length, 'the hook counts reads').toBeGreaterThan(0);
    expect(
      reads.map(([, n]) => n).reduce((a, b) => a + b, 0),
      JSON.stringify(reads),
    ).toBeLessThanOrEqual(THREAD_POOL_READS);
    expect(reads.filter(([k]) => /TKT-|\.lock$/.test(k))).toEqual([]);
    const { opened } = JSON.parse(await readFile(list, 'utf8')) as { opened: string[] };
    // The hook saw the run's connections: none would mean it counted nothing.
    expect(opened.length).toBeGreaterThan(0);
    expect(
      opened.every((f) => f.endsWith('audit.db')),
      opened.join('\n'),
    ).toBe(true);
    expect(opened.length, opened.join('\n')).toBeLessThanOrEqual(AUDIT_OPENS);
    // mso status reads the summary and the node table through one connection.
    const runId = (run.body as unknown as { run_id: string }).run_id;
    const st = await sb.run(['status', runId], { env: { NODE_OPTIONS: `--import ${hook}`, MSO_SQLITE_OPENS: list } });
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout).toMatch(/^a\s+done\s+shell\s+1\s/m);
    expect((JSON.parse(await readFile(list, 'utf8')) as { opened: string[] }).opened).toHaveLength(1);
  });
});

describe("a new workspace's audit database", () => {
  it('is a copy of the one the build made, not migrated anew, and reports and dates its migrations as made now', async () => {
    const ws = join(sb.dir, 'seed-ws');
    const list = join(sb.dir, 'seed-ddl.json');
    const hook = join(REPO_ROOT, 'test/fixtures/count-sqlite-opens.mjs');
    const since = new Date().toISOString();
    const r = await sb.run(['--workspace', ws, '--observation', join(sb.dir, 'seed-obs'), 'audit', 'init'], {
      env: { NODE_OPTIONS: `--import ${hook}`, MSO_SQLITE_OPENS: list },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/schema=[\d.]+ \(\d+ migrations applied\)/);
    const { opened, ddl } = JSON.parse(await readFile(list, 'utf8')) as { opened: string[]; ddl: number };
    expect(opened.length).toBeGreaterThan(0);
    expect(ddl).toBe(0);
    // The same schema as a migration of an empty file makes (the library's, which has no copy to start from).
    const file = join(ws, '.mso-context', 'audit.db');
    const made = join(sb.dir, 'migrated.db');
    const { openAuditLog } = (await import(pathToFileURL(join(REPO_ROOT, 'dist', 'audit', 'index.js')).href)) as {
      openAuditLog: (d: unknown, o: unknown) => { close(): void };
    };
    const { nodePlatform } = (await import(pathToFileURL(join(REPO_ROOT, 'dist', 'platform', 'index.js')).href)) as {
      nodePlatform: () => Record<string, unknown>;
    };
    openAuditLog({ ...nodePlatform(), seedSqlite: undefined }, { file: made, blobsDir: join(sb.dir, 'b') }).close();
    const look = (f: string) => {
      const db = new Database(f, { readonly: true });
      try {
        return {
          schema: db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all(),
          journal: db.pragma('journal_mode', { simple: true }),
          dates: db.prepare('SELECT applied_at AS at FROM _mso_migrations').all() as Array<{ at: string }>,
        };
      } finally {
        db.close();
      }
    };
    const seeded = look(file);
    expect(seeded.schema).toEqual(look(made).schema);
    // The count is of real work: where no copy may go (a log is there already), the same command runs the DDL.
    const ws2 = join(sb.dir, 'seed-ws2');
    await mkdir(join(ws2, '.mso-context'), { recursive: true });
    await writeFile(join(ws2, '.mso-context', 'audit.db-wal'), '');
    const r2 = await sb.run(['--workspace', ws2, '--observation', join(sb.dir, 'seed-obs2'), 'audit', 'init'], {
      env: { NODE_OPTIONS: `--import ${hook}`, MSO_SQLITE_OPENS: list },
    });
    expect(r2.code, r2.stderr).toBe(0);
    expect((JSON.parse(await readFile(list, 'utf8')) as { ddl: number }).ddl).toBeGreaterThan(50);
    expect(seeded.journal).toBe('wal');
    expect(seeded.dates.length).toBeGreaterThan(0);
    for (const d of seeded.dates) expect(d.at >= since).toBe(true);
  });

  it('is made once when several processes start in a new workspace at the same moment', async () => {
    const ws = join(sb.dir, 'race-ws');
    const runs = await Promise.all(
      Array.from({ length: 5 }, () =>
        sb.run(['--workspace', ws, '--observation', join(sb.dir, 'race-obs'), 'audit', 'init']),
      ),
    );
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    // One of them made it; the others found it made.
    expect(runs.filter((r) => r.stdout.includes('migrations applied')).length).toBe(1);
    const left = await readdir(join(ws, '.mso-context'));
    expect(left.filter((f) => f.includes('.seed-'))).toEqual([]);
  });
});
