import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { CLI_TABLES, type CliKind } from '../../src/agents/index.js';
import { adapter, tempRepo, testAdapterDeps } from './agents.js';
import { makeSandbox, type Sandbox } from './cli.js';
import { RETRY_AFTER_S, startProviderStub, type ProviderStub, type StubCase } from './provider-stub.js';
import { cliEnv, CODEX_STUB_MODEL, REAL_CLI, SECRETS } from './real-clis.js';

/** Inactivity ("no progress") deadline of the interop runs: small, so a hang ends in seconds. */
export const NO_PROGRESS_MS = 8_000;

/** What one provider answer must become, per CLI (the CLIs differ: each row says how and why). */
export interface Expectation {
  /** One status, or the ones a race between the CLI giving up and our deadline may give (each is right). */
  readonly status: string | readonly string[];
  readonly errorClass: string | null;
  /** Whether the failure counts against the provider's breaker (ill-health), or not (configuration, success). */
  readonly breakerFailure: boolean;
  /** A wait carried from the provider (Retry-After), in ms: at least this much. */
  readonly retryAfterAtLeastMs?: number;
  /** The failure was seen in the stream and ended the call at once, not at a deadline. */
  readonly endedByStream?: boolean;
  /** Ended by our no-progress deadline (the 30-minute cap is far away). */
  readonly endedByNoProgress?: boolean;
}

interface TryBody {
  result: {
    status: string;
    model: string | null;
    errorClass: string | null;
    errorMessage: string | null;
    retryAfterMs: number | null;
    evidence: { startedAt: string; endedAt: string; envNames?: string[]; mode?: string };
  };
  trail: Array<{ problem?: string }>;
}

/** Every file under `dir` (blobs are sharded in sub-folders). */
async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

/**
 * The interop suite for one real CLI: `mso agents try` (the built CLI, a real workspace, audit DB and blobs) drives
 * the real agent CLI against a loopback stub of its provider, once per provider behaviour, and checks the outcome
 * class, how the call ended, the breaker, the recorded model, and that the planted key reaches no sink.
 */
export function interopSuite(kind: CliKind, cases: Readonly<Partial<Record<StubCase, Expectation>>>): void {
  const secret = SECRETS[kind];
  describe.concurrent(`${kind} ${REAL_CLI[kind].version} (real CLI) against a stub of its provider`, () => {
    const open: Array<{ stub: ProviderStub; sb: Sandbox }> = [];
    beforeAll(() => {
      if (!existsSync(REAL_CLI[kind].bin)) throw new Error(`${REAL_CLI[kind].bin} missing: run npm ci`);
    });
    afterAll(async () => {
      for (const o of open) {
        await o.stub.close();
        await o.sb.cleanup();
      }
    });

    for (const [c, want] of Object.entries(cases) as Array<[StubCase, Expectation]>) {
      it(`${c}: ${String(want.status)}${want.errorClass ? `/${want.errorClass}` : ''}`, async () => {
        const stub = await startProviderStub(REAL_CLI[kind].protocol, c);
        const sb = await makeSandbox(`mso-interop-${kind}-${c}-`);
        open.push({ stub, sb });
        const repo = join(sb.dir, 'repo');
        await mkdir(repo);
        execFileSync('git', ['init', '-q'], { cwd: repo });
        const config = join(sb.dir, 'workspace', '.mso-context', 'config');
        await mkdir(config, { recursive: true });
        await writeFile(
          join(config, 'policy.yaml'),
          [
            'agents:',
            `  real:`,
            `    kind: ${kind}`,
            `    command: ${REAL_CLI[kind].bin}`,
            'resilience:',
            '  retry:',
            '    max_retries: 0',
            '  deadlines:',
            '    first_output_ms: 90000',
            `    inactivity_ms: ${NO_PROGRESS_MS}`,
            '    total_ms: 1800000',
            '  kill_grace_ms: 2000',
            '  linger_grace_ms: 2000',
            '',
          ].join('\n'),
        );
        // The CLI's home (config, login) and its key come from mso's own environment, passed on by the CLI's table.
        const env = await cliEnv(kind, stub);
        const run = await sb.run(['--json', 'agents', 'try', 'real', '--prompt', 'say hello', '--cwd', repo], { env });
        let body: TryBody;
        try {
          body = JSON.parse(run.stdout) as TryBody;
        } catch {
          throw new Error(`not JSON (exit ${run.code}): ${run.stdout}\n${run.stderr}`);
        }
        const r = body.result;
        const statuses = typeof want.status === 'string' ? [want.status] : want.status;
        expect(statuses, `status ${r.status}: ${r.errorMessage ?? ''}`).toContain(r.status);
        expect(r.errorClass, r.errorMessage ?? '').toBe(want.errorClass);

        // How it ended: at once from the stream, or at the no-progress deadline (never the 30-minute cap).
        if (want.endedByStream) {
          expect(stub.modelRequests().length, 'the CLI called the provider').toBeGreaterThan(0);
          // Ended by what the stream said, not by the CLI's own retry schedule (Claude retries a bad key 10 times
          // over minutes) nor by our no-progress deadline: counted, not timed.
          expect(stub.modelRequests().length).toBeLessThan(10);
          expect(r.errorMessage ?? '').not.toMatch(/no progress|inactivity deadline/);
        }
        if (want.endedByNoProgress) expect(r.errorMessage).toMatch(/no progress|inactivity deadline/);
        if (want.retryAfterAtLeastMs !== undefined)
          expect(r.retryAfterMs ?? 0).toBeGreaterThanOrEqual(want.retryAfterAtLeastMs);
        if (want.errorClass === 'auth' || want.errorClass === 'permission') {
          expect(r.errorMessage).toMatch(/^configuration problem/);
          expect(body.trail.at(-1)?.problem).toBe('configuration');
        }

        // The breaker counts ill-health only (read from the workspace's audit DB).
        const db = new Database(join(sb.env['MSO_WORKSPACE_ROOT'] ?? '', '.mso-context', 'audit.db'), {
          readonly: true,
        });
        const row = db
          .prepare('SELECT failures FROM breaker_state WHERE breaker LIKE ?')
          .get(`${CLI_TABLES[kind].provider}/%`) as { failures: number } | undefined;
        db.close();
        expect(row?.failures ?? 0, 'breaker failures').toBe(want.breakerFailure ? 1 : 0);

        // The model recorded is the one the CLI itself reports (for Codex: the one its config selects).
        if (want.status === 'success') {
          const asked = stub.modelRequests().map((q) => q.model);
          expect(r.model).not.toBe('auto');
          if (kind === 'codex') expect(r.model).toBe(CODEX_STUB_MODEL);
          else expect(asked).toContain(r.model);
        }

        // The key's NAME is recorded with the call; its VALUE reaches no sink.
        expect(r.evidence.envNames).toContain(secret.name);
        const ws = sb.env['MSO_WORKSPACE_ROOT'] ?? '';
        const sinks = await filesUnder(join(ws, '.mso-context'));
        expect(sinks.some((f) => f.endsWith('audit.db'))).toBe(true);
        for (const f of sinks) expect((await readFile(f)).includes(secret.value), f).toBe(false);
        expect(run.stdout.includes(secret.value)).toBe(false);
        expect(run.stderr.includes(secret.value)).toBe(false);
        expect(stub.modelRequests().length, 'the real CLI called the stub').toBeGreaterThan(0);
      });
    }
  });
}

