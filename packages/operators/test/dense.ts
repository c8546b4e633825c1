import { tf, type ForwardOperator, type ImageBatch } from '@bilevel/core';

/** The dense matrix of A (rows: measurement entries, columns: pixels), from A applied to every basis image at once. */
export function denseMatrix(op: ForwardOperator): { rows: number; cols: number; data: Float64Array } {
  const [h, w] = op.domainShape;
  const cols = h * w;
  const y = tf.tidy(() => op.apply(tf.reshape(tf.eye(cols), [cols, h, w, 1]) as ImageBatch));
  const rows = y.size / cols;
  const v = y.dataSync();
  y.dispose();
  const data = new Float64Array(rows * cols);
  for (let j = 0; j < cols; j++) for (let i = 0; i < rows; i++) data[i * cols + j] = v[j * rows + i];
  return { rows, cols, data };
}

/** The dense matrix of Aᵀ (rows: pixels), from Aᵀ applied to every basis measurement. */
export function denseAdjoint(op: ForwardOperator): { rows: number; cols: number; data: Float64Array } {
  const [h, w] = op.domainShape;
  const m = op.rangeShape.reduce((a, b) => a * b, 1);
  const x = tf.tidy(() => op.adjoint(tf.reshape(tf.eye(m), [m, ...op.rangeShape])));
  const v = x.dataSync();
  x.dispose();
  const n = h * w;
  const data = new Float64Array(n * m);
  for (let j = 0; j < m; j++) for (let i = 0; i < n; i++) data[i * m + j] = v[j * n + i];
  return { rows: n, cols: m, data };
}

/** AᵀA of a dense matrix. */
export function gram(A: { rows: number; cols: number; data: Float64Array }): Float64Array {
  const { rows, cols, data } = A;
  const G = new Float64Array(cols * cols);
  for (let i = 0; i < cols; i++) for (let j = i; j < cols; j++) {
    let s = 0;
    for (let r = 0; r < rows; r++) s += data[r * cols + i] * data[r * cols + j];
    G[i * cols + j] = G[j * cols + i] = s;
  }
  return G;
}

/** Eigenvalues of a symmetric n×n matrix (cyclic Jacobi, float64). */
export function symmetricEigenvalues(M: Float64Array, n: number): number[] {
  const a = Float64Array.from(M);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off < 1e-26) break;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) {
      const apq = a[p * n + q];
      if (Math.abs(apq) < 1e-300) continue;
      const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1), s = t * c;
      for (let k = 0; k < n; k++) {
        const akp = a[k * n + p], akq = a[k * n + q];
        a[k * n + p] = c * akp - s * akq;
        a[k * n + q] = s * akp + c * akq;
      }
      for (let k = 0; k < n; k++) {
        const apk = a[p * n + k], aqk = a[q * n + k];
        a[p * n + k] = c * apk - s * aqk;
        a[q * n + k] = s * apk + c * aqk;
      }
    }
  }
  return Array.from({ length: n }, (_, i) => a[i * n + i]).sort((x, y) => x - y);
}
