import { describe, expect, it } from 'vitest';
import { runOptimizer, tf, useBackend, type IterationRecord, type LowerEvaluation } from '@bilevel/core';
import { certifiedDirection, certifyingAccuracy, closerTo, Maid, MAID_DEFAULTS, quasiNewtonStep, type MaidOptions, type MaidState } from '@bilevel/optimizers';
import { boundAndError, disposeOracle, expectResumeExact, reconstructionOf, recording, runSmall, smallTvOracle, theta0 } from './helpers.js';

/**
 * A coarse start given explicitly (0.1 Euclidean on the 2-image 24×24 problem, per element): where the shrink rule and the
 * value bounds matter most. The derived start (no ε₀, δ₀, α₀) is tested on its own below.
 */
const COARSE_START = { epsilon0: 0.1 / Math.sqrt(2 * 24 * 24), delta0: (0.1 * 2) / Math.sqrt(2 * 24 * 24), step0: 0.01 } as const;

/** MAID with `options` on the 2-image TV problem until it stops by itself: result, rows and total lower-level + CG work. */
async function runToStop(options: Partial<MaidOptions>) {
  const { result: r, rows } = await runSmall(new Maid({ ...MAID_DEFAULTS, ...COARSE_START, ...options }), { maxIterations: 500 });
  return { r, rows, work: rows.at(-1)!.lowerIterations + rows.at(-1)!.cgIterations };
}

/** MAID from `start` for at most `maxIterations`: result, rows and the state its last step returned. */
async function runMaid(options: Partial<MaidOptions>, maxIterations: number, start = theta0) {
  const rec = recording(new Maid({ ...MAID_DEFAULTS, ...options }));
  const { result: r, rows } = await runSmall(rec.optimizer, { maxIterations }, { theta0: start });
  return { r, rows, state: rec.last() as MaidState };
}

