import { rmSync } from 'node:fs';

/** Files this process removes when it exits. */
const atExit = new Set<string>();
let hooked = false;

/**
 * Removes `path` when this process exits (a normal end, or a signal mso handles, which ends it normally); a process
 * killed outright leaves it, for its next user to clear. Returns a function that takes it off the list.
 */
export function removeAtExit(path: string): () => void {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const p of atExit) rmSync(p, { force: true });
    });
  }
  atExit.add(path);
  return () => void atExit.delete(path);
}
