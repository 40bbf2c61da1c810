import { createHash } from 'node:crypto';

/** The parts of a failure that identify "the same kind of failure" across runs. */
export interface FingerprintInput {
  readonly stage?: string | null | undefined;
  readonly persona?: string | null | undefined;
  readonly provider?: string | null | undefined;
  readonly model?: string | null | undefined;
  readonly errorClass?: string | null | undefined;
  readonly message?: string | null | undefined;
}

/**
 * Normalises an error message so incidental details do not split one failure into many: UUIDs, hex hashes,
 * paths, URLs, ticket/run/task ids, timestamps and numbers become placeholders; whitespace and case are folded.
 */
export function normalizeErrorMessage(message: string): string {
  return message
    .toLowerCase()
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/g, '<uuid>')
    .replace(/\bhttps?:\/\/\S+/g, '<url>')
    .replace(/\d{4}-\d{2}-\d{2}t\d{2}:\d{2}:\d{2}(?:\.\d+)?z?/g, '<time>')
    .replace(/(?:[a-z]:)?(?:\/[\w.@~+-]+){2,}\/?/g, '<path>')
    .replace(/\b(?:tkt|task|dec|snap|hitl|run|att|call)-[\w-]+/g, '<id>')
    .replace(/\b\d{8}-[a-z]+-[a-z0-9-]+\b/g, '<id>')
    .replace(/\b(?=[0-9a-f]*\d)[0-9a-f]{7,}\b/g, '<hex>')
    .replace(/\d+(?:\.\d+)?/g, '<n>')
    .replace(/\s+/g, ' ')
    .trim();
}

/** sha256 (first 16 hex) over stage, persona, provider, model, error class and the normalised message. */
export function errorFingerprint(input: FingerprintInput): string {
  const parts = [input.stage, input.persona, input.provider, input.model, input.errorClass].map((p) =>
    (p ?? '').toLowerCase(),
  );
  parts.push(normalizeErrorMessage(input.message ?? ''));
  return createHash('sha256').update(parts.join('\u001f'), 'utf8').digest('hex').slice(0, 16);
}
