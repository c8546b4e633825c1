import { readTensors, tf, type LowerEvaluation, type Oracle } from '@bilevel/core';
import { check, type CheckResult } from './checks.js';
import type { ConformanceReport } from './suites.js';

export interface OracleSuiteOptions {
  /** θ to check at. */
  theta: Float64Array;
  /** ε and δ of the inexact hypergradient whose ω is checked (default 1e-2, 1e-2). */
  epsilon?: number;
  delta?: number;
  /** ε and δ of the reference solves: finite differences and the reference z (default 1e-6, 1e-7). */
  fineEpsilon?: number;
  fineDelta?: number;
  /** Finite-difference step along unit θ-directions (default 1e-2). */
  step?: number;
  /** Relative tolerance of the finite-difference check (default 1e-2). */
  fdTolerance?: number;
  /** Image indices of the subset checks (default [n − 1, 0], or [0] for one image). */
  subset?: number[];
  /** Calls of the tensor-growth check (default 4). */
  repeats?: number;
  /** Seed of the random finite-difference direction. */
  seed?: number;
}

/** Runs `f` on a fresh oracle and disposes it. */
async function withOracle<T>(make: () => Promise<Oracle>, f: (o: Oracle) => Promise<T>): Promise<T> {
  const o = await make();
  try {
    return await f(o);
  } finally {
    await o.dispose();
  }
}

/** f(θ) = g(x̃) with the lower level solved to ε, from the oracle's warm start. */
async function upperValue(o: Oracle, theta: Float64Array, epsilon: number): Promise<number> {
  const ev = await o.evaluate(theta, epsilon);
  o.release(ev);
  return ev.value;
}

/** A seeded unit vector of length d (a deterministic sine hash: no tensor, no RNG state). */
function unitDirection(d: number, seed: number): Float64Array {
  const v = Float64Array.from({ length: d }, (_, i) => Math.sin(12.9898 * (i + 1) + 78.233 * (seed + 1)) * 43758.5453 % 1 - 0.5);
  const n = Math.hypot(...v) || 1;
  return v.map((x) => x / n);
}

/**
 * ⟨z, d⟩ against the Richardson-extrapolated central difference (4 D(h/2) − D(h))/3 of f along d, for d = z/‖z‖ and a
 * seeded random unit d, with z and f solved finely.
 */
async function finiteDifferenceCheck(make: () => Promise<Oracle>, o: Required<OracleSuiteOptions>): Promise<CheckResult> {
  return withOracle(make, async (oracle) => {
    const hg = await oracle.hypergradient(o.theta, o.fineEpsilon, o.fineDelta);
    oracle.release(hg.evaluation);
    const zNorm = Math.hypot(...hg.grad);
    let worst = 0;
    const details: string[] = [];
    for (const d of [hg.grad.map((g) => g / (zNorm || 1)), unitDirection(o.theta.length, o.seed)]) {
      const at = (t: number) => upperValue(oracle, o.theta.map((v, i) => v + t * d[i]), o.fineEpsilon);
      const central = async (h: number) => ((await at(h)) - (await at(-h))) / (2 * h);
      const half = await central(o.step / 2);
      const fd = (4 * half - (await central(o.step))) / 3;
      const analytic = hg.grad.reduce((a, g, i) => a + g * d[i], 0);
      worst = Math.max(worst, Math.abs(analytic - fd) / Math.max(Math.abs(analytic), Math.abs(fd), 1e-3 * zNorm, 1e-12));
      details.push(`⟨z, d⟩ = ${analytic.toExponential(4)}, fd ${fd.toExponential(4)}`);
    }
    return check('hypergradient vs finite differences of f', worst, o.fdTolerance, details.join('; '));
  });
}

/** ‖z(ε, δ) − z_ref‖ ≤ ω(ε, δ), z_ref solved finely, each on a fresh oracle (error / ω ≤ 1). */
async function boundCheck(make: () => Promise<Oracle>, o: Required<OracleSuiteOptions>): Promise<CheckResult> {
  const ref = await withOracle(make, async (oracle) => {
    const hg = await oracle.hypergradient(o.theta, o.fineEpsilon, o.fineDelta);
    oracle.release(hg.evaluation);
    return hg.grad;
  });
  return withOracle(make, async (oracle) => {
    const hg = await oracle.hypergradient(o.theta, o.epsilon, o.delta);
    oracle.release(hg.evaluation);
    const error = Math.hypot(...Array.from(hg.grad, (g, i) => g - ref[i]));
    return check('ω ≥ measured error of z', error / hg.errorBound, 1, `error ${error.toExponential(3)}, ω ${hg.errorBound.toExponential(3)}`);
  });
}

