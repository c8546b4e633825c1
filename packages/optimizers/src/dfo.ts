import type {
  HypergradientOracle, LowerEvaluation, OptimizerContext, OptimizerResult, OuterOptimizer, StopReason,
} from '@bilevel/core';
import { distance, iterationRecord, norm, type FloorPolicy } from './common.js';
import { StopRules } from './stopping.js';

export interface DfoOptions {
  /** Initial trust-region radius Δ₀ (in θ units) and its bounds; converged once Δ < radiusMin. */
  radius0: number;
  radiusMin: number;
  radiusMax: number;
  /** Step acceptance ρ ≥ eta1; radius growth when ρ ≥ eta2 and the step reached the boundary. */
  eta1: number;
  eta2: number;
  /** Δ ← shrink·Δ after a failed step of a well-poised model; Δ ← grow·Δ after a very successful one. */
  shrink: number;
  grow: number;
  /** Lower-level accuracy at Δ₀; dynamically ε_k = min(epsilon0, epsilon0·(Δ_k/Δ₀)²)·(tightening). */
  epsilon0: number;
  /** Dynamic accuracy test: the certified errors of f̃(θ_k) and f̃(θ_k + s) must be ≤ noiseRatio·(m(0) − m(s)). */
  noiseRatio: number;
  /** Below the float32 floor: 'clamp' keeps the floor accuracy (stops when the test still fails), 'stop' stops at once. */
  atFloor: FloorPolicy;
}

export const DFO_DEFAULTS: DfoOptions = {
  radius0: 1, radiusMin: 1e-3, radiusMax: 10, eta1: 0.1, eta2: 0.7, shrink: 0.5, grow: 2, epsilon0: 1e-1, noiseRatio: 0.25,
  atFloor: 'clamp',
};

interface Sample {
  theta: Float64Array;
  value: number;
  /** Certified bound on |f̃ − f|. */
  error: number;
  /** The accuracy it was evaluated at. */
  epsilon: number;
}

/** Eigen-decomposition of a small symmetric matrix (cyclic Jacobi): H = Q diag(λ) Qᵀ, Q's columns the eigenvectors. */
export function symmetricEigen(H: number[][]): { values: number[]; vectors: number[][] } {
  const n = H.length;
  const A = H.map((r) => [...r]);
  const V: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += A[i][j] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) {
      if (Math.abs(A[p][q]) < 1e-300) continue;
      const theta = (A[q][q] - A[p][p]) / (2 * A[p][q]);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1), s = t * c;
      for (let k = 0; k < n; k++) {
        const akp = A[k][p], akq = A[k][q];
        A[k][p] = c * akp - s * akq;
        A[k][q] = s * akp + c * akq;
      }
      for (let k = 0; k < n; k++) {
        const apk = A[p][k], aqk = A[q][k];
        A[p][k] = c * apk - s * aqk;
        A[q][k] = s * apk + c * aqk;
      }
      for (let k = 0; k < n; k++) {
        const vkp = V[k][p], vkq = V[k][q];
        V[k][p] = c * vkp - s * vkq;
        V[k][q] = s * vkp + c * vkq;
      }
    }
  }
  return { values: A.map((r, i) => r[i]), vectors: V };
}

