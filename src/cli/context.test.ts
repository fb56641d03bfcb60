/** The CLI's "--since": a duration ago through the shared parser (ms included), or a time passed on as is. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDuration, parseSince } from './context.ts';

describe('parseSince', () => {
  it('turns a duration into that long ago, every unit the server takes included', () => {
    for (const [v, ms] of [['500ms', 500], ['90s', 90_000], ['1.5h', 5_400_000], ['2d', 172_800_000]] as const) {
      const before = Date.now();
      const t = Number(parseSince(v));
      assert.ok(t >= before - ms && t <= Date.now() - ms, v);
    }
  });
  it('passes times on for the server to check, and refuses a duration out of range', () => {
    assert.equal(parseSince('2024-03-01T10:00:00Z'), '2024-03-01T10:00:00Z');
    assert.equal(parseSince('1700000000000'), '1700000000000');
    assert.throws(() => parseSince('99999999d'), /is not a duration/);
    assert.deepEqual(['12h', '30d', '500ms', '2024-03-01', '1700000000000'].map(isDuration), [true, true, true, false, false]);
  });
});
