import { InvalidArgumentError, InvalidArtifactError, NotFoundError, type Policy } from '../contracts/index.js';
import type { Fs } from '../platform/index.js';
import { parseJsonText, parseYamlText, slugFromGoal } from '../workspace/index.js';

/** A workflow file read and parsed within the policy's limits, not yet checked against its schema. */
export interface WorkflowInput {
  readonly text: string;
  readonly raw: unknown;
  /** The case slug of a run made from it: its `name` (or file name), hashed when it has no ASCII letters. */
  readonly caseSlug: string;
  readonly name: string;
}

/**
 * The last workflow text parsed in this process, by its file (or label): `mso run` reads its workflow twice, in the
 * checks before the run and in the import, and the YAML parse of a workflow of 40 nodes takes tens of ms (npm run
 * bench:e2e). The same text of the same file is not parsed again; each caller gets its own copy.
 */
let lastParsed: { readonly path: string; readonly text: string; readonly raw: unknown } | undefined;
function parsedWorkflow(path: string, text: string, parse: () => unknown): unknown {
  if (lastParsed?.path === path && lastParsed.text === text) return structuredClone(lastParsed.raw);
  const raw = parse();
  lastParsed = { path, text, raw: structuredClone(raw) };
  return raw;
}

/**
 * Reads a workflow (a YAML or JSON file, or inline YAML text) within `design.workflow_max_bytes` and
 * `design.workflow_max_nodes`: a file too large is refused before it is read, a node list too long before its nodes
 * are checked, an alias bomb or a syntax error with the file named. Writes nothing.
 */
export async function readWorkflowInput(
  fs: Pick<Fs, 'stat' | 'readFile'>,
  source: { readonly path: string } | { readonly text: string; readonly label: string },
  limits: Pick<Policy['design'], 'workflow_max_bytes' | 'workflow_max_nodes'>,
): Promise<WorkflowInput> {
  const path = 'path' in source ? source.path : source.label;
  const tooBig = (size: number): InvalidArtifactError =>
    new InvalidArtifactError(path, [
      {
        path: '(root)',
        message: `the workflow is ${size} bytes; the limit is ${limits.workflow_max_bytes} (policy design.workflow_max_bytes)`,
      },
    ]);
  let text: string;
  if ('path' in source) {
    const st = await fs.stat(path).catch(() => undefined);
    if (!st) throw new NotFoundError('workflow file', path);
    // A folder, a device or a pipe is no workflow file (and /dev/urandom would never end).
    if (!st.isFile())
      throw new InvalidArgumentError('workflow', `${path} is ${st.isDirectory() ? 'a folder' : 'not a regular file'}`);
    if (st.size > limits.workflow_max_bytes) throw tooBig(st.size);
    text = await fs.readFile(path, 'utf8');
  } else {
    text = source.text;
    const size = Buffer.byteLength(text, 'utf8');
    if (size > limits.workflow_max_bytes) throw tooBig(size);
  }
  const raw = parsedWorkflow(path, text, () =>
    !('path' in source) || /\.ya?ml$/i.test(path) ? parseYamlText(text, path) : parseJsonText(text, path),
  );
  const nodes = (raw as { nodes?: unknown } | null)?.nodes;
  if (Array.isArray(nodes) && nodes.length > limits.workflow_max_nodes)
    throw new InvalidArtifactError(path, [
      {
        path: 'nodes',
        message: `${nodes.length} nodes; the limit is ${limits.workflow_max_nodes} (policy design.workflow_max_nodes)`,
      },
    ]);
  const declared = (raw as { name?: unknown } | null)?.name;
  const name =
    typeof declared === 'string' && declared.trim() !== ''
      ? declared
      : 'path' in source
        ? (path
            .split('/')
            .at(-1)
            ?.replace(/\.[^.]+$/, '') ?? 'workflow')
        : 'workflow';
  return { text, raw, name, caseSlug: slugFromGoal(name) };
}
