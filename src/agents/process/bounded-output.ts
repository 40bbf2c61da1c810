import { createHash } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';

/** How much of a process's output is kept in memory (in UTF-16 characters). */
export interface OutputLimits {
  /** A longer line is cut to this many characters (the rest is counted, not kept). */
  readonly maxLineChars: number;
  /** The first lines of the transcript, kept whole. */
  readonly headChars: number;
  /** The last lines of the transcript, kept in a ring; lines between head and tail are dropped and counted. */
  readonly tailChars: number;
}

export const DEFAULT_OUTPUT_LIMITS: OutputLimits = {
  maxLineChars: 4 * 1024 * 1024,
  headChars: 1024 * 1024,
  tailChars: 8 * 1024 * 1024,
};

/**
 * Splits a byte stream into lines in time linear in its size: each chunk is scanned once (never the whole pending
 * line again), CRLF and UTF-8 sequences split across chunks are handled, and a line longer than `maxLineChars` is
 * cut, the rest counted in `cut`.
 */
export function createLineSplitter(
  maxLineChars: number,
  emit: (line: string, cut: number) => void,
): { push(chunk: Buffer): void; end(): void } {
  const decoder = new StringDecoder('utf8');
  let parts: string[] = [];
  let kept = 0;
  let cut = 0;
  let open = false;
  const append = (s: string): void => {
    open = true;
    const room = maxLineChars - kept;
    if (s.length <= room) {
      parts.push(s);
      kept += s.length;
    } else {
      if (room > 0) parts.push(s.slice(0, room));
      kept += Math.max(room, 0);
      cut += s.length - Math.max(room, 0);
    }
  };
  const flush = (): void => {
    let line = parts.join('');
    if (cut === 0 && line.endsWith('\r')) line = line.slice(0, -1);
    const c = cut;
    parts = [];
    kept = 0;
    cut = 0;
    open = false;
    emit(line, c);
  };
  const take = (text: string): void => {
    let from = 0;
    let i: number;
    while ((i = text.indexOf('\n', from)) >= 0) {
      append(text.slice(from, i));
      flush();
      from = i + 1;
    }
    if (from < text.length) append(text.slice(from));
  };
  return {
    push: (chunk) => take(decoder.write(chunk)),
    end() {
      take(decoder.end());
      if (open) flush();
    },
  };
}

/** A transcript kept within bounds: its head, a ring of its tail, and the SHA-256 of every line it was given. */
export interface BoundedTranscript {
  add(entry: string): void;
  /** Head and tail joined by newlines, with one marker line where lines were dropped. */
  text(): string;
  /** SHA-256 of all entries joined by newlines (what `text()` would be with nothing dropped). */
  sha256(): string;
  /** Lines dropped between the head and the tail. */
  readonly dropped: number;
}

export function createBoundedTranscript(limits: Pick<OutputLimits, 'headChars' | 'tailChars'>): BoundedTranscript {
  const hash = createHash('sha256');
  const head: string[] = [];
  let headChars = 0;
  let tail: string[] = [];
  let tailStart = 0;
  let tailChars = 0;
  let dropped = 0;
  let droppedChars = 0;
  let count = 0;
  return {
    add(entry) {
      hash.update(count === 0 ? entry : `\n${entry}`);
      count++;
      if (tail.length === 0 && headChars + entry.length + 1 <= limits.headChars) {
        head.push(entry);
        headChars += entry.length + 1;
        return;
      }
      tail.push(entry);
      tailChars += entry.length + 1;
      while (tailChars > limits.tailChars && tail.length - tailStart > 1) {
        const old = tail[tailStart++] as string;
        tailChars -= old.length + 1;
        dropped++;
        droppedChars += old.length + 1;
      }
      // Compact now and then so the ring's array stays proportional to what it holds (amortised linear).
      if (tailStart > 1024 && tailStart * 2 > tail.length) {
        tail = tail.slice(tailStart);
        tailStart = 0;
      }
    },
    text() {
      const rest = tail.slice(tailStart);
      const marker = dropped > 0 ? [`0|[mso: ${dropped} lines (${droppedChars} characters) of output not kept]`] : [];
      return [...head, ...marker, ...rest].join('\n');
    },
    sha256: () => hash.copy().digest('hex'),
    get dropped() {
      return dropped;
    },
  };
}
