import { parse } from 'yaml';
import { InvalidArtifactError } from '../contracts/index.js';

/**
 * Aliases a YAML file may resolve (yaml's own guard against "billion laughs" expansion). An input with more is refused
 * as invalid, never expanded.
 */
export const YAML_MAX_ALIAS_COUNT = 100;

/**
 * The first line of a YAML library error, for a field issue: without the colon that introduced its code frame, and
 * with a position past the last line (`text`'s) said as the end of the file.
 */
export function yamlErrorMessage(e: unknown, text?: string): string {
  const message = e instanceof Error ? e.message : String(e);
  const first = (message.split('\n')[0] ?? message).replace(/:\s*$/, '');
  if (/alias count/i.test(first)) return `too many YAML aliases (more than ${YAML_MAX_ALIAS_COUNT})`;
  const line = (e as { linePos?: ReadonlyArray<{ line: number }> }).linePos?.[0]?.line;
  const lines = text === undefined ? undefined : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  return line !== undefined && lines !== undefined && line > lines
    ? first.replace(/ at line \d+, column \d+$/, ' at the end of the file')
    : first;
}

/** Parses YAML 1.2 text; a syntax error or an alias bomb throws `InvalidArtifactError` naming `file` and `where`. */
export function parseYamlText(text: string, file: string, where = '(root)'): unknown {
  try {
    return parse(text, { maxAliasCount: YAML_MAX_ALIAS_COUNT }) as unknown;
  } catch (e) {
    throw new InvalidArtifactError(file, [{ path: where, message: `YAML: ${yamlErrorMessage(e, text)}` }]);
  }
}
