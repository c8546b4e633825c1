import { ConfigError, dot, readScalars, tf, type ForwardOperator, type ImageBatch, type Regularizer, type Tensor } from "@bilevel/core";

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

/** ⟨a, b⟩ read back as a number (float32 accumulation; one async read). */
export async function inner(a: Tensor, b: Tensor): Promise<number> {
  const [v] = await readScalars(dot(a, b));
  return v;
}

export async function norm(a: Tensor): Promise<number> {
  return Math.sqrt(await inner(a, a));
}

/** Runs `fn` in a tidy scope and reads the scalars it returns in one round-trip (they are disposed). */
async function readTidy(fn: () => tf.Scalar[]): Promise<number[]> {
  return readScalars(...tf.tidy(fn));
}

/** Normalised adjoint error |⟨Ax, y⟩ − ⟨x, Aᵀy⟩| / (‖A‖ ‖x‖ ‖y‖) on random x, y. */
export async function operatorAdjointCheck(op: ForwardOperator, batch = 2, seed = 1, tolerance = 1e-5): Promise<CheckResult> {
  const [h, w] = op.domainShape;
  const [lhs, rhs, xx, yy] = await readTidy(() => {
    const x = randn([batch, h, w, 1], seed) as ImageBatch;
    const y = randn([batch, ...op.rangeShape], seed + 1);
    return [dot(op.apply(x), y), dot(x, op.adjoint(y)), dot(x, x), dot(y, y)];
  });
  const err = Math.abs(lhs - rhs) / (Math.sqrt(op.normSquared()) * Math.sqrt(xx) * Math.sqrt(yy));
  return check(`${op.name}: adjoint ⟨Ax,y⟩ = ⟨x,Aᵀy⟩`, err, tolerance, `⟨Ax,y⟩ = ${lhs}, ⟨x,Aᵀy⟩ = ${rhs}`);
}

/** ‖A(ax + by) − aAx − bAy‖ / (‖A‖(|a|‖x‖ + |b|‖y‖)). */
export async function operatorLinearityCheck(op: ForwardOperator, seed = 3, tolerance = 1e-5): Promise<CheckResult> {
  const [h, w] = op.domainShape;
  const a = 0.7, b = -1.3;
  const [dd, xx, yy] = await readTidy(() => {
    const x = randn([1, h, w, 1], seed) as ImageBatch, y = randn([1, h, w, 1], seed + 1) as ImageBatch;
    const lhs = op.apply(tf.add(tf.mul(x, a), tf.mul(y, b)) as ImageBatch);
    const rhs = tf.add(tf.mul(op.apply(x), a), tf.mul(op.apply(y), b));
    const d = tf.sub(lhs, rhs);
    return [dot(d, d), dot(x, x), dot(y, y)];
  });
  const err = Math.sqrt(dd) / (Math.sqrt(op.normSquared()) * (Math.abs(a) * Math.sqrt(xx) + Math.abs(b) * Math.sqrt(yy)));
  return check(`${op.name}: linearity`, err, tolerance);
}

/** The cached ‖A‖² is an upper estimate: ‖Ax‖² ≤ ‖A‖²‖x‖² (1 + tol) on the top singular vector (30 power iterations from random x). */
export async function operatorNormCheck(op: ForwardOperator, seed = 5, tolerance = 1e-2): Promise<CheckResult> {
  const [h, w] = op.domainShape;
  const [axx, xx] = await readTidy(() => {
    let x = randn([1, h, w, 1], seed) as ImageBatch;
    for (let k = 0; k < 30; k++) {
      const y = op.adjoint(op.apply(x));
      x = tf.div(y, tf.sqrt(dot(y, y))) as ImageBatch;
    }
    const ax = op.apply(x);
    return [dot(ax, ax), dot(x, x)];
  });
  const ratio = axx / xx;
  const err = Math.max(0, ratio / op.normSquared() - 1);
  return check(`${op.name}: ‖A‖² estimate ≥ power-iteration ratio`, err, tolerance, `‖A‖² = ${op.normSquared()}, ratio = ${ratio}`);
}

