import { spawn } from 'node:child_process';
import { randomFillSync, randomInt, randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { accessSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import type { Clock, Faults, OpenPostgres, PlatformDeps, Proc, ProcessInfo, Random } from '../ports.js';
import { trackGroup, untrackGroup } from './live-groups.js';
import { openSqlite, seedSqlite } from './sqlite.js';
import { atomicFs, smallFs } from './small-fs.js';

/** The real clock. */
export function nodeClock(): Clock {
  return {
    now: () => new Date(),
    sleep: async (ms, signal) => {
      await delay(ms, undefined, signal ? { signal } : undefined);
    },
  };
}

/** Cryptographic randomness. */
export function nodeRandom(): Random {
  // Drawn 4 KiB at a time, as randomUUID does: a call into OpenSSL per id cost more than the rest of making it (18 ms
  // of a 30-node chain's coordinator, ~20 ids a node).
  const pool = Buffer.alloc(4096);
  let used = pool.length;
  const hex = (bytes: number): string => {
    if (used + bytes > pool.length) {
      randomFillSync(pool);
      used = 0;
    }
    used += bytes;
    return pool.toString('hex', used - bytes, used);
  };
  return {
    uuid: () => randomUUID(),
    // 64 random bits: ids key audit rows, and 32 bits collide after ~65,000 of them (birthday bound).
    id: (prefix) => `${prefix}-${hex(8)}`,
    int: (max) => randomInt(max),
  };
}

/** This process, and liveness checks through signal 0. */
export function nodeProcessInfo(): ProcessInfo {
  return {
    pid: process.pid,
    hostname: hostname(),
    runtime: { node: process.versions.node, platform: process.platform, arch: process.arch },
    isAlive(pid) {
      try {
        process.kill(pid, 0);
        return true;
      } catch (e) {
        // EPERM: the process exists but belongs to someone else.
        return (e as NodeJS.ErrnoException).code === 'EPERM';
      }
    },
    startId(pid) {
      // Linux: field 22 of /proc/PID/stat is the start time in clock ticks since boot. The command name (field 2)
      // may hold spaces and parentheses, so count fields after its closing parenthesis.
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        return fields[19] ?? null;
      } catch {
        return null;
      }
    },
    outputFiles() {
      // Linux: /proc/self/fd/N names what the descriptor is open on; a terminal or pipe is no regular file.
      const out: string[] = [];
      for (const fd of [1, 2]) {
        try {
          const target = readlinkSync(`/proc/self/fd/${fd}`);
          if (isAbsolute(target) && statSync(target).isFile() && !out.includes(target)) out.push(target);
        } catch {
          // Closed, not Linux, or gone: nothing to name.
        }
      }
      return out;
    },
  };
}

/**
 * A path's fingerprint for change detection: a link's target, or the kind, size, modification time and mode (size and
 * time 0 for a folder); null when it does not exist. Read synchronously: the outside-writes check reads a hundred or
 * so per node, and one `lstat` costs less than the thread-pool round trip of its async form.
 */
export function pathFingerprint(path: string): string | null {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) return null;
  if (st.isSymbolicLink()) {
    let target = '';
    try {
      target = readlinkSync(path);
    } catch {
      // gone between the two calls: an empty target still differs from any real one
    }
    return `link:${target}`;
  }
  const dir = st.isDirectory();
  return `${dir ? 'd' : 'f'}:${dir ? 0 : st.size}:${dir ? 0 : st.mtimeMs}:${st.mode}`;
}

/** A folder's entries with their kinds, synchronously; none when it cannot be read. */
export function folderEntries(dir: string): Array<{ readonly name: string; readonly isDirectory: boolean }> {
  try {
    return readdirSync(dir, { withFileTypes: true }).map((e) => ({ name: e.name, isDirectory: e.isDirectory() }));
  } catch {
    return [];
  }
}

