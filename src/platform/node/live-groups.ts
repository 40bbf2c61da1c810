/**
 * The process groups this process started for agents and commands (each child runs detached, in its own group) and
 * that may still be alive. It is process-wide on purpose: a second Ctrl-C must reach every group at once, from the
 * signal handler of the entry point, without going through the app. No imports, so the CLI can load it at start.
 */
const live = new Set<number>();

/** Notes a group this process started (its leader's pid is the group id). */
export function trackGroup(pid: number): void {
  live.add(pid);
}

/** Forgets a group that is gone (its leader exited and nothing is left in it). */
export function untrackGroup(pid: number): void {
  live.delete(pid);
}

/** How many started groups may still be alive. */
export function liveGroupCount(): number {
  return live.size;
}

/** Sends `signal` to every started group that may still be alive (synchronously, for a signal handler). */
export function signalLiveGroups(signal: NodeJS.Signals): number {
  let reached = 0;
  for (const pid of live) {
    try {
      process.kill(-pid, signal);
      reached++;
    } catch {
      live.delete(pid);
    }
  }
  return reached;
}