/** Solves the symmetric system A x = b (Gaussian elimination with partial pivoting). */
function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((r, i) => [...r, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    [M[c], M[p]] = [M[p], M[c]];
    const piv = M[c][c] || 1e-300;
    for (let r = c + 1; r < n; r++) {
      const f = M[r][c] / piv;
      for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = M[r][n];
    for (let k = r + 1; k < n; k++) s -= M[r][k] * x[k];
    x[r] = s / (M[r][r] || 1e-300);
  }
  return x;
}

/** min gᵀs + ½sᵀHs subject to ‖s‖ ≤ Δ (eigen-decomposition and bisection on the secular equation; hard case handled). */
export function trustRegionStep(g: number[], H: number[][], radius: number): number[] {
  const d = g.length;
  const { values, vectors } = symmetricEigen(H);
  const gh = values.map((_, i) => vectors.reduce((s, row, k) => s + row[i] * g[k], 0));
  const step = (lambda: number) => values.map((l, i) => -gh[i] / (l + lambda));
  const toS = (c: number[]) => Array.from({ length: d }, (_, k) => c.reduce((s, ci, i) => s + vectors[k][i] * ci, 0));
  const lmin = Math.min(...values);
  if (lmin > 0) {
    const c = step(0);
    if (norm(c) <= radius) return toS(c);
  }
  let lo = Math.max(0, -lmin) + 1e-14 * (1 + Math.abs(lmin));
  let hi = Math.max(lo, 0) + norm(g) / radius + Math.max(...values.map(Math.abs)) + 1e-12;
  if (norm(step(lo)) < radius) {
    // Hard case: the step at λ = −λ_min is inside the ball; move along the bottom eigenvector to the boundary.
    const imin = values.indexOf(lmin);
    const c = values.map((l, i) => (i === imin ? 0 : -gh[i] / (l - lmin)));
    const tau = Math.sqrt(Math.max(0, radius * radius - norm(c) ** 2));
    c[imin] += tau;
    return toS(c);
  }
  for (let it = 0; it < 200; it++) {
    const mid = 0.5 * (lo + hi);
    if (norm(step(mid)) > radius) lo = mid;
    else hi = mid;
    if (hi - lo <= 1e-14 * Math.max(1, hi)) break;
  }
  return toS(step(hi));
}

/**
 * A derivative-free baseline for few-parameter problems, in the spirit of DFO-LS (Cartis, Fiala, Marteau, Roberts)
 * and of its use for bilevel learning (Ehrhardt & Roberts): a trust-region method on f(θ) with quadratic models
 * fitted (regularised least squares) to sampled values, geometry-improving points when the sample set is badly
 * poised, and dynamic accuracy — the lower-level accuracy follows the trust region (ε_k ∝ Δ_k²) and is tightened
 * whenever the certified errors of the two compared values are not small against the predicted decrease.
 */
export class Dfo implements OuterOptimizer {
  readonly name = 'dfo';
  constructor(readonly options: DfoOptions = DFO_DEFAULTS) {}

  run(oracle: HypergradientOracle, theta0: Float64Array, ctx: OptimizerContext): OptimizerResult {
    const o = this.options;
    const d = theta0.length;
    const rules = new StopRules(ctx.budget, oracle, ctx.shouldStop);
    const Lg = oracle.upper.lipschitz;
    let radius = o.radius0;
    let tightening = 1;
    let iter = 0;
    const samples: Sample[] = [];
    const maxSamples = Math.max(2 * d + 1, ((d + 1) * (d + 2)) / 2) * 2;
    let center: Sample;
    const theta = Float64Array.from(theta0);
    const finish = (reason: StopReason, message: string): OptimizerResult => ({ theta: Float64Array.from(center?.theta ?? theta0), stopReason: reason, message, iterations: iter });

    const accuracy = (at: Float64Array): { epsilon: number; atFloor: boolean } => {
      const e = Math.min(o.epsilon0, o.epsilon0 * (radius / o.radius0) ** 2) * tightening;
      const floor = oracle.accuracyFloor(at);
      return e < floor ? { epsilon: floor, atFloor: true } : { epsilon: e, atFloor: false };
    };
    const evaluate = (at: Float64Array, epsilon: number): { sample: Sample; ev: LowerEvaluation } => {
      const ev = oracle.evaluate(at, epsilon);
      const e = ev.lower.certifiedError;
      const sample = { theta: Float64Array.from(at), value: ev.value, error: ev.upperGradNorm * e + 0.5 * Lg * e * e, epsilon };
      return { sample, ev };
    };
    const add = (s: Sample) => {
      samples.push(s);
      if (samples.length > maxSamples) {
        let far = -1, farDist = -1;
        samples.forEach((p, i) => {
          const dist = distance(p.theta, center.theta);
          if (p !== center && dist > farDist) [far, farDist] = [i, dist];
        });
        samples.splice(far, 1);
      }
    };
    /** Least-squares quadratic model around the center in u = (θ − c)/Δ, and whether the nearby points are well poised. */
    const model = () => {
      const c = center.theta;
      const near = samples
        .filter((p) => p !== center)
        .map((p) => ({ p, u: Array.from(p.theta, (t, j) => (t - c[j]) / radius) }))
        .sort((a, b) => norm(a.u) - norm(b.u))
        .slice(0, ((d + 1) * (d + 2)) / 2 - 1 + d);
      const rows = [{ u: new Array<number>(d).fill(0), f: center.value }, ...near.map((n) => ({ u: n.u, f: n.p.value }))];
      const quad = (u: number[]) => {
        const q: number[] = [];
        for (let i = 0; i < d; i++) for (let j = i; j < d; j++) q.push(i === j ? 0.5 * u[i] * u[i] : u[i] * u[j]);
        return q;
      };
      const phi = rows.map((r) => [1, ...r.u, ...quad(r.u)]);
      const P = phi[0].length;
      const A = Array.from({ length: P }, () => new Array<number>(P).fill(0));
      const b = new Array<number>(P).fill(0);
      phi.forEach((row, r) => {
        // The center is interpolated (weight 10), the other points fitted.
        const w = r === 0 ? 100 : 1;
        for (let i = 0; i < P; i++) {
          b[i] += w * row[i] * rows[r].f;
          for (let j = 0; j < P; j++) A[i][j] += w * row[i] * row[j];
        }
      });
      const scale = A.reduce((s, r, i) => s + r[i], 0) / P;
      for (let i = 1 + d; i < P; i++) A[i][i] += 1e-6 * scale;
      for (let i = 1; i <= d; i++) A[i][i] += 1e-10 * scale;
      const beta = solve(A, b);
      const g = beta.slice(1, 1 + d).map((v) => v / radius);
      const H = Array.from({ length: d }, () => new Array<number>(d).fill(0));
      let k = 1 + d;
      for (let i = 0; i < d; i++) for (let j = i; j < d; j++) {
        H[i][j] = H[j][i] = beta[k++] / (radius * radius);
      }
      // Poisedness: displacement vectors within 2Δ must span all directions.
      const close = near.filter((n) => norm(n.u) <= 2);
      const S = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => close.reduce((s, n) => s + n.u[i] * n.u[j], 0)));
      const eig = symmetricEigen(S);
      const lmin = Math.min(...eig.values);
      const weakest = eig.vectors.map((row) => row[eig.values.indexOf(lmin)]);
      return { g, H, poised: close.length >= d && lmin >= 0.1, weakest };
    };

    // Initial samples: θ₀ and θ₀ ± Δ₀ e_i.
    {
      const { epsilon } = accuracy(theta);
      const first = evaluate(theta, epsilon);
      center = first.sample;
      oracle.accept(first.ev);
      oracle.release(first.ev);
      samples.push(center);
      for (let i = 0; i < d && !rules.check(0); i++) {
        for (const sign of [1, -1]) {
          const at = Float64Array.from(theta);
          at[i] += sign * radius;
          const { sample, ev } = evaluate(at, epsilon);
          oracle.release(ev);
          add(sample);
        }
      }
    }

    for (;;) {
      const stop = rules.check(iter);
      if (stop) return finish(stop.reason, stop.message);
      if (radius < o.radiusMin) return finish('converged', `trust-region radius ${radius.toExponential(2)} < radiusMin ${o.radiusMin}`);
      if (o.atFloor === 'stop' && accuracy(center.theta).atFloor) return finish('accuracy-floor', `the dynamic accuracy asks ε below the float32 floor ${oracle.accuracyFloor(center.theta).toExponential(2)}`);
      const m = model();
      const s = trustRegionStep(m.g, m.H, radius);
      const sNorm = norm(s);
      const pred = -(s.reduce((a, si, i) => a + m.g[i] * si, 0) + 0.5 * s.reduce((a, si, i) => a + si * m.H[i].reduce((b, h, j) => b + h * s[j], 0), 0));
      let backtracks = 0;
      let accepted = false;
      let rho = NaN;
      let acc = accuracy(center.theta);
      const trialTheta = center.theta.map((t, i) => t + s[i]);
      if (!(pred > 0) || sNorm < 1e-12) {
        // The model predicts no decrease: improve the geometry or shrink.
        if (m.poised) radius *= o.shrink;
        else {
          const at = center.theta.map((t, i) => t + radius * m.weakest[i]);
          const { sample, ev } = evaluate(at, acc.epsilon);
          oracle.release(ev);
          add(sample);
          backtracks++;
        }
      } else {
        // Re-evaluate the center when its value is less accurate than this iteration asks.
        const refresh = () => {
          const c = evaluate(center.theta, acc.epsilon);
          oracle.accept(c.ev);
          oracle.release(c.ev);
          const i = samples.indexOf(center);
          center = c.sample;
          samples[i] = center;
        };
        let trial = evaluate(trialTheta, acc.epsilon);
        for (;;) {
          if (center.error + trial.sample.error <= o.noiseRatio * pred) break;
          if (center.epsilon > acc.epsilon * 1.001) {
            // The center's value is staler than this iteration's accuracy: refresh it before tightening.
            refresh();
            backtracks++;
            continue;
          }
          if (acc.atFloor) {
            if (o.atFloor === 'stop' || center.error + trial.sample.error > pred) {
              oracle.release(trial.ev);
              return finish('accuracy-floor', `certified errors of f (${(center.error + trial.sample.error).toExponential(2)}) exceed the model decrease ${pred.toExponential(2)} at the float32 accuracy floor`);
            }
            break;
          }
          tightening *= 0.5;
          acc = accuracy(center.theta);
          if (acc.atFloor && o.atFloor === 'stop') {
            oracle.release(trial.ev);
            return finish('accuracy-floor', `the dynamic accuracy asks ε below the float32 floor ${acc.epsilon.toExponential(2)}`);
          }
          backtracks++;
          oracle.release(trial.ev);
          refresh();
          trial = evaluate(trialTheta, acc.epsilon);
          const stopNow = rules.check(iter);
          if (stopNow) {
            oracle.release(trial.ev);
            return finish(stopNow.reason, stopNow.message);
          }
        }
        rho = (center.value - trial.sample.value) / pred;
        add(trial.sample);
        if (rho >= o.eta1) {
          accepted = true;
          oracle.accept(trial.ev);
          center = trial.sample;
          if (rho >= o.eta2 && sNorm >= 0.9 * radius) radius = Math.min(o.grow * radius, o.radiusMax);
        } else if (m.poised) {
          radius *= o.shrink;
        } else {
          const at = center.theta.map((t, i) => t + radius * m.weakest[i]);
          const g = evaluate(at, acc.epsilon);
          oracle.release(g.ev);
          add(g.sample);
          backtracks++;
        }
        oracle.release(trial.ev);
      }
      iter++;
      ctx.onIteration?.(iterationRecord(oracle, {
        iter, seconds: rules.seconds, upperLoss: center.value, epsilon: acc.epsilon, delta: 0, omega: 0, gradNorm: norm(m.g),
        step: accepted ? sNorm : 0, backtracks, radius, rho, fErrorBound: center.error,
      }), Float64Array.from(center.theta));
    }
  }
}
