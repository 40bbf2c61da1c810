import { rmSync } from 'node:fs';

/** Files this process removes when it exits. */
const atExit = new Set<string>();
let hooked = false;

/**
 * Removes the file `path` when this process exits: a normal end, or a signal mso handles, which ends it normally. A
 * process killed outright leaves it, for its next user to clear. (The git helper keeps its own hook: its module
 * loads alone, see script-server.test.)
 */
export function removeAtExit(path: string): void {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const p of atExit) rmSync(p, { force: true });
    });
  }
  atExit.add(path);
}
