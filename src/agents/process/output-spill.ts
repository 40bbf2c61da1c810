import type { BlobStream } from '../../audit/index.js';

/** Opens a blob stream for the whole of one output stream (the audit log's `openBlobStream`). */
export type OpenOutputSpill = (stream: 'stdout' | 'stderr') => BlobStream;

/** Where the whole of one output stream was kept, as recorded in the attempt's evidence. */
export interface SpilledOutput {
  /** The blob (SHA-256 of the stored, redacted bytes). */
  readonly blob: string;
  /** Bytes the process printed, and their SHA-256 before redaction. */
  readonly bytes: number;
  readonly sha256: string;
  /** Bytes stored (differs from `bytes` where secrets were replaced). */
  readonly stored_bytes: number;
  /** Present when redaction had to cut a secret-shaped run it could not see whole (see `createStreamRedactor`). */
  readonly forced_cuts?: number;
}

/** Above this many bytes not yet written, the process's pipe is paused until the blob catches up. */
const HIGH_WATER = 2 * 1024 * 1024;

/**
 * The whole of one output stream, kept without holding it: the first `afterBytes` stay in memory; past them the
 * stream goes to a blob as it arrives (the pipe paused while the disk lags). `finish(keep)` stores the blob (a
 * stream still held in memory too), or drops it when the bounded transcript already holds everything.
 */
export function createOutputSpill(
  open: OpenOutputSpill | undefined,
  stream: 'stdout' | 'stderr',
  afterBytes: number,
  pipe: { pause(): void; resume(): void } | null | undefined,
): { push(chunk: Buffer): void; finish(keep: boolean): Promise<SpilledOutput | null> } {
  let held: Buffer[] = [];
  let heldBytes = 0;
  let sink: BlobStream | null = null;
  let paused = false;
  return {
    push(chunk) {
      if (!open) return;
      if (!sink) {
        held.push(chunk);
        heldBytes += chunk.length;
        if (heldBytes <= afterBytes) return;
        sink = open(stream);
        for (const h of held) sink.write(h);
        held = [];
        heldBytes = 0;
      } else sink.write(chunk);
      if (!paused && pipe && sink.backlog > HIGH_WATER) {
        paused = true;
        pipe.pause();
        void sink.drained(HIGH_WATER / 2).then(() => {
          paused = false;
          pipe.resume();
        });
      }
    },
    async finish(keep) {
      // A short stream beside a long one: its lines may have left the transcript too, so it is kept whole as well.
      if (!sink && keep && open && heldBytes > 0) {
        sink = open(stream);
        for (const h of held) sink.write(h);
      }
      held = [];
      heldBytes = 0;
      if (!sink) return null;
      if (!keep) {
        await sink.abort();
        return null;
      }
      const b = await sink.end();
      return {
        blob: b.hash,
        bytes: b.rawSize,
        sha256: b.rawSha256,
        stored_bytes: b.size,
        ...(b.forcedCuts > 0 ? { forced_cuts: b.forcedCuts } : {}),
      };
    },
  };
}
