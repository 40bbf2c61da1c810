import { describe, expect, it } from 'vitest';
import { createAppRedactor } from './redaction.js';

describe('the app redactor', () => {
  it('removes the values of every credential variable the agent CLI tables name, whatever the name looks like', () => {
    // ANTHROPIC_CUSTOM_HEADERS matches no credential-looking name pattern: only Claude's table marks it.
    const headers = 'X-Team: correcthorsebatterystaple';
    const r = createAppRedactor({ ANTHROPIC_CUSTOM_HEADERS: headers, HOME: '/home/someone' });
    const out = r.text(`sent ${headers} from /home/someone`);
    expect(out).not.toContain('correcthorsebatterystaple');
    expect(out).toContain('/home/someone');
  });
});
