import { InvalidArgumentError } from '../contracts/index.js';

/** One RFC 6902 operation (the subset mso emits: add, replace, remove, test). */
export interface PatchOp {
  readonly op: 'add' | 'replace' | 'remove' | 'test';
  readonly path: string;
  readonly value?: unknown;
}

const unescape = (s: string): string => s.replace(/~1/g, '/').replace(/~0/g, '~');
/** Escapes a key for a JSON Pointer. */
export const pointer = (...parts: Array<string | number>): string =>
  `/${parts.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;

/**
 * Applies a JSON Patch to a copy of `doc`. A failing `test` op means the patch no longer fits the artifact (it was
 * made for another version): the result says so instead of half-applying.
 */
export function applyPatch<T>(doc: T, ops: readonly PatchOp[]): { ok: true; doc: T } | { ok: false; reason: string } {
  const root = structuredClone(doc) as unknown;
  for (const op of ops) {
    const parts = op.path.split('/').slice(1).map(unescape);
    const last = parts.pop();
    if (last === undefined) return { ok: false, reason: `bad path ${op.path}` };
    let parent: unknown = root;
    for (const p of parts) {
      if (parent === null || typeof parent !== 'object') return { ok: false, reason: `${op.path}: ${p} is missing` };
      const next = (parent as Record<string, unknown>)[p];
      if (next === undefined && op.op === 'add') (parent as Record<string, unknown>)[p] = {};
      parent = (parent as Record<string, unknown>)[p];
    }
    if (parent === null || typeof parent !== 'object')
      return { ok: false, reason: `${op.path}: parent is not an object` };
    const container = parent as Record<string, unknown> & unknown[];
    if (op.op === 'test') {
      if (JSON.stringify(container[last as never]) !== JSON.stringify(op.value))
        return { ok: false, reason: `test ${op.path} failed: the artifact changed since the proposal` };
    } else if (op.op === 'remove') {
      if (Array.isArray(container)) container.splice(Number(last), 1);
      else delete container[last];
    } else if (Array.isArray(container) && op.op === 'add') {
      if (last === '-') container.push(op.value);
      else container.splice(Number(last), 0, op.value);
    } else {
      if (op.op === 'replace' && !(last in container))
        return { ok: false, reason: `replace ${op.path}: nothing there` };
      container[last as never] = op.value as never;
    }
  }
  return { ok: true, doc: root as T };
}

/** Checks an op list's shape (for proposals read from disk). */
export function assertPatch(ops: unknown): asserts ops is PatchOp[] {
  if (
    !Array.isArray(ops) ||
    ops.some(
      (o) =>
        typeof o !== 'object' ||
        o === null ||
        !['add', 'replace', 'remove', 'test'].includes((o as PatchOp).op) ||
        typeof (o as PatchOp).path !== 'string' ||
        !(o as PatchOp).path.startsWith('/'),
    )
  ) {
    throw new InvalidArgumentError('patch', 'must be a JSON Patch array of add/replace/remove/test ops');
  }
}