export { RETRY_AFTER_S };

/**
 * A read-only node of the real CLI cannot write: the stub answers with a tool call that writes a file in the
 * worktree, and the file must be absent afterwards (and listed by git when the node may edit, so the test can fail).
 */
export function readOnlySuite(
  kind: CliKind,
  modes: readonly ('read-only' | 'edit' | 'full')[],
  extraEnv: Readonly<Record<string, string>> = {},
): void {
  describe.concurrent(`${kind} ${REAL_CLI[kind].version} (real CLI): permission modes hold`, () => {
    for (const mode of modes) {
      it(`${mode}: the stub's write tool call ${mode === 'read-only' ? 'is refused' : 'writes the file'}`, async () => {
        const stub = await startProviderStub(REAL_CLI[kind].protocol, 'write');
        const repo = await tempRepo();
        try {
          const target = join(repo.dir, 'written.txt');
          stub.setCase('write', target);
          const deps = testAdapterDeps(
            {
              defaults: {
                deadlines: { firstOutputMs: 90_000, inactivityMs: 30_000, totalMs: 120_000 },
                lingerGraceMs: 2_000,
                killGraceMs: 2_000,
              },
            },
            { ...(await cliEnv(kind, stub)), ...extraEnv },
          );
          const r = await adapter(deps, 'real', { kind, command: REAL_CLI[kind].bin }).run({
            runId: 'r',
            instructions: 'write the file',
            cwd: repo.dir,
            permissionMode: mode,
          });
          expect(r.status, r.errorMessage ?? '').toBe('success');
          expect(r.evidence.mode).toBe(mode);
          // The CLI really asked twice: the tool call, then the answer after the tool's result.
          expect(stub.modelRequests().length).toBeGreaterThanOrEqual(2);
          if (mode === 'read-only') {
            expect(existsSync(target)).toBe(false);
            expect(r.changedFiles).toEqual([]);
          } else {
            expect(existsSync(target)).toBe(true);
            expect(r.changedFiles).toEqual(['written.txt']);
          }
        } finally {
          await stub.close();
          await repo.cleanup();
        }
      });
    }
  });
}
