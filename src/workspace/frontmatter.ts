import { InvalidArtifactError } from '../contracts/index.js';
import { parseYamlText } from './yaml.js';

/** A markdown file split into its YAML frontmatter (parsed) and body. */
export interface FrontmatterDoc {
  readonly data: unknown;
  readonly body: string;
}

const FENCE = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?([\s\S]*)$/;

/**
 * Splits `---` frontmatter from a markdown file and parses it as YAML 1.2 (core schema, so dates stay strings).
 * Throws `InvalidArtifactError` naming the file when there is no frontmatter or it is not YAML. `quick` may read the
 * frontmatter's text first, without the YAML parser: it returns what YAML would read, or null for the parser to read.
 */
export function parseFrontmatter(text: string, file: string, quick?: (yaml: string) => unknown): FrontmatterDoc {
  const m = FENCE.exec(text);
  if (!m) throw new InvalidArtifactError(file, [{ path: '(root)', message: 'no YAML frontmatter between --- lines at the top' }]);
  const yaml = m[1] ?? '';
  return { data: quick?.(yaml) ?? parseYamlText(yaml, file, '(frontmatter)'), body: m[2] ?? '' };
}
