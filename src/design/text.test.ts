import { describe, expect, it } from 'vitest';
import { PolicySchema } from '../contracts/index.js';
import { assignPersona } from './personas.js';
import { hasKeyword, splitGoal } from './text.js';

const policy = PolicySchema.parse({});

describe('hasKeyword', () => {
  it.each([
    ['Build the backend API service', 'ui', false],
    ['Check the API against the spec', 'again', false],
    ['Make the code repeatable', 'repeat', false],
    ['Redesign the UI layout', 'ui', true],
    ['사용자 데이터를 분석을 합니다', '분석', true],
    ['결과를 비교 분석', '비교', true],
  ])('%j contains %j: %s', (text, kw, expected) => {
    expect(hasKeyword(text, kw)).toBe(expected);
  });
});

describe('assignPersona', () => {
  it.each([
    ['Build the backend API service', 'arch'],
    ['Write a quick guide for new users', 'quill'],
    ['Design the onboarding screen layout', 'canvas'],
    ['Review the pull request for security issues', 'critic'],
    ['Find every place the codebase reads the config', 'scout'],
    ['Research external articles on pricing', 'index'],
    ['사용자 지표 분석', 'lens'],
    ['Ponder the meaning of it all', 'arch'],
  ])('%j → %s', (text, persona) => {
    expect(assignPersona(text, policy).persona).toBe(persona);
  });
});

describe('splitGoal', () => {
  it('takes list items as decision questions', () => {
    expect(splitGoal('Ship v2:\n- migrate the schema\n- update the API\n- write release notes').items).toEqual([
      'migrate the schema',
      'update the API',
      'write release notes',
    ]);
  });
  it('splits sentences and step connectors in English and Korean', () => {
    expect(splitGoal('Collect the requirements, then design the schema. Finally, write the docs.').items).toEqual([
      'Collect the requirements',
      'design the schema',
      'write the docs',
    ]);
    expect(splitGoal('요구사항을 정리하고 데이터 모델을 설계 그리고 문서를 작성').items).toEqual([
      '요구사항을 정리',
      '데이터 모델을 설계',
      '문서를 작성',
    ]);
  });
});
