import { dirname } from 'node:path';
import type { Fs } from '../platform/index.js';
import { readTextIfExists } from './atomic.js';

export const WorkspaceEventType = {
  SelfRelocated: 'SELF_RELOCATED',
  PeerMissing: 'PEER_MISSING',
  PeerReplaced: 'PEER_REPLACED',
  PeerRelinked: 'PEER_RELINKED',
  Initialized: 'WORKSPACE_INITIALIZED',
} as const;
export type WorkspaceEventType = (typeof WorkspaceEventType)[keyof typeof WorkspaceEventType];

/** One line of `registry/workspace-events.jsonl`: anchor and relocation events, kept for `mso workspace status`. */
export interface WorkspaceEvent {
  readonly event: WorkspaceEventType;
  readonly at: string;
  readonly [key: string]: unknown;
}

/** Appends events as JSON lines (each line is one small O_APPEND write, so concurrent writers do not interleave). */
export async function appendWorkspaceEvents(fs: Fs, file: string, events: readonly WorkspaceEvent[]): Promise<void> {
  if (events.length === 0) return;
  await fs.mkdir(dirname(file), { recursive: true });
  for (const e of events) await fs.appendFile(file, `${JSON.stringify(e)}\n`, 'utf8');
}

/** The last `limit` workspace events, oldest first; unreadable lines are skipped. */
export async function readWorkspaceEvents(fs: Fs, file: string, limit = 50): Promise<WorkspaceEvent[]> {
  const text = await readTextIfExists(fs, file);
  if (!text) return [];
  const out: WorkspaceEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as WorkspaceEvent);
    } catch {
      // A torn last line after a crash: skip it.
    }
  }
  return out.slice(-limit);
}
