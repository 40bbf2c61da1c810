import { extname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import {
  InvalidArgumentError,
  NotFoundError,
  SCHEMA_CATALOG,
  SCHEMA_KINDS,
  isSchemaKind,
  toFieldIssues,
  toJsonSchema,
  type FieldIssue,
  type SchemaKind,
} from '../contracts/index.js';
import type { PlatformDeps } from '../platform/index.js';
import { parseFrontmatter, readTextIfExists, writeJsonAtomic } from '../workspace/index.js';

/** One entry of `mso schema list`. */
export interface SchemaInfo {
  readonly kind: SchemaKind;
  readonly title: string;
  readonly location: string;
  readonly format: string;
}

/** The outcome of validating one file against one artifact schema. */
export interface SchemaValidation {
  readonly kind: SchemaKind;
  readonly file: string;
  readonly valid: boolean;
  readonly issues: readonly FieldIssue[];
}

function parseByFormat(kind: SchemaKind, text: string, file: string): { values: unknown[]; issues: FieldIssue[] } {
  const format = SCHEMA_CATALOG[kind].format;
  const ext = extname(file).toLowerCase();
  try {
    if (format === 'frontmatter' || ext === '.md') return { values: [parseFrontmatter(text, file).data], issues: [] };
    if (format === 'jsonl' || ext === '.jsonl') {
      return {
        values: text
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as unknown),
        issues: [],
      };
    }
    if (format === 'yaml' || ext === '.yaml' || ext === '.yml')
      return { values: [parseYaml(text) as unknown], issues: [] };
    return { values: [JSON.parse(text) as unknown], issues: [] };
  } catch (e) {
    const issues = (e as { issues?: FieldIssue[] }).issues ?? [
      { path: '(root)', message: `cannot parse: ${(e as Error).message.split('\n')[0]}` },
    ];
    return { values: [], issues };
  }
}

/** Schema catalogue operations: list, export as JSON Schema files, validate a file. */
export function createSchemaOps(deps: PlatformDeps, cwd: string) {
  return {
    /** The JSON Schema of a workflow file or `policy.yaml`, for editors. */
    // The workflow checks need the designer: loaded on use, so `mso status` and friends start without it.
    editor: async (kind: 'workflow' | 'policy'): Promise<Record<string, unknown>> =>
      (await import('./workflow-check.js')).editorSchema(kind),
    /** Checks a workflow file as `mso run --workflow` would, without a run. */
    validateWorkflow: async (file: string) =>
      (await import('./workflow-check.js')).validateWorkflowFile(deps, cwd, file),
    list(): SchemaInfo[] {
      return SCHEMA_KINDS.map((kind) => ({
        kind,
        title: SCHEMA_CATALOG[kind].title,
        location: SCHEMA_CATALOG[kind].location,
        format: SCHEMA_CATALOG[kind].format,
      }));
    },
    async export(outDir: string): Promise<{ dir: string; files: string[] }> {
      const dir = resolve(cwd, outDir);
      const files: string[] = [];
      for (const kind of SCHEMA_KINDS) {
        const file = join(dir, `${kind}.schema.json`);
        await writeJsonAtomic(deps, file, toJsonSchema(kind));
        files.push(file);
      }
      return { dir, files };
    },
    async validate(kind: string, file: string): Promise<SchemaValidation> {
      if (!isSchemaKind(kind))
        throw new InvalidArgumentError('kind', `${JSON.stringify(kind)} is not one of ${SCHEMA_KINDS.join(', ')}`);
      const path = resolve(cwd, file);
      const text = await readTextIfExists(deps.fs, path);
      if (text === undefined) throw new NotFoundError('file', path);
      const { values, issues } = parseByFormat(kind, text, path);
      const all: FieldIssue[] = [...issues];
      const multi = values.length > 1;
      values.forEach((value, i) => {
        const r = SCHEMA_CATALOG[kind].schema.safeParse(value);
        if (!r.success)
          all.push(
            ...toFieldIssues(r.error, value).map((x) =>
              multi ? { path: `line ${i + 1}.${x.path}`, message: x.message } : x,
            ),
          );
      });
      return { kind, file: path, valid: all.length === 0, issues: all };
    },
  };
}

export type SchemaOps = ReturnType<typeof createSchemaOps>;
