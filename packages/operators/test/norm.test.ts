import { describe, expect, it } from 'vitest';
import { PluginRegistry, tf, type ImageBatch, type Options } from '@bilevel/core';
import { BlurOperator, operatorPlugins, RadonOperator, seededNormal } from '@bilevel/operators';

const registry = new PluginRegistry(operatorPlugins);

/** max |a − b| / max |b|. */
function relativeMax(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

describe('‖A‖² from the CPU copy of the operator (no tensor read)', () => {
  it('seededNormal draws the values of tf.randomNormal(…, seed)', async () => {
    for (const [n, seed] of [[1, 1234], [7, 1234], [480, 5], [1001, 99]]) {
      const t = tf.randomNormal([n], 0, 1, 'float32', seed);
      expect(Array.from(seededNormal(n, seed))).toEqual(Array.from(await t.data()));
      t.dispose();
    }
  });

  const cases: [string, Options, [number, number]][] = [
    ['blur', { kernel: 'gaussian', size: 5, sigma: 1, boundary: 'reflect' }, [24, 20]],
    ['blur', { kernel: 'motion', length: 7, angle: 30, boundary: 'zero' }, [19, 23]],
    ['blur', { kernel: 'custom', weights: [0.1, 0.5, -0.2, 0.05, 0.3, 0.0, 0.7, 0.2, 0.1, 0.4, -0.3, 0.2, 0.6, 0.1, 0.0, 0.25], boundary: 'periodic' }, [3, 5]],
    ['blur', { kernel: 'custom', weights: [0.1, 0.5, -0.2, 0.05, 0.3, 0.0, 0.7, 0.2, 0.1, 0.4, -0.3, 0.2, 0.6, 0.1, 0.0, 0.25], boundary: 'reflect' }, [3, 5]],
    ['radon', { angles: 25, detectors: 40 }, [24, 20]],
    ['radon', { angleList: [0, 13, 45, 47.5, 90, 91, 135, 179.5, 250], detectors: 31, detectorSpacing: 0.6 }, [18, 22]],
  ];
  for (const [name, options, shape] of cases) {
    it(`${name} ${JSON.stringify(options)} on ${shape.join('×')}: host apply/adjoint = the tensor ones`, async () => {
      const op = registry.create('operator', name, options, { imageShape: shape, seed: 0 }, 'operator.options') as BlurOperator | RadonOperator;
      const host = op.hostMap();
      const x = tf.randomNormal([1, ...shape, 1], 0, 1, 'float32', 3) as ImageBatch;
      const y = tf.randomNormal([1, ...op.rangeShape], 0, 1, 'float32', 4);
      const all = [x, y, op.apply(x), op.adjoint(y)];
      const [xv, yv, ax, aty] = await Promise.all(all.map((t) => t.data()));
      expect(relativeMax(host.apply(Float64Array.from(xv)), ax)).toBeLessThan(1e-5);
      expect(relativeMax(host.adjoint(Float64Array.from(yv)), aty)).toBeLessThan(1e-5);
      expect(op.normSquared()).toBeGreaterThan(0);
      tf.dispose(all);
      op.dispose();
    });
  }
});