/** A re-solve to fine ε from a coarse x̃ at θ (`from`) costs fewer iterations than one from the initial warm start. */
async function warmStartCheck(make: () => Promise<Oracle>, o: Required<OracleSuiteOptions>): Promise<CheckResult> {
  return withOracle(make, async (oracle) => {
    const coarse = await oracle.evaluate(o.theta, o.epsilon);
    const cold = await oracle.evaluate(o.theta, o.fineEpsilon);
    const warm = await oracle.evaluate(o.theta, o.fineEpsilon, coarse);
    for (const ev of [coarse, cold, warm]) oracle.release(ev);
    const excess = Math.max(0, warm.lower.iterations - cold.lower.iterations + 1);
    return check('evaluate from a coarse x̃ is cheaper than from the warm start', excess, 0,
      `${warm.lower.iterations} iterations from \`from\`, ${cold.lower.iterations} from the warm start (certified ${warm.lower.certifiedError.toExponential(2)})`);
  });
}

/** θ moved by one normalised step along −z (a second point for the state checks). */
function nextTheta(theta: Float64Array, grad: Float64Array): Float64Array {
  const n = Math.hypot(...grad) || 1;
  return theta.map((t, i) => t - (0.1 * grad[i]) / n);
}

/** After saveState → restoreState on a fresh oracle, the next hypergradient (at the accepted one, and at a new θ) is identical. */
async function stateCheck(make: () => Promise<Oracle>, o: Required<OracleSuiteOptions>): Promise<CheckResult> {
  const a = await make();
  const b = await make();
  try {
    const first = await a.hypergradient(o.theta, o.epsilon, o.delta);
    await a.accept(first.evaluation);
    a.release(first.evaluation);
    await b.restoreState(await a.saveState());
    const problems: string[] = [];
    const acceptedA = a.accepted(), acceptedB = b.accepted();
    if (!acceptedB || acceptedB.value !== acceptedA?.value) problems.push('accepted() is not restored');
    const t = nextTheta(o.theta, first.grad);
    const [ha, hb] = [await a.hypergradient(t, o.epsilon, o.delta), await b.hypergradient(t, o.epsilon, o.delta)];
    if (!ha.grad.every((g, i) => g === hb.grad[i])) problems.push(`z differs: ${Array.from(ha.grad).slice(0, 3)} vs ${Array.from(hb.grad).slice(0, 3)}`);
    if (ha.value !== hb.value || ha.stats.cgIterations !== hb.stats.cgIterations) problems.push('value or CG iterations differ');
    if (!(Object.is(ha.errorBound, hb.errorBound))) problems.push(`ω differs: ${ha.errorBound} vs ${hb.errorBound}`);
    if (a.counters.lowerIterations !== b.counters.lowerIterations) problems.push('counters differ');
    a.release(ha.evaluation);
    b.release(hb.evaluation);
    return check('saveState / restoreState reproduces the next hypergradient exactly', problems.length, 0, problems.join('; ') || undefined);
  } finally {
    await a.dispose();
    await b.dispose();
  }
}

/** Rows `rows` of an image batch's values (per-image blocks). */
function rows(v: Float32Array, n: number, indices: readonly number[]): Float32Array[] {
  const P = v.length / n;
  return indices.map((i) => v.subarray(i * P, (i + 1) * P));
}

const sameRows = (p: Float32Array[], q: Float32Array[]) => p.every((r, k) => r.every((x, j) => x === q[k][j]));

/**
 * subset(B) is an oracle over |B| images (L_g = 1/|B|); an accepted step on it, merged with keep, writes exactly its x̃
 * into the images B and no other; its work is added as |B|/n of it ('per-image').
 */