/** True when `path` is a file this process may execute. */
function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Real child processes. */
export function nodeProc(): Proc {
  // Loaded on first use: commands that run no git (mso status) do not pay for it.
  let scripts: Promise<{ run: NonNullable<Proc['runScript']> }> | undefined;
  const found = new Map<string, string>();
  return {
    async runScript(req) {
      scripts ??= import('./script-server.js').then((m) => m.createScriptServer());
      return (await scripts).run(req);
    },
    spawn(command, args, options) {
      const child = spawn(command, [...args], options);
      const pid = child.pid;
      if (options.detached && pid !== undefined) {
        trackGroup(pid);
        // The leader gone is not the group gone: forget it only once nothing is left in the group.
        child.once('exit', () => {
          try {
            process.kill(-pid, 0);
          } catch {
            untrackGroup(pid);
          }
        });
      }
      return child;
    },
    killGroup(pid, signal) {
      try {
        process.kill(-pid, signal);
        return true;
      } catch {
        untrackGroup(pid);
        return false;
      }
    },
    groupAlive(pid) {
      try {
        process.kill(-pid, 0);
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EPERM') return true;
        untrackGroup(pid);
        return false;
      }
    },
    async which(command, pathEnv) {
      // Found once, checked again with one call: every node's agent asks, and a PATH walk is a dozen file lookups.
      const key = `${command}\0${pathEnv ?? ''}`;
      const known = found.get(key);
      if (known !== undefined && isExecutableFile(known)) return known;
      found.delete(key);
      const candidates =
        command.includes('/') || isAbsolute(command)
          ? [command]
          : (pathEnv ?? '')
              .split(delimiter)
              .filter(Boolean)
              .map((d) => join(d, command));
      const hit = candidates.find(isExecutableFile);
      if (hit !== undefined) found.set(key, hit);
      return hit;
    },
  };
}

/** All real ports. */
export function nodePlatform(env: Readonly<Record<string, string | undefined>> = {}): PlatformDeps {
  // The PostgreSQL driver is loaded only when a store URL is configured: SQLite users never pay for it.
  let pg: OpenPostgres | undefined;
  return {
    clock: nodeClock(),
    random: nodeRandom(),
    fs: fsp,
    smallFs,
    atomicFs,
    processInfo: nodeProcessInfo(),
    openSqlite,
    seedSqlite,
    openPostgres(url, options) {
      if (!pg) throw new Error('the PostgreSQL driver is not loaded: call preparePostgres() first');
      return pg(url, options);
    },
    async preparePostgres() {
      pg ??= (await import('./postgres.js')).createPostgresOpener();
    },
    async listenPostgres(url, channel, onNotify, lost) {
      return (await import('./pg-listen.js')).listenPostgres(url, channel, onNotify, lost);
    },
    proc: nodeProc(),
    faults: nodeFaults(env['MSO_FAULT_KILL_AT']),
  };
}

/**
 * `MSO_FAULT_KILL_AT=POINT[#N]` makes this process SIGKILL itself at the N-th (default first) time it reaches the
 * named point: how the fault tests crash a coordinator at exact places. Unset, every point is a no-op.
 */
export function nodeFaults(spec: string | undefined): Faults {
  const m = spec ? /^([a-z_.]+)(?:#(\d+))?$/.exec(spec.trim()) : null;
  if (!m) return { point: () => undefined };
  const [, name, nth] = m;
  let hits = 0;
  return {
    point(at) {
      if (at === name && ++hits === Number(nth ?? 1)) process.kill(process.pid, 'SIGKILL');
    },
  };
}

/**
 * Keeps V8's young generation at its starting size instead of letting it grow to 16 MB per semi-space under a high
 * allocation rate (`--semi-space-growth-factor=1`; V8 reads it whenever it would grow the space, so it applies when
 * set after start). A 10,000-node run allocates short-lived objects fast (events, rows, promises): the grown space
 * held ~15 MB of garbage at a time. The trade: more frequent scavenges, each smaller (`npm run bench:engine` showed
 * no CPU difference per node within its noise). Called by the composition root (`createNodeApp`), and by the engine
 * bench as mso runs.
 */
export function keepYoungGenerationSmall(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}
