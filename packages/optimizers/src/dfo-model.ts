import { norm } from './common.js';

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
