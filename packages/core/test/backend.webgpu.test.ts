import { describe, expect, it } from 'vitest';
import { readScalars, readTensors, tf } from '@bilevel/core';

describe('webgpu backend', () => {
  it('is active, and the async read helper reads several tensors in one round-trip', async () => {
    expect(tf.getBackend()).toBe('webgpu');
    const a = tf.tensor1d([1, 2, 3]);
    const [s, n] = await readScalars(tf.sum(a), tf.norm(a));
    const [v] = await readTensors(tf.mul(a, 2));
    a.dispose();
    expect(s).toBe(6);
    expect(n).toBeCloseTo(Math.sqrt(14), 5);
    expect(Array.from(v)).toEqual([2, 4, 6]);
  });
});
