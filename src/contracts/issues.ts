import type { z } from 'zod';
import { InvalidArtifactError, type FieldIssue } from './errors.js';

/** Renders a zod path as `nodes[2].gates[0]` (or `(root)` for the whole value). */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out === '' ? '(root)' : out;
}

/**
 * Turns zod issues into one `FieldIssue` per failing field; unknown keys each get their own path. Given the `input`
 * that was parsed, a field left out of it says `required` (with what it takes), not zod's "Invalid input: expected
 * string, received undefined", which reads as if a wrong value had been given.
 */
export function toFieldIssues(error: z.ZodError, input?: unknown): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: formatPath([...issue.path, key]), message: 'unknown key' });
    } else {
      out.push({ path: formatPath(issue.path), message: leftOut(input, issue.path) ? required(issue) : issue.message });
    }
  }
  return out;
}

/** Whether `path` names a key its object in `input` does not have (the object itself is there). */
function leftOut(input: unknown, path: readonly PropertyKey[]): boolean {
  if (input === undefined || path.length === 0) return false;
  let at: unknown = input;
  for (const seg of path.slice(0, -1)) {
    if (at === null || typeof at !== 'object') return false;
    at = (at as Record<PropertyKey, unknown>)[seg];
  }
  return at !== null && typeof at === 'object' && !((path.at(-1) as PropertyKey) in at);
}

function required(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type') return `required (${issue.expected})`;
  if (issue.code === 'invalid_value')
    return `required (one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')})`;
  return 'required';
}

/** Parses `data` with `schema`, or throws `InvalidArtifactError` naming `file` and every failing field. */
export function parseArtifact<S extends z.ZodType>(schema: S, data: unknown, file: string): z.output<S> {
  const result = schema.safeParse(data);
  if (!result.success) throw new InvalidArtifactError(file, toFieldIssues(result.error, data));
  return result.data;
}
