import { z } from 'zod';
import { InvalidArtifactError, type FieldIssue } from './errors.js';

/**
 * A field left out is reported as `required`, not as zod's "Invalid input: expected string, received undefined" or
 * "Invalid option: ..." (which reads as if a wrong value had been given); every other message stays zod's. Set once
 * for the zod this code uses: every schema of mso's reports through it.
 */
z.config({
  customError: (issue) => {
    if (issue.input !== undefined) return undefined;
    if (issue.code === 'invalid_type') return `required (${issue.expected})`;
    if (issue.code === 'invalid_value')
      return `required (one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')})`;
    return undefined;
  },
});

/** Renders a zod path as `nodes[2].gates[0]` (or `(root)` for the whole value). */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out === '' ? '(root)' : out;
}

/** Turns zod issues into one `FieldIssue` per failing field; unknown keys each get their own path. */
export function toFieldIssues(error: z.ZodError): FieldIssue[] {
  const out: FieldIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: formatPath([...issue.path, key]), message: 'unknown key' });
    } else {
      out.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return out;
}

/** Parses `data` with `schema`, or throws `InvalidArtifactError` naming `file` and every failing field. */
export function parseArtifact<S extends z.ZodType>(schema: S, data: unknown, file: string): z.output<S> {
  const result = schema.safeParse(data);
  if (!result.success) throw new InvalidArtifactError(file, toFieldIssues(result.error));
  return result.data;
}
