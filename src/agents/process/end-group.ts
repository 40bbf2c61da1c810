import type { Clock, Proc } from '../../platform/index.js';

export interface GroupEnd {
  /** True when no process of the group is left. */
  readonly gone: boolean;
  /** The strongest signal it took: none (already gone), SIGTERM, or SIGKILL after the grace. */
  readonly signal: 'SIGTERM' | 'SIGKILL' | null;
}

/**
 * Ends a process group and verifies it is gone: SIGTERM, up to `graceMs` for it to exit, then SIGKILL and up to
 * `killWaitMs` more. A group that ignores SIGTERM (an agent that traps it) is killed; one that survives SIGKILL (a
 * process stuck in the kernel) is reported as not gone, so the caller does not reuse its worktree.
 */
export async function endProcessGroup(
  deps: { readonly proc: Proc; readonly clock: Clock },
  pgid: number,
  { graceMs = 3_000, killWaitMs = 5_000, pollMs = 50 }: { graceMs?: number; killWaitMs?: number; pollMs?: number } = {},
): Promise<GroupEnd> {
  if (!deps.proc.groupAlive(pgid)) return { gone: true, signal: null };
  const waitGone = async (ms: number): Promise<boolean> => {
    for (let waited = 0; waited < ms; waited += pollMs) {
      if (!deps.proc.groupAlive(pgid)) return true;
      await deps.clock.sleep(pollMs);
    }
    return !deps.proc.groupAlive(pgid);
  };
  deps.proc.killGroup(pgid, 'SIGTERM');
  if (await waitGone(graceMs)) return { gone: true, signal: 'SIGTERM' };
  deps.proc.killGroup(pgid, 'SIGKILL');
  return { gone: await waitGone(killWaitMs), signal: 'SIGKILL' };
}