describe('MAID on a small TV denoising problem', () => {
  it('decreases the upper loss at every accepted step and stops by itself with a reason', async () => {
    const { r, rows } = await runMaid(COARSE_START, 500);
    expect(['converged', 'accuracy-floor']).toContain(r.stopReason);
    expect(r.message.length).toBeGreaterThan(10);
    expect(rows.length).toBe(r.iterations);
    // Certified descent: each accepted upper-level value is below the previous one (up to the certified slack).
    for (let k = 1; k < rows.length; k++) expect(rows[k].upperLoss).toBeLessThan(rows[k - 1].upperLoss + 1e-6);
    expect(rows.at(-1)!.upperLoss).toBeLessThan(0.5 * rows[0].upperLoss);
  });

  it('stops with max-iterations and with budget when those limits bind', async () => {
    const oracle = await smallTvOracle(2, 24);
    expect((await runOptimizer(new Maid(), oracle, theta0, { budget: { maxIterations: 3 } })).stopReason).toBe('max-iterations');
    expect((await runOptimizer(new Maid(), oracle, theta0, { budget: { maxIterations: 1000, maxInnerIterations: 50 } })).stopReason).toBe('budget');
    expect((await runOptimizer(new Maid(), oracle, theta0, { budget: { maxIterations: 1000 }, shouldStop: () => true })).stopReason).toBe('interrupted');
    await disposeOracle(oracle);
  });

  it("atFloor 'stop': stops with accuracy-floor when the requested accuracy is below what float32 can certify", async () => {
    const { r } = await runMaid({ epsilon0: 1e-9, delta0: 1e-9, atFloor: 'stop' }, 100);
    expect(r.stopReason).toBe('accuracy-floor');
    expect(r.iterations).toBe(0);
  });

  it("atFloor 'clamp': iterates at the floor with uncertified steps that decrease the computed loss", async () => {
    const probe = await smallTvOracle(2, 24);
    // The oracle's floor is Euclidean over its size·pixels unknowns; MAID's ε is per element (RMS).
    const floor = (await probe.accuracyFloor(theta0)) / Math.sqrt(probe.size * probe.pixels);
    await disposeOracle(probe);
    const { r, rows } = await runMaid({ epsilon0: 1e-9, delta0: 1e-9 }, 20);
    expect(r.iterations).toBeGreaterThan(5);
    expect(rows[0].certified).toBe(0);
    expect(rows[0].epsilon).toBeGreaterThanOrEqual(floor * 0.5);
    for (let k = 1; k < rows.length; k++) expect(rows[k].upperLoss).toBeLessThanOrEqual(rows[k - 1].upperLoss);
    expect(rows.at(-1)!.upperLoss).toBeLessThan(rows[0].upperLoss);
  });

  it("metric 'rms': certified descent along the diagonally rescaled direction, its running mean in the state", async () => {
    const { r, rows, state } = await runMaid({ metric: 'rms' }, 30);
    expect(r.iterations).toBeGreaterThan(10);
    for (let k = 1; k < rows.length; k++) expect(rows[k].upperLoss).toBeLessThan(rows[k - 1].upperLoss + 1e-6);
    expect(rows.at(-1)!.upperLoss).toBeLessThan(0.95 * rows[0].upperLoss);
    expect(state.metricMean).toHaveLength(2);
    expect(state.metricSteps).toBe(r.iterations);
  });

  it("metric 'lbfgs': certified descent with unit quasi-Newton steps, at most metricMemory pairs, ahead of −z after 12 iterations", async () => {
    // From (−3, −4) the upper loss is convex along the path, so curvature pairs form (from (−5, −5) it is not at first).
    const run = (metric: 'identity' | 'lbfgs') => runMaid({ metric, metricMemory: 3, step0: 0.1 }, 12, Float64Array.from([-3, -4]));
    const q = await run('lbfgs');
    for (let k = 1; k < q.rows.length; k++) expect(q.rows[k].upperLoss).toBeLessThan(q.rows[k - 1].upperLoss + 1e-6);
    expect(q.rows.some((r) => r.step === 1)).toBe(true);
    expect(q.state.pairs!.length).toBeGreaterThan(0);
    expect(q.state.pairs!.length).toBeLessThanOrEqual(3);
    expect(q.rows.at(-1)!.upperLoss).toBeLessThan((await run('identity')).rows.at(-1)!.upperLoss);
  });

  it("metric 'lbfgs' at the float32 floor: a failed quasi-Newton step is retried along −z before MAID stops with accuracy-floor", async () => {
    const { r, rows, state } = await runMaid({ epsilon0: 1e-9, delta0: 1e-9, metric: 'lbfgs', step0: 0.1 }, 400, Float64Array.from([-3, -4]));
    expect(r.stopReason).toBe('accuracy-floor');
    expect(rows.some((row) => row.step === 1)).toBe(true);
    for (let k = 1; k < rows.length; k++) expect(rows[k].upperLoss).toBeLessThanOrEqual(rows[k - 1].upperLoss);
    // The stop came from the −z retry: the quasi-Newton memory had been dropped.
    expect(state.pairs).toEqual([]);
    expect(state.last).toBeUndefined();
  });

  it('certifiedDirection: a quasi-Newton d uncertified at ω gives way to −z where −z is certified, with H\'s scale along z as its step', () => {
    const z = Float64Array.from([1, 0]), d = Float64Array.from([0.1, 1]); // cos(z, d) ≈ 0.0995
    const eta = 1e-4;
    // ω small enough for d: d stays.
    const keep = certifiedDirection(z, d, 0.05, eta, true);
    expect(keep.d).toBe(d);
    expect(keep.zd).toBeCloseTo(0.1, 12);
    expect(keep.omegaMax).toBeCloseTo((1 - eta) * 0.1 / Math.hypot(0.1, 1), 12);
    expect(keep.steepestStep).toBeUndefined();
    // ω too large for d, fine for −z: −z with α₀ = ⟨z, d⟩/‖z‖².
    const fallback = certifiedDirection(z, d, 0.5, eta, true);
    expect(fallback.d).toBe(z);
    expect(fallback.zd).toBe(1);
    expect(fallback.omegaMax).toBeCloseTo(1 - eta, 12);
    expect(fallback.steepestStep).toBeCloseTo(0.1, 12);
    // Without the fallback (not quasi-Newton), or with ω too large for −z as well: d stays and the test fails.
    for (const r of [certifiedDirection(z, d, 0.5, eta, false), certifiedDirection(z, d, 2, eta, true)]) {
      expect(r.d).toBe(d);
      expect(r.steepestStep).toBeUndefined();
      expect(r.omegaMax).toBeLessThan(0.5);
    }
  });

  it('quasiNewtonStep: the unit step, unless it is longer than cap (10) × the last accepted step', () => {
    const theta = Float64Array.from([1, 2]);
    expect(quasiNewtonStep(Float64Array.from([3, 4]), theta, undefined)).toBe(1);
    expect(quasiNewtonStep(Float64Array.from([3, 4]), theta, [1, 1.5])).toBe(1); // ‖d‖ = 5 ≤ 10 · 0.5
    expect(quasiNewtonStep(Float64Array.from([30, 40]), theta, [1, 1.5])).toBeCloseTo(0.1, 12); // ‖αd‖ = 5
    expect(quasiNewtonStep(Float64Array.from([30, 40]), theta, [1, 2])).toBe(1); // no last step to scale by
    expect(quasiNewtonStep(Float64Array.from([30, 40]), theta, [1, 1.5], 0)).toBe(1); // cap 0: no limit
    expect(quasiNewtonStep(Float64Array.from([30, 40]), theta, [1, 1.5], 2)).toBeCloseTo(0.02, 12);
  });

  it('certifyingAccuracy is the positive root of Gε + L_g ε² = D', () => {
    for (const [D, G, Lg] of [[1e-3, 2, 5], [0.5, 1e-3, 100], [2, 0, 3]]) {
      const e = certifyingAccuracy(D, G, Lg);
      expect(e).toBeGreaterThan(0);
      expect(Math.abs(G * e + Lg * e * e - D) / D).toBeLessThan(1e-12);
    }
    expect(certifyingAccuracy(-1, 1, 1)).toBe(0);
  });

  it("shrinkRule 'predicted': certified descent, the same stationary point as 'fixed', and no more lower-level + CG work", async () => {
    const f = await runToStop({ shrinkRule: 'fixed' }), p = await runToStop({ shrinkRule: 'predicted' });
    for (let k = 1; k < p.rows.length; k++) expect(p.rows[k].upperLoss).toBeLessThan(p.rows[k - 1].upperLoss + 1e-6);
    // Some shrink jumped further than ×shrink (ε fell by more than 2× between two consecutive rows).
    expect(p.rows.some((row, k) => k > 0 && row.epsilon < 0.5 * p.rows[k - 1].epsilon)).toBe(true);
    expect(Math.abs(p.rows.at(-1)!.upperLoss - f.rows.at(-1)!.upperLoss) / f.rows.at(-1)!.upperLoss).toBeLessThan(1e-3);
    expect(p.work).toBeLessThanOrEqual(f.work);
  });

  it("valueBound 'adjoint': certified descent to the same stationary point as 'gradient', at coarser ε, reaching its final loss with less lower-level + CG work", async () => {
    const g = await runToStop({ valueBound: 'gradient' }), a = await runToStop({ valueBound: 'adjoint' });
    const median = (rows: IterationRecord[]) => rows.map((row) => row.epsilon).sort((x, y) => x - y)[rows.length >> 1];
    console.log(`gradient: ${g.r.stopReason} after ${g.r.iterations} its, work ${g.work}, median ε ${median(g.rows).toExponential(2)}, loss ${g.rows.at(-1)!.upperLoss}; ` +
      `adjoint: ${a.r.stopReason} after ${a.r.iterations} its, work ${a.work}, median ε ${median(a.rows).toExponential(2)}, loss ${a.rows.at(-1)!.upperLoss}`);
    expect(['converged', 'accuracy-floor']).toContain(a.r.stopReason);
    for (let k = 1; k < a.rows.length; k++) expect(a.rows[k].upperLoss).toBeLessThan(a.rows[k - 1].upperLoss + 1e-6);
    expect(Math.abs(a.rows.at(-1)!.upperLoss - g.rows.at(-1)!.upperLoss) / g.rows.at(-1)!.upperLoss).toBeLessThan(1e-3);
    expect(median(a.rows)).toBeGreaterThan(median(g.rows));
    // Both run on to the float32 floor, where the adjoint bound still certifies decreases the gradient bound cannot:
    // compare the work to the loss at which 'gradient' stopped.
    const workTo = (rows: IterationRecord[], level: number) => {
      const row = rows.find((x) => x.upperLoss <= level);
      return row ? row.lowerIterations + row.cgIterations : Infinity;
    };
    const level = g.rows.at(-1)!.upperLoss;
    console.log(`work to the loss 'gradient' stopped at: gradient ${workTo(g.rows, level)}, adjoint ${workTo(a.rows, level)}`);
    expect(workTo(a.rows, level)).toBeLessThan(workTo(g.rows, level));
  });

  it("ω bounds the hypergradient error at MAID's stationary point, with a fresh oracle (no running maxima from earlier θ)", async () => {
    // Near a stationary point z → 0, so ‖Jᵀq‖/‖q‖ alone would put ‖J‖ (hence c₁, c₂) near 0: the power probe must not.
    const { r } = await runToStop({});
    for (const { epsilon, zNorm, error, omega } of await boundAndError(r.theta, [[1e-1, 1e-1], [1e-2, 1e-2], [1e-3, 1e-3]])) {
      console.log(`θ* ${Array.from(r.theta, (t) => t.toFixed(4))}, ε = δ = ${epsilon}: ‖z‖ ${zNorm.toExponential(2)}, error ${error.toExponential(2)} ≤ ω ${omega.toExponential(2)}`);
      expect(omega).toBeGreaterThanOrEqual(error);
    }
  });

  it('a refinement at the accepted θ warm-starts from the finer x̃ it replaces, not from the coarser accepted one', async () => {
    const oracle = await smallTvOracle(2, 24);
    const evaluate = oracle.evaluate.bind(oracle);
    let accepted = Array.from(theta0).join(',');
    let latest: Float32Array | undefined; // x̃ of the latest evaluation at the accepted θ
    let refinements = 0;
    oracle.evaluate = async (theta, epsilon, from) => {
      const atAccepted = Array.from(theta).join(',') === accepted;
      if (atAccepted && latest) {
        refinements++;
        expect(await reconstructionOf(oracle)).toEqual(latest);
      }
      const ev = await evaluate(theta, epsilon, from);
      if (atAccepted) latest = await reconstructionOf(oracle, ev);
      return ev;
    };
    await runOptimizer(new Maid({ ...MAID_DEFAULTS, epsilon0: 0.3, delta0: 0.3, shrinkRule: 'fixed' }), oracle, theta0, {
      budget: { maxIterations: 30 },
      onIteration: async (_row, theta) => {
        accepted = Array.from(theta).join(',');
        latest = await reconstructionOf(oracle);
      },
    });
    expect(refinements).toBeGreaterThan(0);
    await disposeOracle(oracle);
  });

  it('a trial rejected for accuracy alone is re-solved from its own x̃ (closerTo), not from the accepted one', async () => {
    const oracle = await smallTvOracle(2, 24);
    const evaluate = oracle.evaluate.bind(oracle);
    let lastTrial: LowerEvaluation | undefined;
    let accepted = Float64Array.from(theta0);
    let retries = 0;
    oracle.evaluate = async (theta, epsilon, from) => {
      if (from) {
        retries++;
        expect(from).toBe(lastTrial); // the trial just rejected
        expect(closerTo(theta, from.theta, accepted)).toBe(true);
      }
      const ev = await evaluate(theta, epsilon, from);
      if (theta.some((t, i) => t !== accepted[i])) lastTrial = ev;
      return ev;
    };
    const r = await runOptimizer(new Maid(), oracle, theta0, { budget: { maxIterations: 500 }, onIteration: (_row, theta) => void (accepted = Float64Array.from(theta)) });
    console.log(`${retries} re-solved trials in ${r.iterations} iterations`);
    expect(retries).toBeGreaterThan(0);
    await disposeOracle(oracle);
  });

  it('closerTo: whether θ is nearer the first point than the second', () => {
    const p = (...v: number[]) => Float64Array.from(v);
    expect(closerTo(p(1, 1), p(1, 1.1), p(0, 0))).toBe(true);
    expect(closerTo(p(0.1, 0), p(1, 1.1), p(0, 0))).toBe(false);
  });

  it('keeps tf.memory().numTensors flat between outer iterations 5 and 50', async () => {
    const oracle = await smallTvOracle(2, 16);
    const counts: Record<number, number> = {};
    // No step growth: progress is slow enough that the run neither converges nor reaches the float32 floor by iteration 50.
    for (const valueBound of ['gradient', 'adjoint'] as const) {
      const maid = new Maid({ ...MAID_DEFAULTS, stepGrow: 1, relGradTol: 0, valueBound });
      const r = await runOptimizer(maid, oracle, theta0, { budget: { maxIterations: 50 }, onIteration: (row) => void (counts[row.iter] = tf.memory().numTensors) });
      expect(r.iterations).toBe(50);
      expect(counts[50]).toBe(counts[5]);
    }
    await disposeOracle(oracle);
  });

  it('wasm and cpu backends learn the same θ to 1e-4 relative on a short run', async () => {
    const run = async (backend: string) => {
      await useBackend(backend);
      const oracle = await smallTvOracle(2, 16);
      const r = await runOptimizer(new Maid(), oracle, theta0, { budget: { maxIterations: 8 } });
      await disposeOracle(oracle);
      return r.theta;
    };
    const a = await run('wasm');
    const b = await run('cpu');
    await useBackend(process.env.BILEVEL_BACKEND ?? 'wasm');
    const rel = Math.hypot(...Array.from(a, (v, i) => v - b[i])) / Math.hypot(...a);
    console.log(`θ wasm ${Array.from(a)} cpu ${Array.from(b)} relative difference ${rel.toExponential(2)}`);
    expect(rel).toBeLessThanOrEqual(1e-4);
  });

  for (const [name, options] of [
    ["valueBound 'gradient'", { valueBound: 'gradient' }],
    ["valueBound 'adjoint' (the carried trial hypergradient)", { valueBound: 'adjoint' }],
    ["metric 'lbfgs'", { metric: 'lbfgs', step0: 0.1 }],
  ] as const) {
    it(`resumes bit-for-bit from a checkpoint (${name})`, async () => {
      await expectResumeExact(() => new Maid({ ...MAID_DEFAULTS, ...options }), 10, 4, { theta0: Float64Array.from([-3, -4]) });
    });
  }
});
