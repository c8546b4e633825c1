import { tf, type ForwardOperator, type ImageBatch, type Regularizer } from '@bilevel/core';
import {
  convexityCheck, curvatureCheck, gradientCheck, hvpCheck, memoryCheck, mixedCheck, operatorAdjointCheck,
  operatorLinearityCheck, operatorNormCheck, randn, type CheckResult, type RegularizerPoint,
} from './checks.js';

export interface ConformanceReport {
  readonly subject: string;
  readonly checks: readonly CheckResult[];
  readonly passed: boolean;
}

function report(subject: string, checks: CheckResult[]): ConformanceReport {
  return { subject, checks, passed: checks.every((c) => c.passed) };
}

/** Throws with every failed check listed (use in any test runner): `await assertConformance(operatorConformance(op))`. */
export async function assertConformance(report: ConformanceReport | Promise<ConformanceReport>): Promise<void> {
  const r = await report;
  const failed = r.checks.filter((c) => !c.passed);
  if (failed.length) {
    throw new Error(`${r.subject} fails ${failed.length} conformance check(s):\n` +
      failed.map((c) => `  ✗ ${c.name}: error ${c.error.toExponential(3)} > ${c.tolerance.toExponential(1)}${c.detail ? ` (${c.detail})` : ''}`).join('\n'));
  }
}

export interface OperatorSuiteOptions {
  adjointTolerance?: number;
  batch?: number;
}

/** Adjoint, linearity, norm-estimate and memory checks of a forward operator (run one after another). */
export async function operatorConformance(op: ForwardOperator, o: OperatorSuiteOptions = {}): Promise<ConformanceReport> {
  const [h, w] = op.domainShape;
  const checks = [
    await operatorAdjointCheck(op, o.batch ?? 2, 1, o.adjointTolerance ?? 1e-5),
    await operatorLinearityCheck(op),
    await operatorNormCheck(op),
  ];
  const x = randn([o.batch ?? 2, h, w, 1], 7) as ImageBatch;
  checks.push(
    memoryCheck(`${op.name}: apply+adjoint`, () => {
      const y = op.apply(x);
      const back = op.adjoint(y);
      y.dispose();
      return back;
    }),
  );
  x.dispose();
  return report(`operator "${op.name}"`, checks);
}

export interface RegularizerSuiteOptions {
  /** Image batch shape of the test points (default [2, 16, 16, 1]). */
  shape?: [number, number, number, number];
  /** θ values to test at (default: the initial θ, and it perturbed by 0.1·N(0, 1)). */
  thetas?: Float32Array[];
  /** Check midpoint convexity (convex regularizers). */
  convex?: boolean;
  /** Relative tolerance of the gradient / HVP / mixed finite-difference checks. */
  tolerance?: number;
  /** Finite-difference step (in units of the random direction). */
  step?: number;
  /**
   * Step of the θ-direction finite differences of the mixed check (the direction is N(0, I) in θ). Default:
   * `step` for up to 16 parameters, scaled by 4/√P beyond (so each of many parameters moves by ~step·4/√P).
   */
  mixedStep?: number;
  seed?: number;
}

/** Finite-difference, curvature, optional convexity and memory checks of a regularizer at several (x, θ), one after another. */
export async function regularizerConformance(reg: Regularizer, o: RegularizerSuiteOptions = {}): Promise<ConformanceReport> {
  const seed = o.seed ?? 0;
  const shape = o.shape ?? [2, 16, 16, 1];
  const t0 = reg.initialTheta(seed);
  const thetas = o.thetas ?? [t0, Float32Array.from(t0, (v, i) => v + 0.1 * Math.sin(1.7 * i + 0.3))];
  const checks: CheckResult[] = [];
  for (const [k, theta] of thetas.entries()) {
    const x = tf.tidy(() => tf.add(tf.randomUniform(shape, 0, 1, 'float32', seed + 31 * k), 0)) as ImageBatch;
    const p: RegularizerPoint = { x, theta };
    const tol = o.tolerance;
    const mixedStep = o.mixedStep ?? (o.step ?? 1e-2) * Math.min(1, 4 / Math.sqrt(theta.length));
    checks.push(await gradientCheck(reg, p, 11 + k, tol ?? 2e-3, o.step), await hvpCheck(reg, p, 13 + k, tol ?? 5e-3, o.step));
    checks.push(await mixedCheck(reg, p, 17 + k, tol ?? 5e-3, mixedStep), await curvatureCheck(reg, p));
    if (o.convex) checks.push(await convexityCheck(reg, p));
    const th = tf.tensor1d(theta);
    const v = randn(shape, 99) as ImageBatch;
    checks.push(memoryCheck(`${reg.name}: value/gradX/hvpX/mixedVjp`, () => [reg.value(x, th), reg.gradX(x, th), reg.hvpX(x, th, v), reg.mixedVjp(x, th, v)]));
    th.dispose(); v.dispose(); x.dispose();
  }
  return report(`regularizer "${reg.name}"`, checks);
}
