import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { ScriptRequest, ScriptResult } from '../ports.js';

/**
 * The server: reads request numbers, one per line, and runs each request's script in a subshell in the background
 * (so requests run side by side), its output to files, then prints `<number> <exit status>`. One line is one write
 * of a few bytes, so lines from requests ending together never interleave. dash reaps a finished subshell when it
 * forks the next one.
 */
const SERVER = `d=$1
while IFS= read -r k; do
  { ( . "$d/$k.sh" ) >"$d/$k.out" 2>"$d/$k.err" </dev/null; echo "$k $?"; } &
done
`;

const shQuote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

type Server = ChildProcessByStdio<Writable, Readable, null>;

/**
 * Runs short shell scripts (git commands) through one long-lived `/bin/sh`, so the large coordinator process does not
 * pay a fork per command: a fork's cost grows with the forking process's memory, 9–10 ms from mso against 4–5 ms from
 * a small shell on these machines, and a node makes two or three such calls. Each request gets exactly its own
 * environment and folder; its output comes back through files in a private folder (0700, files 0600), and its exit
 * status as from `sh -c`. A finished request's files are emptied once read and taken over by the next request, not
 * made anew: a new file costs a new inode, several times the cost of rewriting an existing one on these machines'
 * disks. Output past `maxOutput` bytes is an overflow, never read in (the script stops its own commands early where
 * it can: see `ulimit -f` in engine/git.ts). Returns null when the request cannot go through the server (an
 * environment name the shell cannot export, no room for the request, no shell could be started); the caller then
 * spawns the process itself.
 */
