import { spawn } from 'node:child_process';
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Clock, PlatformDeps, Proc, ProcessInfo, Random } from '../ports.js';
import { openSqlite } from './sqlite.js';

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
  return {
    uuid: () => randomUUID(),
    // 64 random bits: ids key audit rows, and 32 bits collide after ~65,000 of them (birthday bound).
    id: (prefix) => `${prefix}-${randomBytes(8).toString('hex')}`,
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
  };
}

/** Real child processes. */
export function nodeProc(): Proc {
  return {
    spawn: (command, args, options) => spawn(command, [...args], options),
    killGroup(pid, signal) {
      try {
        process.kill(-pid, signal);
        return true;
      } catch {
        return false;
      }
    },
    async which(command, pathEnv) {
      const candidates =
        command.includes('/') || isAbsolute(command)
          ? [command]
          : (pathEnv ?? '')
              .split(delimiter)
              .filter(Boolean)
              .map((d) => join(d, command));
      for (const c of candidates) {
        try {
          await fsp.access(c, constants.X_OK);
          if ((await fsp.stat(c)).isFile()) return c;
        } catch {
          // not here
        }
      }
      return undefined;
    },
  };
}

/** All real ports. */
export function nodePlatform(): PlatformDeps {
  return {
    clock: nodeClock(),
    random: nodeRandom(),
    fs: fsp,
    processInfo: nodeProcessInfo(),
    openSqlite,
    proc: nodeProc(),
  };
}
