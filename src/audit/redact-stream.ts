import type { Redactor } from '../platform/index.js';

/** How a byte stream is cut into windows for redaction. */
export interface StreamRedactionLimits {
  /** About this many bytes are redacted and passed on at a time. */
  readonly windowBytes: number;
  /**
   * Text after a cut that is redacted together with the text before it, to see whether a secret spans the cut.
   * Longer than the longest secret shape (a private key block, up to ~20 KB).
   */
  readonly marginBytes: number;
  /** When no safe cut is found, bytes are held back up to this size, then cut anyway (counted in `forcedCuts`). */
  readonly maxPendingBytes: number;
}

export const DEFAULT_STREAM_REDACTION: StreamRedactionLimits = {
  windowBytes: 1024 * 1024,
  marginBytes: 64 * 1024,
  maxPendingBytes: 8 * 1024 * 1024,
};

/** Redacts a byte stream in bounded memory: `push` bytes in, redacted bytes come out through `emit`, in order. */
export interface StreamRedactor {
  push(chunk: Uint8Array): void;
  /** Redacts and emits what is held back. */
  end(): void;
  /** Cuts made without proof that no secret spans them (only for a secret-shaped run longer than `maxPendingBytes`). */
  readonly forcedCuts: number;
}

const NL = 0x0a;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

type Enc = 'utf8' | 'latin1';
/** UTF-8 text when the bytes are UTF-8; otherwise one char per byte (latin1), so ASCII secrets in binary still match and every other byte round-trips. */
function decode(b: Uint8Array): { s: string; enc: Enc } {
  try {
    return { s: utf8.decode(b), enc: 'utf8' };
  } catch {
    return { s: Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1'), enc: 'latin1' };
  }
}

/** Moves a cut back to the start of a UTF-8 sequence, so both sides decode on their own. */
function boundary(b: Buffer, c: number): number {
  let i = c;
  while (i > 0 && i > c - 4 && ((b[i] as number) & 0xc0) === 0x80) i--;
  return i;
}

/**
 * Builds a streaming form of `redactor`: the stream is cut into windows of about `windowBytes`; a cut is taken only
 * when redacting the window plus the `marginBytes` after it equals redacting the window, then the margin, apart — so
 * no secret spans it (else an earlier cut, a line break first, is tried; bytes wait up to `maxPendingBytes`).
 * Memory stays within a few windows whatever the stream's size; the output equals `redactor.text` of the whole
 * stream except where redaction around a cut is more eager.
 */
export function createStreamRedactor(
  redactor: Pick<Redactor, 'text'>,
  emit: (bytes: Buffer) => void,
  limits: StreamRedactionLimits = DEFAULT_STREAM_REDACTION,
): StreamRedactor {
  const { windowBytes: W, marginBytes: M, maxPendingBytes: HARD } = limits;
  let parts: Buffer[] = [];
  let size = 0;
  let nextTry = W + M;
  let forcedCuts = 0;
  const whole = (b: Buffer): Buffer => {
    const { s, enc } = decode(b);
    const r = redactor.text(s);
    return r === s ? b : Buffer.from(r, enc);
  };
  /** The redacted bytes before `c`, or null when a secret may span `c`. */
  const before = (buf: Buffer, c: number): Buffer | null => {
    const xy = buf.subarray(0, c + M);
    const { s, enc } = decode(xy);
    const y = buf.subarray(c, c + M);
    const sy = enc === 'utf8' ? y.toString('utf8') : y.toString('latin1');
    const a = redactor.text(s);
    // Nothing to redact (the usual case): the bytes go on as they are, with no copy made.
    if (a === s) return buf.subarray(0, c);
    const ry = redactor.text(sy);
    if (!a.endsWith(ry)) return null;
    return Buffer.from(a.slice(0, a.length - ry.length), enc);
  };
  const step = (): void => {
    let buf = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, size);
    parts = [buf];
    while (buf.length >= W + M) {
      const base = boundary(buf, buf.length - M);
      const nl = buf.lastIndexOf(NL, base - 1);
      // A line break is the likeliest safe cut; one far back would leave most of the window waiting.
      const candidates = [...new Set([nl + 1 > base / 2 ? nl + 1 : 0, base, boundary(buf, base - 4 * M)])].filter(
        (c) => c > 0,
      );
      let cut = -1;
      let out: Buffer | null = null;
      for (const c of candidates) {
        out = before(buf, c);
        if (out) {
          cut = c;
          break;
        }
      }
      if (cut < 0) {
        if (buf.length < HARD) {
          nextTry = buf.length + W;
          return;
        }
        forcedCuts++;
        cut = base;
        out = whole(buf.subarray(0, base));
      }
      emit(out as Buffer);
      // A copy, so the big buffer the rest was cut from is released.
      buf = Buffer.from(buf.subarray(cut));
      parts = [buf];
      size = buf.length;
    }
    nextTry = W + M;
  };
  return {
    push(chunk) {
      if (chunk.length === 0) return;
      parts.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      size += chunk.length;
      if (size >= nextTry) step();
    },
    end() {
      if (size === 0) return;
      const buf = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, size);
      parts = [];
      size = 0;
      emit(whole(buf));
    },
    get forcedCuts() {
      return forcedCuts;
    },
  };
}