async function subsetCheck(make: () => Promise<Oracle>, o: Required<OracleSuiteOptions>): Promise<CheckResult> {
  return withOracle(make, async (full) => {
    const problems: string[] = [];
    const n = full.size, B = o.subset;
    const [before] = await readTensors(await full.reconstruction());
    const sub = await full.subset(B);
    if (sub.size !== B.length) problems.push(`size ${sub.size} ≠ ${B.length}`);
    if (Math.abs(sub.upperLipschitz * B.length - 1) > 1e-12) problems.push(`upperLipschitz ${sub.upperLipschitz} ≠ 1/${B.length}`);
    const hg = await sub.hypergradient(o.theta, o.epsilon, o.delta);
    await sub.accept(hg.evaluation);
    const [part] = await readTensors(await sub.reconstruction(hg.evaluation));
    sub.release(hg.evaluation);
    const work = sub.counters.lowerIterations;
    const lowerBefore = full.counters.lowerIterations;
    await full.merge(sub, { keep: true, costScaling: 'per-image' });
    const [after] = await readTensors(await full.reconstruction());
    if (!sameRows(rows(after, n, B), rows(part, B.length, B.map((_, k) => k)))) problems.push('the merged images are not the subset\'s x̃');
    const others = Array.from({ length: n }, (_, i) => i).filter((i) => !B.includes(i));
    if (!sameRows(rows(after, n, others), rows(before, n, others))) problems.push('images outside the subset changed');
    const added = full.counters.lowerIterations - lowerBefore;
    if (Math.abs(added - (work * B.length) / n) > 1e-9 * Math.max(1, work)) problems.push(`counters grew by ${added}, expected ${(work * B.length) / n}`);
    return check('subset + merge round trip', problems.length, 0, problems.join('; ') || undefined);
  });
}

/** tf.memory().numTensors stays flat over repeated evaluate / hypergradient / accept / release / subset / merge. */
async function memoryGrowthCheck(make: () => Promise<Oracle>, o: Required<OracleSuiteOptions>): Promise<CheckResult> {
  return withOracle(make, async (oracle) => {
    const once = async () => {
      const hg = await oracle.hypergradient(o.theta, o.epsilon, o.delta, undefined, { valueEstimate: true });
      const again: LowerEvaluation = await oracle.evaluate(o.theta, o.epsilon, hg.evaluation);
      await oracle.accept(again);
      oracle.release(hg.evaluation);
      oracle.release(again);
      const sub = await oracle.subset(o.subset);
      const sg = await sub.hypergradient(o.theta, o.epsilon, o.delta);
      sub.release(sg.evaluation);
      await oracle.merge(sub, { keep: false, costScaling: 'raw' });
      (await oracle.reconstruction()).dispose();
    };
    await once();
    const before = tf.memory().numTensors;
    for (let k = 0; k < o.repeats; k++) await once();
    const growth = tf.memory().numTensors - before;
    return check('no tensor growth over repeated calls', growth, 0, `${growth} tensors over ${o.repeats} rounds`);
  });
}

/**
 * Everything an `Oracle` must pass (DESIGN §4), each check on fresh oracles from `make`: the hypergradient against
 * finite differences of f, ω ≥ the measured error of z, warm starts through `from`, exact saveState/restoreState,
 * the subset + merge round trip, and no tensor growth.
 *
 *   assertConformance(await oracleConformance(() => buildMyOracle(), { theta: Float64Array.from([-3, -4]) }));
 */
export async function oracleConformance(make: () => Promise<Oracle>, opts: OracleSuiteOptions, subject = 'oracle'): Promise<ConformanceReport> {
  const probe = await make();
  const n = probe.size;
  await probe.dispose();
  const o: Required<OracleSuiteOptions> = {
    epsilon: 1e-2, delta: 1e-2, fineEpsilon: 1e-6, fineDelta: 1e-7, step: 1e-2, fdTolerance: 1e-2, repeats: 4, seed: 0,
    subset: n > 1 ? [n - 1, 0] : [0], ...opts,
  };
  const checks: CheckResult[] = [];
  for (const c of [finiteDifferenceCheck, boundCheck, warmStartCheck, stateCheck, subsetCheck, memoryGrowthCheck]) checks.push(await c(make, o));
  return { subject, checks, passed: checks.every((c) => c.passed) };
}
