import { describe, expect, it } from 'vitest';
import { parseYamlText } from './yaml.js';

const issueOf = (text: string): string => {
  try {
    parseYamlText(text, 'wf.yaml');
  } catch (e) {
    return (e as { issues: Array<{ message: string }> }).issues[0]?.message ?? '';
  }
  throw new Error('parsed');
};

describe('parseYamlText errors', () => {
  it('name the line, without the code frame colon, and the end of the file past the last line', () => {
    expect(issueOf('name: x\nnodes:\n  - id: a\n   label: A\n')).toBe(
      'YAML: Sequence item without - indicator at line 4, column 1',
    );
    const end = issueOf('name: x\nnodes:\n  - id: a\n    label: [unclosed\n');
    expect(end).toMatch(/^YAML: .* at the end of the file$/);
    expect(issueOf('a: [\n')).toMatch(/at the end of the file$/);
    expect(issueOf('a: 1\na: 2\n')).toMatch(/^YAML: Map keys must be unique at line 2, column 1$/);
  });
});
