import { BilevelError } from '@bilevel/core';
import { norm } from './common.js';

type MathJs = typeof import('mathjs');
let mathjs: MathJs | undefined;

/** Loads mathjs (about a second: only DFO needs it, so it is not loaded with the package). */
export async function loadLinearAlgebra(): Promise<void> {
  mathjs ??= await import('mathjs');
}

function math(): MathJs {
  if (!mathjs) throw new BilevelError('DFO\'s linear algebra is not loaded', 'await loadLinearAlgebra() first (Dfo.step does)');
  return mathjs;
}

/** Eigen-decomposition of a small symmetric matrix (mathjs `eigs`): H = Q diag(λ) Qᵀ, Q's columns the eigenvectors. */
export function symmetricEigen(H: number[][]): { values: number[]; vectors: number[][] } {
  const n = H.length;
  // Symmetrised, so that round-off cannot make eigs return complex pairs.
  const S = H.map((r, i) => r.map((v, j) => (v + H[j][i]) / 2));
  const { eigenvectors } = math().eigs(S);
  const vectors = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const values = eigenvectors.map((e, k) => {
    (e.vector as number[]).forEach((v, i) => (vectors[i][k] = v));
    return e.value as number;
  });
  return { values, vectors };
}

/** Solves the symmetric system A x = b (mathjs LU with partial pivoting; the pseudo-inverse when A is singular). */
function solve(A: number[][], b: number[]): number[] {
  const m = math();
  try {
    return (m.lusolve(A, b) as number[][]).map((r) => r[0]);
  } catch {
    return m.multiply(m.pinv(A), b) as number[];
  }
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

/** A sampled value f̃(θ), its certified error bound |f̃ − f| and the accuracy ε it was evaluated at. */
export interface Sample {
  theta: Float64Array;
  value: number;
  /** Certified bound on |f̃ − f|. */
  error: number;
  /** The accuracy it was evaluated at. */
  epsilon: number;
}

/** The quadratic model m(s) = gᵀs + ½sᵀHs around the center, and the sample set's geometry. */
export interface QuadraticModel {
  g: number[];
  H: number[][];
  /** Whether the points within 2Δ span every direction (λ_min of Σ uuᵀ ≥ 0.1). */
  poised: boolean;
  /** The direction they span least (a geometry-improving point goes there). */
  weakest: number[];
}

/**
 * Least-squares fit of [1, u, quadratic terms of u]·β = f (center weighted 100, ridge 10⁻⁶/10⁻¹⁰ × the mean diagonal on
 * the quadratic/linear terms) in u = (θ − c)/Δ; g and H rescaled back to θ.
 */
function fitQuadratic(rows: { u: number[]; f: number }[], d: number, radius: number): { g: number[]; H: number[][] } {
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
  return { g, H };
}

/** Least-squares quadratic model around the center in u = (θ − c)/Δ, and whether the nearby points are well poised. */
export function quadraticModel(samples: readonly Sample[], center: Sample, radius: number): QuadraticModel {
  const d = center.theta.length;
  const c = center.theta;
  const near = samples
    .filter((p) => p !== center)
    .map((p) => ({ p, u: Array.from(p.theta, (t, j) => (t - c[j]) / radius) }))
    .sort((a, b) => norm(a.u) - norm(b.u))
    .slice(0, ((d + 1) * (d + 2)) / 2 - 1 + d);
  const rows = [{ u: new Array<number>(d).fill(0), f: center.value }, ...near.map((n) => ({ u: n.u, f: n.p.value }))];
  const { g, H } = fitQuadratic(rows, d, radius);
  // Poisedness: displacement vectors within 2Δ must span all directions.
  const close = near.filter((n) => norm(n.u) <= 2);
  const S = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => close.reduce((s, n) => s + n.u[i] * n.u[j], 0)));
  const eig = symmetricEigen(S);
  const lmin = Math.min(...eig.values);
  const weakest = eig.vectors.map((row) => row[eig.values.indexOf(lmin)]);
  return { g, H, poised: close.length >= d && lmin >= 0.1, weakest };
}

/** The model decrease m(0) − m(s) = −(gᵀs + ½sᵀHs). */
export function predictedDecrease(m: QuadraticModel, s: number[]): number {
  return -(s.reduce((a, si, i) => a + m.g[i] * si, 0) + 0.5 * s.reduce((a, si, i) => a + si * m.H[i].reduce((b, h, j) => b + h * s[j], 0), 0));
}
