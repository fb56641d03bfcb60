/** JsonBytes writes what JSON.stringify writes, whatever the buffer's size when a value arrives. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonBytes } from './json-bytes.ts';

/** Numbers of every text length: small and large integers, -0, long fractions, exponents, non-finite values. */
function numbers(n: number, seed: number): Float64Array {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const kinds = [
    () => Math.floor(rnd() * 100), () => -Math.floor(rnd() * 2 ** 31), () => 2 ** 31 - 1 - Math.floor(rnd() * 10), () => -0,
    () => -rnd() * 1e-300, () => rnd() * 1e300, () => -rnd(), () => Math.fround(rnd()), () => 2 ** 53 + 2, () => -2147483648,
    () => NaN, () => -Infinity, () => -(rnd() * 1e21),
  ];
  return Float64Array.from({ length: n }, () => kinds[Math.floor(rnd() * kinds.length)]());
}

describe('JsonBytes', () => {
  it('writes numbers, arrays of them and text as JSON.stringify does, growing from any capacity', () => {
    for (const capacity of [1, 16, 17, 100, 4096]) {
      for (let seed = 1; seed <= 20; seed++) {
        const xs = numbers(200, seed * capacity);
        const w = new JsonBytes(capacity);
        w.byte(0x5b);
        for (let i = 0; i < xs.length; i += 10) {
          if (i) w.byte(0x2c);
          w.numberArray(xs, i, 10);
          w.byte(0x2c);
          w.number(xs[i]);
          w.byte(0x2c);
          w.raw(JSON.stringify(`ü${i} "q"`));
        }
        w.byte(0x5d);
        const want: unknown[] = [];
        for (let i = 0; i < xs.length; i += 10) want.push(Array.from(xs.subarray(i, i + 10)), xs[i], `ü${i} "q"`);
        assert.equal(w.finish().toString('utf8'), JSON.stringify(want), `capacity ${capacity}, seed ${seed}`);
      }
    }
  });
});
