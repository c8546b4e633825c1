import { LowerLevelProblem, tf, type ImageBatch } from '@bilevel/core';
import { IdentityOperator, L2Fidelity } from '@bilevel/operators';
import { FieldsOfExperts } from '@bilevel/regularizers-foe';
import { measure, type BenchRecord } from './harness.js';

/**
 * ∇ₓh and ∇²ₓₓh·v of FoE denoising (identity, ½‖x − y‖², FoE with 48 filters 7×7 at its reference θ₀,
 * engine 'auto') on random batches: 4×128×128 (bars: ≤ 105 ms and ≤ 150 ms on wasm) and 20×256×256
 * (the MAID paper's FoE setup).
 */
export async function benchRegularizers(): Promise<BenchRecord[]> {
  const out: BenchRecord[] = [];
  const reg = new FieldsOfExperts({ filters: 48, size: 7 });
  const theta = tf.tensor1d(reg.initialTheta(0));
  const cases: { n: number; size: number; hvp: boolean; runs: number }[] = [
    { n: 4, size: 128, hvp: true, runs: 21 },
    { n: 20, size: 256, hvp: false, runs: 5 },
  ];
  for (const c of cases) {
    const shape: [number, number, number, number] = [c.n, c.size, c.size, 1];
    const x = tf.randomUniform(shape, 0, 1, 'float32', 1) as ImageBatch;
    const y = tf.randomUniform(shape, 0, 1, 'float32', 2) as ImageBatch;
    const v = tf.randomNormal(shape, 0, 1, 'float32', 3) as ImageBatch;
    const problem = new LowerLevelProblem(new IdentityOperator([c.size, c.size]), new L2Fidelity(), reg, y, 0);
    const tag = `${c.n}x${c.size}x${c.size}`;
    const extra = { filters: 48, size: 7, engine: reg.options.engine === 'auto' ? (['wasm', 'cpu'].includes(tf.getBackend()) ? 'patches' : 'native') : reg.options.engine };
    out.push(await measure(`foe.gradX.${tag}`, () => problem.gradX(x, theta), { runs: c.runs, warmup: 2, extra }));
    if (c.hvp) out.push(await measure(`foe.hvpX.${tag}`, () => problem.hvpX(x, theta, v), { runs: c.runs, warmup: 2, extra }));
    tf.dispose([x, y, v]);
  }
  theta.dispose();
  return out;
}
