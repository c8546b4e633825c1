import { ConfigError, scoped, tf, type ForwardOperator, type ImageBatch, type Regularizer, type Tensor } from "@bilevel/core";

/** One conformance check: the measured error against its tolerance. */
export interface CheckResult {
  readonly name: string;
  readonly error: number;
  readonly tolerance: number;
  readonly passed: boolean;
  readonly detail?: string;
}

export function check(name: string, error: number, tolerance: number, detail?: string): CheckResult {
  return { name, error, tolerance, passed: Number.isFinite(error) && error <= tolerance, detail };
}

/** Seeded standard normal tensor. */
export function randn(shape: number[], seed: number, scale = 1): Tensor {
  return tf.tidy(() => tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), scale));
}

/** ⟨a, b⟩ read back as a number (float32 accumulation). */
export function inner(a: Tensor, b: Tensor): number {
  const s = tf.tidy(() => tf.sum(tf.mul(a, b)));
  const v = s.dataSync()[0];
  s.dispose();
  return v;
}

export function norm(a: Tensor): number {
  return Math.sqrt(inner(a, a));
}

/** Normalised adjoint error |⟨Ax, y⟩ − ⟨x, Aᵀy⟩| / (‖A‖ ‖x‖ ‖y‖) on random x, y. */
export function operatorAdjointCheck(op: ForwardOperator, batch = 2, seed = 1, tolerance = 1e-5): CheckResult {
  const [h, w] = op.domainShape;
  return scoped(() => {
    const x = randn([batch, h, w, 1], seed) as ImageBatch;
    const y = randn([batch, ...op.rangeShape], seed + 1);
    const lhs = inner(op.apply(x), y), rhs = inner(x, op.adjoint(y));
    const err = Math.abs(lhs - rhs) / (Math.sqrt(op.normSquared()) * norm(x) * norm(y));
    return check(`${op.name}: adjoint ⟨Ax,y⟩ = ⟨x,Aᵀy⟩`, err, tolerance, `⟨Ax,y⟩ = ${lhs}, ⟨x,Aᵀy⟩ = ${rhs}`);
  });
}

/** ‖A(ax + by) − aAx − bAy‖ / (‖A‖(|a|‖x‖ + |b|‖y‖)). */
export function operatorLinearityCheck(op: ForwardOperator, seed = 3, tolerance = 1e-5): CheckResult {
  const [h, w] = op.domainShape;
  return scoped(() => {
    const x = randn([1, h, w, 1], seed) as ImageBatch, y = randn([1, h, w, 1], seed + 1) as ImageBatch;
    const a = 0.7, b = -1.3;
    const lhs = op.apply(tf.add(tf.mul(x, a), tf.mul(y, b)) as ImageBatch);
    const rhs = tf.add(tf.mul(op.apply(x), a), tf.mul(op.apply(y), b));
    const err = norm(tf.sub(lhs, rhs)) / (Math.sqrt(op.normSquared()) * (Math.abs(a) * norm(x) + Math.abs(b) * norm(y)));
    return check(`${op.name}: linearity`, err, tolerance);
  });
}

/** The cached ‖A‖² is an upper estimate: ‖Ax‖² ≤ ‖A‖²‖x‖² (1 + tol) on random x and on the top singular vector (power iteration). */
export function operatorNormCheck(op: ForwardOperator, seed = 5, tolerance = 1e-2): CheckResult {
  const [h, w] = op.domainShape;
  return scoped(() => {
    let x = randn([1, h, w, 1], seed) as ImageBatch;
    for (let k = 0; k < 30; k++) {
      const y = op.adjoint(op.apply(x));
      x = tf.div(y, norm(y)) as ImageBatch;
    }
    const ratio = inner(op.apply(x), op.apply(x)) / inner(x, x);
    const err = Math.max(0, ratio / op.normSquared() - 1);
    return check(`${op.name}: ‖A‖² estimate ≥ power-iteration ratio`, err, tolerance, `‖A‖² = ${op.normSquared()}, ratio = ${ratio}`);
  });
}

export interface RegularizerPoint {
  x: ImageBatch;
  theta: Float32Array;
}

/** Directional derivative of `f` along `d` by Richardson-extrapolated central differences (float32-safe). */
function directional(f: (t: number) => number, h: number): number {
  const c = (s: number) => (f(s) - f(-s)) / (2 * s);
  return (4 * c(h / 2) - c(h)) / 3;
}

/** |⟨∇ₓR, d⟩ − D_d R| / max(|⟨∇ₓR, d⟩|, scale) for a random direction d. */
export function gradientCheck(reg: Regularizer, p: RegularizerPoint, seed = 11, tolerance = 2e-3, step = 1e-2): CheckResult {
  return scoped(() => {
    const th = tf.tensor1d(p.theta);
    const d = randn(p.x.shape, seed) as ImageBatch;
    const analytic = inner(reg.gradX(p.x, th), d);
    const fd = directional((t) => reg.value(tf.add(p.x, tf.mul(d, t)) as ImageBatch, th).dataSync()[0], step);
    const err = Math.abs(analytic - fd) / Math.max(Math.abs(analytic), Math.abs(fd), 1e-6);
    return check(`${reg.name}: gradX vs finite differences of value`, err, tolerance, `analytic ${analytic}, fd ${fd}`);
  });
}

