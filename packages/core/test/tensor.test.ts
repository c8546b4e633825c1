import { describe, expect, it } from 'vitest';
import { accurateSum, readScalars, tf } from '@bilevel/core';

/** A seeded uniform sample in [0, 1) (mulberry32), so the test data is generated, not stored. */
function uniform(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  });
}

describe('accurateSum', () => {
  it('sums a Kodak-sized batch (24 × 96 × 96) to within 4u of the float64 sum, for every length around a node size', async () => {
    for (const n of [1, 63, 64, 65, 4097, 24 * 96 * 96]) {
      const values = uniform(n, n);
      const exact = values.reduce((s, v) => s + v, 0);
      const t = tf.tensor1d(values);
      const [got] = await readScalars(accurateSum(t));
      t.dispose();
      expect(Math.abs(got - exact) / exact, `n = ${n}`).toBeLessThanOrEqual(4 * 2 ** -23);
    }
  });

  it('keeps no tensors', () => {
    const t = tf.ones([3, 50, 50, 1]);
    const before = tf.memory().numTensors;
    accurateSum(t).dispose();
    expect(tf.memory().numTensors).toBe(before);
    t.dispose();
  });
});
