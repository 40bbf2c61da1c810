import { Document, isMap, parseDocument } from 'yaml';
import { InvalidArtifactError, PolicySchema, parseArtifact, type Policy } from '../contracts/index.js';
import type { Fs } from '../platform/index.js';
import { readTextIfExists, writeFileAtomic, type AtomicDeps } from './atomic.js';
import { YAML_MAX_ALIAS_COUNT, yamlErrorMessage } from './yaml.js';

const SECTION_COMMENTS: Readonly<Record<string, string>> = {
  run_policy:
    ' Runs: how many may be active at once, how many nodes of a run execute at once (--max-concurrency overrides),\n and when finished runs are archived (mso runs archive --auto).',
  execution:
    ' Where nodes run: local (this process) or distributed (mso worker processes through Redis/BullMQ; see README).',
  observation_policy: ' Observation workspace: whether runs are mirrored there, and which phase folders.',
  relocation_policy:
    ' Anchors: how a moved workspace or observation root is found again; on_peer_missing: warn | warn_and_continue | block | silent.',
  redaction:
    ' Secrets replaced by [REDACTED:kind] in everything mso writes: values listed here, the values of the variables\n named in env, credential-named variables (*_KEY, *_TOKEN, *_SECRET, *_PASSWORD, ...) and known key shapes.',
};

function parsePolicyText(text: string, file: string): { doc: Document; policy: Policy } {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    throw new InvalidArtifactError(
      file,
      doc.errors.map((e) => ({ path: '(root)', message: `YAML syntax: ${yamlErrorMessage(e, text)}` })),
    );
  }
  let raw: unknown;
  try {
    raw = (doc.toJS({ maxAliasCount: YAML_MAX_ALIAS_COUNT }) as unknown) ?? {};
  } catch (e) {
    throw new InvalidArtifactError(file, [{ path: '(root)', message: `YAML: ${yamlErrorMessage(e, text)}` }]);
  }
  return { doc, policy: parseArtifact(PolicySchema, raw, file) };
}

function defaultPolicyDocument(): Document {
  const doc = new Document(PolicySchema.parse({}));
  doc.commentBefore = ' MSO workspace policy. Every key is enforced; unknown keys are refused. Edit values freely:\n mso keeps your comments and values and only fills in missing keys.';
  if (isMap(doc.contents)) {
    for (const pair of doc.contents.items) {
      const key = pair.key as { value?: unknown; commentBefore?: string | null };
      const comment = typeof key.value === 'string' ? SECTION_COMMENTS[key.value] : undefined;
      if (comment) key.commentBefore = comment;
    }
  }
  return doc;
}

/** Fills every key the document lacks from `defaults`, leaving present values and comments untouched. */
function fillMissing(doc: Document, defaults: unknown, path: readonly string[]): boolean {
  let changed = false;
  if (typeof defaults !== 'object' || defaults === null || Array.isArray(defaults)) return false;
  for (const [key, value] of Object.entries(defaults)) {
    const here = [...path, key];
    if (!doc.hasIn(here)) {
      doc.setIn(here, doc.createNode(value));
      changed = true;
    } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      changed = fillMissing(doc, value, here) || changed;
    }
  }
  return changed;
}

/** The default text, put in the bundled CLI when it is built (scripts/bundle.mjs); absent from tsc's output. */
declare const __MSO_DEFAULT_POLICY_TEXT__: string | undefined;
let defaultText: string | undefined;
/**
 * The text mso writes for a new `policy.yaml`: the bundled CLI holds it, made when it was built (building it costs
 * about 9 ms of every command's start), and other builds make it once per process.
 */
export const defaultPolicyText = (): string =>
  (defaultText ??=
    typeof __MSO_DEFAULT_POLICY_TEXT__ === 'string' ? __MSO_DEFAULT_POLICY_TEXT__ : defaultPolicyDocument().toString());

/** Reads `policy.yaml` (defaults when absent); a malformed file throws naming the file and field. */
export async function loadPolicy(fs: Fs, file: string): Promise<Policy> {
  const text = await readTextIfExists(fs, file);
  // A file as mso wrote it holds the defaults: no YAML parse (the cold first one costs tens of milliseconds).
  if (text === undefined || text === defaultPolicyText()) return PolicySchema.parse({});
  return parsePolicyText(text, file).policy;
}

/**
 * Creates `policy.yaml` with commented defaults, or fills in the keys an existing file lacks while keeping the
 * user's comments and values. A malformed file is reported and left as it is. Returns the resolved policy.
 */
export async function ensurePolicyFile(deps: AtomicDeps, file: string): Promise<{ policy: Policy; written: boolean }> {
  const text = await readTextIfExists(deps.fs, file);
  if (text === undefined) {
    await writeFileAtomic(deps, file, defaultPolicyText(), { verbatim: true });
    return { policy: PolicySchema.parse({}), written: true };
  }
  // Unchanged since mso wrote it: the defaults, nothing missing.
  if (text === defaultPolicyText()) return { policy: PolicySchema.parse({}), written: false };
  const { doc, policy } = parsePolicyText(text, file);
  if (!fillMissing(doc, PolicySchema.parse({}), [])) return { policy, written: false };
  // The user's own file: values listed under `redaction` must survive the rewrite.
  await writeFileAtomic(deps, file, doc.toString(), { verbatim: true });
  return { policy, written: true };
}
