import { createHash } from 'node:crypto';

/** How much of a process's output is kept in memory, in bytes. */
export interface OutputLimits {
  /** A longer line is cut to this many bytes (the rest is counted, not kept). */
  readonly maxLineBytes: number;
  /** The first lines of the transcript, kept whole. */
  readonly headBytes: number;
  /** The last bytes of the transcript, kept in a ring; whole lines between head and tail are dropped and counted. */
  readonly tailBytes: number;
}

export const DEFAULT_OUTPUT_LIMITS: OutputLimits = {
  maxLineBytes: 4 * 1024 * 1024,
  headBytes: 1024 * 1024,
  tailBytes: 4 * 1024 * 1024,
};

const NL = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream into lines in time linear in its size and without making a string per line: each chunk is
 * scanned once, a CR before LF is dropped, and a line longer than `maxLineBytes` is cut, the rest counted in `cut`.
 * Splitting at LF never splits a UTF-8 sequence, so each line decodes on its own.
 */
export function createLineSplitter(
  maxLineBytes: number,
  emit: (line: Buffer, cut: number) => void,
): { push(chunk: Buffer): void; end(): void } {
  let parts: Buffer[] = [];
  let kept = 0;
  let cut = 0;
  let open = false;
  const append = (b: Buffer): void => {
    open = true;
    const room = Math.max(maxLineBytes - kept, 0);
    if (b.length <= room) {
      parts.push(b);
      kept += b.length;
    } else {
      if (room > 0) parts.push(b.subarray(0, room));
      kept += room;
      cut += b.length - room;
    }
  };
  const flush = (): void => {
    let line = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, kept);
    if (cut === 0 && line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, -1);
    const c = cut;
    parts = [];
    kept = 0;
    cut = 0;
    open = false;
    emit(line, c);
  };
  return {
    push(chunk) {
      let from = 0;
      let i: number;
      while ((i = chunk.indexOf(NL, from)) >= 0) {
        if (!open && i - from <= maxLineBytes) {
          // The common case, a whole line inside one chunk: no arrays, no copies.
          const end = i > from && chunk[i - 1] === CR ? i - 1 : i;
          emit(chunk.subarray(from, end), 0);
        } else {
          append(chunk.subarray(from, i));
          flush();
        }
        from = i + 1;
      }
      if (from < chunk.length) append(chunk.subarray(from));
    },
    end() {
      if (open) flush();
    },
  };
}

/** A transcript kept within bounds: its head, a byte ring of its tail, and the SHA-256 of every line it was given. */
export interface BoundedTranscript {
  /** Adds one line: `prefix` (`1|`, `2|`), the line's bytes, and an optional note appended to it. */
  add(prefix: string, line: Buffer, note?: string): void;
  /** Head and tail joined by newlines, with one `0|` marker line where whole lines were dropped. */
  text(): string;
  /** SHA-256 of all lines joined by newlines (what `text()` would be with nothing dropped). */
  sha256(): string;
  /** True while `text()` holds every line given (the tail ring never went round). */
  complete(): boolean;
}

const prefixes = new Map<string, Buffer>();
const prefixBytes = (p: string): Buffer => {
  let b = prefixes.get(p);
  if (!b) prefixes.set(p, (b = Buffer.from(p)));
  return b;
};

export function createBoundedTranscript(limits: Pick<OutputLimits, 'headBytes' | 'tailBytes'>): BoundedTranscript {
  const hash = createHash('sha256');
  // One buffer each for the head and the tail ring, bytes copied in: a list of a Buffer per line would cost about
  // 180 bytes of heap per line (a megabyte of 8-byte lines kept 25 MB alive).
  let head: Buffer | null = null;
  let headLen = 0;
  let headLines = 0;
  let headOpen = true;
  let ring: Buffer | null = null;
  let ringPos = 0;
  let wrapped = false;
  let lines = 0;
  const sep = Buffer.from('\n');
  const toRing = (b: Buffer): void => {
    ring ??= Buffer.alloc(limits.tailBytes);
    let from = 0;
    if (b.length > ring.length) {
      from = b.length - ring.length;
      wrapped = true;
    }
    while (from < b.length) {
      const n = Math.min(b.length - from, ring.length - ringPos);
      b.copy(ring, ringPos, from, from + n);
      ringPos += n;
      from += n;
      if (ringPos === ring.length) {
        ringPos = 0;
        wrapped = true;
      }
    }
  };
  const toHead = (b: Buffer): void => {
    head ??= Buffer.alloc(limits.headBytes);
    headLen += b.copy(head, headLen);
  };
  return {
    add(prefix, line, note) {
      // No allocation per line beyond what is kept: output of millions of short lines must not churn the heap.
      const pre = prefixBytes(prefix);
      const noteBytes = note ? Buffer.from(note) : null;
      const first = lines === 0;
      if (!first) hash.update(sep);
      hash.update(pre);
      hash.update(line);
      if (noteBytes) hash.update(noteBytes);
      lines++;
      const size = (first ? 0 : 1) + pre.length + line.length + (noteBytes?.length ?? 0);
      const put = headOpen && headLen + size <= limits.headBytes ? toHead : toRing;
      if (put === toRing) headOpen = false;
      else headLines++;
      if (!first) put(sep);
      put(pre);
      put(line);
      if (noteBytes) put(noteBytes);
    },
    text() {
      let tail = ring
        ? wrapped
          ? Buffer.concat([ring.subarray(ringPos), ring.subarray(0, ringPos)])
          : ring.subarray(0, ringPos)
        : Buffer.alloc(0);
      // A ring that went round starts mid-line: drop that partial line.
      if (wrapped) {
        const nl = tail.indexOf(NL);
        tail = nl >= 0 ? tail.subarray(nl) : Buffer.alloc(0);
      }
      let tailLines = 0;
      for (let i = tail.indexOf(NL); i >= 0; i = tail.indexOf(NL, i + 1)) tailLines++;
      if (tail.length > 0 && tail[0] !== NL) tailLines++;
      const dropped = lines - headLines - tailLines;
      let out = head ? head.toString('utf8', 0, headLen) : '';
      if (dropped > 0) out += `${out ? '\n' : ''}0|[mso: ${dropped} lines of output not kept]`;
      const t = tail.toString('utf8');
      return out + (out === '' && t.startsWith('\n') ? t.slice(1) : t);
    },
    sha256: () => hash.copy().digest('hex'),
    complete: () => !wrapped,
  };
}