export interface RegularizerPoint {
  x: ImageBatch;
  theta: Float32Array;
}

/** The offsets t at which `directional` evaluates f: ±h/2, ±h. */
const directionalSteps = (h: number) => [h / 2, -h / 2, h, -h];

/** Directional derivative from f at directionalSteps(h) by Richardson-extrapolated central differences (float32-safe). */
function directional([fa, fb, fc, fd]: number[], h: number): number {
  const c = (plus: number, minus: number, s: number) => (plus - minus) / (2 * s);
  return (4 * c(fa, fb, h / 2) - c(fc, fd, h)) / 3;
}

/** |⟨∇ₓR, d⟩ − D_d R| / max(|⟨∇ₓR, d⟩|, scale) for a random direction d. */
export async function gradientCheck(reg: Regularizer, p: RegularizerPoint, seed = 11, tolerance = 2e-3, step = 1e-2): Promise<CheckResult> {
  const [analytic, ...values] = await readTidy(() => {
    const th = tf.tensor1d(p.theta);
    const d = randn(p.x.shape, seed) as ImageBatch;
    const at = (t: number) => reg.value(tf.add(p.x, tf.mul(d, t)) as ImageBatch, th);
    return [dot(reg.gradX(p.x, th), d), ...directionalSteps(step).map(at)];
  });
  const fd = directional(values, step);
  const err = Math.abs(analytic - fd) / Math.max(Math.abs(analytic), Math.abs(fd), 1e-6);
  return check(`${reg.name}: gradX vs finite differences of value`, err, tolerance, `analytic ${analytic}, fd ${fd}`);
}

/** ‖∇²R v − (∇R(x + tv) − ∇R(x − tv))/2t‖ / ‖∇²R v‖. */
export async function hvpCheck(reg: Regularizer, p: RegularizerPoint, seed = 13, tolerance = 5e-3, step = 1e-2): Promise<CheckResult> {
  const [dd, aa] = await readTidy(() => {
    const th = tf.tensor1d(p.theta);
    const v = randn(p.x.shape, seed) as ImageBatch;
    const analytic = reg.hvpX(p.x, th, v);
    const c = (s: number) => tf.div(tf.sub(reg.gradX(tf.add(p.x, tf.mul(v, s)) as ImageBatch, th), reg.gradX(tf.sub(p.x, tf.mul(v, s)) as ImageBatch, th)), 2 * s);
    const fd = tf.div(tf.sub(tf.mul(c(step / 2), 4), c(step)), 3);
    const d = tf.sub(analytic, fd);
    return [dot(d, d), dot(analytic, analytic)];
  });
  const err = Math.sqrt(dd) / Math.max(Math.sqrt(aa), 1e-6);
  return check(`${reg.name}: hvpX vs finite differences of gradX`, err, tolerance);
}

/** |⟨(∂θ∂ₓR)ᵀv, e⟩ − D_e ⟨∇ₓR(x, θ), v⟩| relative, along a random θ-direction e. */
export async function mixedCheck(reg: Regularizer, p: RegularizerPoint, seed = 17, tolerance = 5e-3, step = 1e-2): Promise<CheckResult> {
  const [analytic, ...values] = await readTidy(() => {
    const v = randn(p.x.shape, seed) as ImageBatch;
    const e = randn([p.theta.length], seed + 1);
    const th = tf.tensor1d(p.theta);
    const at = (t: number) => dot(reg.gradX(p.x, tf.add(th, tf.mul(e, t)) as tf.Tensor1D), v);
    return [dot(reg.mixedVjp(p.x, th, v), e), ...directionalSteps(step).map(at)];
  });
  const fd = directional(values, step);
  const err = Math.abs(analytic - fd) / Math.max(Math.abs(analytic), Math.abs(fd), 1e-6);
  return check(`${reg.name}: mixedVjp vs finite differences of ⟨gradX, v⟩ in θ`, err, tolerance, `analytic ${analytic}, fd ${fd}`);
}