/** ‖∇²R v − (∇R(x + tv) − ∇R(x − tv))/2t‖ / ‖∇²R v‖. */
export function hvpCheck(reg: Regularizer, p: RegularizerPoint, seed = 13, tolerance = 5e-3, step = 1e-2): CheckResult {
  return scoped(() => {
    const th = tf.tensor1d(p.theta);
    const v = randn(p.x.shape, seed) as ImageBatch;
    const analytic = reg.hvpX(p.x, th, v);
    const c = (s: number) => tf.div(tf.sub(reg.gradX(tf.add(p.x, tf.mul(v, s)) as ImageBatch, th), reg.gradX(tf.sub(p.x, tf.mul(v, s)) as ImageBatch, th)), 2 * s);
    const fd = tf.div(tf.sub(tf.mul(c(step / 2), 4), c(step)), 3);
    const err = norm(tf.sub(analytic, fd)) / Math.max(norm(analytic), 1e-6);
    return check(`${reg.name}: hvpX vs finite differences of gradX`, err, tolerance);
  });
}

/** |⟨(∂θ∂ₓR)ᵀv, e⟩ − D_e ⟨∇ₓR(x, θ), v⟩| relative, along a random θ-direction e. */
export function mixedCheck(reg: Regularizer, p: RegularizerPoint, seed = 17, tolerance = 5e-3, step = 1e-2): CheckResult {
  return scoped(() => {
    const v = randn(p.x.shape, seed) as ImageBatch;
    const e = randn([p.theta.length], seed + 1);
    const th = tf.tensor1d(p.theta);
    const analytic = inner(reg.mixedVjp(p.x, th, v), e);
    const fd = directional((t) => inner(reg.gradX(p.x, tf.add(th, tf.mul(e, t)) as tf.Tensor1D), v), step);
    const err = Math.abs(analytic - fd) / Math.max(Math.abs(analytic), Math.abs(fd), 1e-6);
    return check(`${reg.name}: mixedVjp vs finite differences of ⟨gradX, v⟩ in θ`, err, tolerance, `analytic ${analytic}, fd ${fd}`);
  });
}

/** Convexity: R((a + b)/2) ≤ (R(a) + R(b))/2 on random pairs (relative slack for float32). */
export function convexityCheck(reg: Regularizer, p: RegularizerPoint, pairs = 5, seed = 19): CheckResult {
  return scoped(() => {
    const th = tf.tensor1d(p.theta);
    let worst = 0;
    for (let k = 0; k < pairs; k++) {
      const a = tf.add(p.x, randn(p.x.shape, seed + 2 * k, 0.3)) as ImageBatch;
      const b = tf.add(p.x, randn(p.x.shape, seed + 2 * k + 1, 0.3)) as ImageBatch;
      const ra = reg.value(a, th).dataSync()[0], rb = reg.value(b, th).dataSync()[0];
      const rm = reg.value(tf.div(tf.add(a, b), 2) as ImageBatch, th).dataSync()[0];
      worst = Math.max(worst, (rm - (ra + rb) / 2) / Math.max(Math.abs(ra) + Math.abs(rb), 1e-6));
    }
    return check(`${reg.name}: midpoint convexity`, Math.max(worst, 0), 1e-5);
  });
}

/** The reported L bounds the Hessian: ‖∇²R v‖ ≤ L ‖v‖ (and vᵀ∇²R v ≥ μ‖v‖²) on random v. */
export function curvatureCheck(reg: Regularizer, p: RegularizerPoint, seed = 23): CheckResult {
  return scoped(() => {
    const th = tf.tensor1d(p.theta);
    const { mu, L } = reg.curvature(p.theta);
    let worst = 0;
    for (let k = 0; k < 3; k++) {
      const v = randn(p.x.shape, seed + k) as ImageBatch;
      const hv = reg.hvpX(p.x, th, v);
      const nv = norm(v);
      worst = Math.max(worst, norm(hv) / (L * nv) - 1, (mu * nv * nv - inner(v, hv)) / Math.max(L * nv * nv, 1e-12));
    }
    return check(`${reg.name}: curvature bounds μ ≤ ∇²R ≤ L`, Math.max(worst, 0), 1e-3);
  });
}

/** tf.memory().numTensors does not grow over repeated calls of `fn` (whose results are disposed). */
export function memoryCheck(name: string, fn: () => Tensor | Tensor[], repeats = 5): CheckResult {
  const once = () => {
    const r = fn();
    for (const t of Array.isArray(r) ? r : [r]) t.dispose();
  };
  once();
  const before = tf.memory().numTensors;
  for (let k = 0; k < repeats; k++) once();
  const growth = tf.memory().numTensors - before;
  return check(`${name}: no tensor leak`, growth, 0, `${growth} tensors leaked over ${repeats} calls`);
}

/** Relative differences ‖a − b‖/‖b‖ of two implementations' value, gradX, hvpX and mixedVjp at one (x, θ, v). */
export function implementationDifferences(a: Regularizer, b: Regularizer, x: ImageBatch, theta: tf.Tensor1D, v: ImageBatch) {
  const rel = (p: Tensor, q: Tensor) => scoped(() => norm(tf.sub(p, q)) / norm(q));
  return scoped(() => ({
    value: rel(a.value(x, theta), b.value(x, theta)),
    gradX: rel(a.gradX(x, theta), b.gradX(x, theta)),
    hvpX: rel(a.hvpX(x, theta, v), b.hvpX(x, theta, v)),
    mixedVjp: rel(a.mixedVjp(x, theta, v), b.mixedVjp(x, theta, v)),
  }));
}

/** The JSON path of the ConfigError `make` throws, or undefined if it throws something else or nothing. */
export function configErrorPath(make: () => unknown): string | undefined {
  try {
    make();
  } catch (e) {
    return e instanceof ConfigError ? e.path : undefined;
  }
  return undefined;
}