export function createScriptServer(): {
  run(req: ScriptRequest): Promise<ScriptResult | null>;
  /** The server's pid while it runs. */
  pid(): number | undefined;
  /** Resolves once the files of every finished request are emptied and free again. */
  settled(): Promise<void>;
} {
  let server: Server | undefined;
  let broken = false;
  let dir: string | undefined;
  let seq = 0;
  /** Slots whose files a finished request left empty, to be taken over by the next one. */
  const free: string[] = [];
  /** Finished requests whose files are being emptied (each leaves the set when done). */
  const emptying = new Set<Promise<void>>();
  const pending = new Map<string, (code: number | null) => void>();

  const handles = (s: Server): Array<{ ref(): void; unref(): void }> =>
    [s, s.stdin, s.stdout].map((h) => h as unknown as { ref(): void; unref(): void });
  const hold = (s: Server, on: boolean): void => {
    for (const h of handles(s))
      if (on) h.ref();
      else h.unref();
  };

  const start = (): Server | undefined => {
    if (server || broken) return server;
    try {
      if (!dir) {
        const made = mkdtempSync(join(tmpdir(), 'mso-git-'));
        process.once('exit', () => rmSync(made, { recursive: true, force: true }));
        dir = made;
      }
      const folder = dir;
      // No environment of its own: each request exports exactly the variables it is given.
      const s = spawn('/bin/sh', ['-c', SERVER, 'mso-git', folder], { stdio: ['pipe', 'pipe', 'ignore'], env: {} });
      s.on('error', () => {
        broken = true;
      });
      s.stdin.on('error', () => undefined);
      s.on('exit', () => {
        if (server === s) server = undefined;
        // Requests it held are lost: each ends as a failure naming why.
        for (const [k, resolve] of pending) {
          pending.delete(k);
          resolve(null);
        }
      });
      let partial = '';
      s.stdout.setEncoding('utf8').on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          const [k = '', code = ''] = line.split(' ');
          const resolve = pending.get(k);
          if (!resolve) continue;
          pending.delete(k);
          resolve(Number(code));
        }
        if (pending.size === 0) hold(s, false);
      });
      hold(s, false);
      server = s;
      return s;
    } catch {
      broken = true;
      return undefined;
    }
  };

  return {
    pid: () => server?.pid,
    settled: async () => void (await Promise.all([...emptying])),
    async run(req) {
      const names = Object.keys(req.env);
      if (!names.every((n) => NAME.test(n)) || (req.side !== undefined && !NAME.test(req.side))) return null;
      if (!statSync(req.cwd, { throwIfNoEntry: false })?.isDirectory())
        return { code: 127, stdout: '', stderr: `no such folder: ${req.cwd}`, notStarted: true };
      const s = start();
      if (!s || !dir) return null;
      // The files of an earlier request when one is free (see the end of this function), else new ones.
      const k = free.pop() ?? String(++seq);
      const file = (ext: string): string => join(dir as string, `${k}.${ext}`);
      const lines = [
        ...names.map((n) => `export ${n}=${shQuote(req.env[n] as string)}`),
        `cd ${shQuote(req.cwd)} || exit 127`,
      ];
      if (req.input !== undefined) lines.push(`exec <${shQuote(file('in'))}`);
      // Not exported: the file is the script's own, never its commands'.
      if (req.side !== undefined) lines.push(`${req.side}=${shQuote(file('side'))}`);
      lines.push(req.script);
      try {
        if (req.input !== undefined) writeFileSync(file('in'), req.input, { mode: 0o600 });
        writeFileSync(file('sh'), `${lines.join('\n')}\n`, { mode: 0o600 });
      } catch {
        // No room for the request (a full temp folder): nothing ran, and the caller spawns the command itself.
        for (const ext of ['sh', 'in']) rmSync(file(ext), { force: true });
        return null;
      }
      let finished = false;
      /** The output files the request printed into (see below). */
      let printed: Array<'out' | 'err' | 'side'> = [];
      const code = await new Promise<number | null>((resolve) => {
        pending.set(k, resolve);
        hold(s, true);
        s.stdin.write(`${k}\n`);
      });
      // Read synchronously: a git command's output is small (a patch is capped), and a round trip through the thread
      // pool per file would cost more than the reads.
      try {
        if (code === null) return { code: 1, stdout: '', stderr: 'the shell that runs git commands ended' };
        finished = true;
        const size = (ext: string): number => statSync(file(ext), { throwIfNoEntry: false })?.size ?? 0;
        const sizes = { out: size('out'), err: size('err'), side: req.side === undefined ? 0 : size('side') };
        printed = (['out', 'err', 'side'] as const).filter((ext) => sizes[ext] > 0);
        if (sizes.out + sizes.err + sizes.side > req.maxOutput)
          return { code: 1, stdout: '', stderr: '', overflow: true };
        const text = (ext: 'out' | 'err' | 'side'): string => (sizes[ext] > 0 ? readFileSync(file(ext), 'utf8') : '');
        return {
          code,
          stdout: text('out'),
          stderr: text('err'),
          ...(req.side === undefined ? {} : { side: text('side') }),
        };
      } catch (e) {
        printed = ['out', 'err', 'side'];
        return { code: 1, stdout: '', stderr: `could not read the output of a git command: ${(e as Error).message}` };
      } finally {
        // Emptied (nothing a command printed stays on disk) and then kept for the next request. Emptying frees the
        // files' blocks, disk work the answer need not wait for: it goes through the thread pool. A request the
        // server did not finish may still be writing to its files, which are removed and never used again.
        if (finished) {
          // Only what holds something: the script, the input when there was one, and the output files that got any.
          const files = ['sh', ...(req.input === undefined ? [] : ['in']), ...printed].map(file);
          const done: Promise<void> = emptied(files).then((ok) => {
            emptying.delete(done);
            if (ok) free.push(k);
          });
          emptying.add(done);
        } else for (const f of ['sh', 'in', 'out', 'err', 'side'].map(file)) rmSync(f, { force: true });
      }
    },
  };
}

/** Empties the files that exist of `files`; false when one could not be emptied (it is then removed). */
async function emptied(files: readonly string[]): Promise<boolean> {
  const each = await Promise.all(
    files.map((f) =>
      truncate(f, 0).then(
        () => true,
        (e: NodeJS.ErrnoException) => {
          if (e.code === 'ENOENT') return true;
          try {
            rmSync(f, { force: true });
          } catch {
            // Left as it is: the folder goes when the process ends, and the slot is never used again.
          }
          return false;
        },
      ),
    ),
  );
  return each.every(Boolean);
}