/** Convexity: R((a + b)/2) ≤ (R(a) + R(b))/2 on random pairs (relative slack for float32). */
export async function convexityCheck(reg: Regularizer, p: RegularizerPoint, pairs = 5, seed = 19): Promise<CheckResult> {
  const values = await readTidy(() => {
    const th = tf.tensor1d(p.theta);
    return Array.from({ length: pairs }, (_, k) => {
      const a = tf.add(p.x, randn(p.x.shape, seed + 2 * k, 0.3)) as ImageBatch;
      const b = tf.add(p.x, randn(p.x.shape, seed + 2 * k + 1, 0.3)) as ImageBatch;
      return [reg.value(a, th), reg.value(b, th), reg.value(tf.div(tf.add(a, b), 2) as ImageBatch, th)];
    }).flat();
  });
  let worst = 0;
  for (let k = 0; k < pairs; k++) {
    const [ra, rb, rm] = values.slice(3 * k, 3 * k + 3);
    worst = Math.max(worst, (rm - (ra + rb) / 2) / Math.max(Math.abs(ra) + Math.abs(rb), 1e-6));
  }
  return check(`${reg.name}: midpoint convexity`, Math.max(worst, 0), 1e-5);
}

/**
 * The reported L bounds the Hessian: ‖∇²R v‖ ≤ L ‖v‖ (and vᵀ∇²R v ≥ μ‖v‖²) on two random v and on one near the top of
 * the spectrum (10 power steps v ← ∇²R v/‖∇²R v‖, where a bound that misses the border would show).
 */
export async function curvatureCheck(reg: Regularizer, p: RegularizerPoint, seed = 23): Promise<CheckResult> {
  const { mu, L } = reg.curvature(p.theta, p.x.shape);
  const values = await readTidy(() => {
    const th = tf.tensor1d(p.theta);
    return Array.from({ length: 3 }, (_, k) => {
      let v = randn(p.x.shape, seed + k) as ImageBatch;
      for (let i = 0; k === 2 && i < 10; i++) {
        const u = reg.hvpX(p.x, th, v);
        v = tf.div(u, tf.norm(u)) as ImageBatch;
      }
      const hv = reg.hvpX(p.x, th, v);
      return [dot(hv, hv), dot(v, v), dot(v, hv)];
    }).flat();
  });
  let worst = 0;
  for (let k = 0; k < 3; k++) {
    const [hh, vv, vhv] = values.slice(3 * k, 3 * k + 3);
    const nv = Math.sqrt(vv);
    worst = Math.max(worst, Math.sqrt(hh) / (L * nv) - 1, (mu * nv * nv - vhv) / Math.max(L * nv * nv, 1e-12));
  }
  return check(`${reg.name}: curvature bounds μ ≤ ∇²R ≤ L`, Math.max(worst, 0), 1e-3);
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
export async function implementationDifferences(a: Regularizer, b: Regularizer, x: ImageBatch, theta: tf.Tensor1D, v: ImageBatch): Promise<Record<'value' | 'gradX' | 'hvpX' | 'mixedVjp', number>> {
  const s = await readTidy(() => {
    const pair = (p: Tensor, q: Tensor) => {
      const d = tf.sub(p, q);
      return [dot(d, d), dot(q, q)];
    };
    return [
      ...pair(a.value(x, theta), b.value(x, theta)), ...pair(a.gradX(x, theta), b.gradX(x, theta)),
      ...pair(a.hvpX(x, theta, v), b.hvpX(x, theta, v)), ...pair(a.mixedVjp(x, theta, v), b.mixedVjp(x, theta, v)),
    ];
  });
  const rel = (k: number) => Math.sqrt(s[2 * k]) / Math.sqrt(s[2 * k + 1]);
  return { value: rel(0), gradX: rel(1), hvpX: rel(2), mixedVjp: rel(3) };
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
