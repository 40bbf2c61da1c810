import { describe, expect, it } from 'vitest';
import { resolveSettings } from './settings.js';

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
});
