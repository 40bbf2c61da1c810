import { describe, expect, it } from 'vitest';
import { PolicySchema } from '../contracts/index.js';
import { auditUrl, resolveSettings } from './settings.js';

describe('resolveSettings', () => {
  const observer = (env: Record<string, string>, flag?: string) =>
    resolveSettings(flag === undefined ? {} : { observer: flag }, env, '/tmp/x').observerId;
  it('takes the observer from --observer, then MSO_OBSERVER_ID, USER, LOGNAME, else unknown', () => {
    expect(observer({ MSO_OBSERVER_ID: 'ci', USER: 'ann', LOGNAME: 'bob' }, 'eve')).toBe('eve');
    expect(observer({ MSO_OBSERVER_ID: 'ci', USER: 'ann', LOGNAME: 'bob' })).toBe('ci');
    expect(observer({ USER: 'ann', LOGNAME: 'bob' })).toBe('ann');
    expect(observer({ USER: ' ', LOGNAME: 'bob' })).toBe('bob');
    expect(observer({})).toBe('unknown');
  });
  it('refuses an observer id that would escape the observation root', () => {
    expect(() => observer({ USER: '../etc' })).toThrow(/observer id/);
  });
  it('keeps the default spaces out of a git working tree, in its git directory, unless a workspace is already there', () => {
    const repo = { commonDir: '/src/app/.git', workTree: '/src/app' };
    const probe = { gitCommonDir: '/src/app/.git', gitDirsOf: () => repo };
    const inRepo = resolveSettings({}, {}, '/src/app/lib', probe);
    expect(inRepo).toMatchObject({
      workspaceRoot: '/src/app/.git/mso/workspace',
      observationRoot: '/src/app/.git/mso/observation',
      gitExcludes: [],
    });
    const outside = resolveSettings({}, {}, '/tmp/x');
    expect([outside.workspaceRoot, outside.observationRoot]).toEqual([
      '/tmp/x/workspace',
      '/tmp/x/mso-observation-workspace',
    ]);
    // Asked for inside the working tree (or made there before): used, and kept out of git status.
    const asked = resolveSettings({ workspace: 'ws' }, { MSO_OBSERVATION_ROOT: '/elsewhere' }, '/src/app', {
      ...probe,
      gitDirsOf: (p: string) => (p.startsWith('/src/app/') ? repo : null),
    });
    expect(asked.workspaceRoot).toBe('/src/app/ws');
    // Named by where it came from, for errors about it.
    expect(asked.rootSources).toEqual({ workspace: '--workspace', observation: 'MSO_OBSERVATION_ROOT' });
    expect(inRepo.rootSources).toEqual({ workspace: null, observation: null });
    expect(asked.gitExcludes).toEqual([{ file: '/src/app/.git/info/exclude', pattern: '/ws/' }]);
    const legacy = resolveSettings({}, {}, '/src/app', { ...probe, localWorkspace: true });
    expect(legacy.workspaceRoot).toBe('/src/app/workspace');
    expect(legacy.gitExcludes.map((e) => e.pattern)).toEqual(['/workspace/', '/mso-observation-workspace/']);
  });
});

describe('auditUrl', () => {
  const ws = (url?: string) => ({ policy: PolicySchema.parse(url === undefined ? {} : { audit: { url } }) });
  it('takes MSO_AUDIT_URL, then audit.url in policy.yaml, else none (the SQLite file)', () => {
    expect(auditUrl(ws('postgres://a/p'), { env: { MSO_AUDIT_URL: 'postgres://b/e' } })).toBe('postgres://b/e');
    expect(auditUrl(ws('postgres://a/p'), { env: { MSO_AUDIT_URL: ' ' } })).toBe('postgres://a/p');
    expect(auditUrl(ws(), { env: {} })).toBeUndefined();
  });
  it('refuses an MSO_AUDIT_URL or audit.url that is not postgres://, naming it', () => {
    expect(() => auditUrl(ws(), { env: { MSO_AUDIT_URL: 'mysql://h/db' } })).toThrow(
      expect.objectContaining({ code: 'MSO_INVALID_ARGUMENT', field: 'MSO_AUDIT_URL' }),
    );
    expect(() => ws('sqlite:///x.db')).toThrow(/must be a postgres:\/\/ URL/);
  });
});
