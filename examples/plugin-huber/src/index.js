// A third-party regularizer plugin for bilevel, in plain ESM JavaScript (no build step): it imports only
// @bilevel/core and is loaded by name from a config's "plugins" list.
import { bindPlugins, ContainerModule, definePlugin, tf, z } from '@bilevel/core';

/**
 * Learned smooth Huber penalty on forward differences (Neumann boundary):
 *   R_θ(x) = a Σ_{d ∈ {h, v}} Σ δ² log cosh((D_d x)/δ),   a = e^{θ₀}, δ = e^{θ₁},
 * quadratic (a u²/2) for |u| ≪ δ and linear (a δ |u|) for |u| ≫ δ. With t = tanh(u/δ):
 *   ∇ₓR = a Σ_d D_dᵀ(δ t),   ∇²ₓₓR v = a Σ_d D_dᵀ((1 − t²) D_d v),
 *   ∂θ₀⟨∇ₓR, v⟩ = a Σ_d ⟨δ t, D_d v⟩,   ∂θ₁⟨∇ₓR, v⟩ = a Σ_d ⟨δ t − u (1 − t²), D_d v⟩.
 * Convex (μ = 0) with ‖∇²R‖ ≤ a (‖D_h‖² + ‖D_v‖²) ≤ 8a. Everything is closed form: tfjs cannot safely
 * differentiate twice through tanh.
 */
export class SmoothHuber {
  name = 'huber';
  layout = { size: 2, blocks: [{ name: 'logWeight', offset: 0, shape: [1] }, { name: 'logDelta', offset: 1, shape: [1] }] };

  /** @param {{ logWeight?: number, logDelta?: number }} init */
  constructor(init = {}) {
    this.init = [init.logWeight ?? -2, init.logDelta ?? -3];
  }

  initialTheta() {
    return Float32Array.from(this.init);
  }

  /** [a, δ] as scalar tensors. */
  scalars(theta) {
    return { a: tf.reshape(tf.exp(tf.slice(theta, 0, 1)), []), delta: tf.reshape(tf.exp(tf.slice(theta, 1, 1)), []) };
  }

  /** Forward differences along width (axis 2) and height (axis 1) of [n, h, w, 1]. */
  diffs(x) {
    const [n, h, w] = x.shape;
    return [
      tf.sub(tf.slice(x, [0, 0, 1, 0], [n, h, w - 1, 1]), tf.slice(x, [0, 0, 0, 0], [n, h, w - 1, 1])),
      tf.sub(tf.slice(x, [0, 1, 0, 0], [n, h - 1, w, 1]), tf.slice(x, [0, 0, 0, 0], [n, h - 1, w, 1])),
    ];
  }

  /** D_hᵀ p + D_vᵀ q (the exact adjoints of `diffs`). */
  adjoint([p, q]) {
    const dh = tf.sub(tf.pad(p, [[0, 0], [0, 0], [1, 0], [0, 0]]), tf.pad(p, [[0, 0], [0, 0], [0, 1], [0, 0]]));
    const dv = tf.sub(tf.pad(q, [[0, 0], [1, 0], [0, 0], [0, 0]]), tf.pad(q, [[0, 0], [0, 1], [0, 0], [0, 0]]));
    return tf.add(dh, dv);
  }

  value(x, theta) {
    return tf.tidy(() => {
      const { a, delta } = this.scalars(theta);
      // δ² log cosh(z) with z = u/δ, stably: |z| + log1p(e^{−2|z|}) − log 2.
      const logcosh = (u) => {
        const z = tf.abs(tf.div(u, delta));
        return tf.sum(tf.sub(tf.add(z, tf.log1p(tf.exp(tf.mul(z, -2)))), Math.log(2)));
      };
      const [u, w] = this.diffs(x);
      return tf.mul(tf.mul(a, tf.square(delta)), tf.add(logcosh(u), logcosh(w)));
    });
  }

  gradX(x, theta) {
    return tf.tidy(() => {
      const { a, delta } = this.scalars(theta);
      const psi = (u) => tf.mul(tf.mul(a, delta), tf.tanh(tf.div(u, delta)));
      return this.adjoint(this.diffs(x).map(psi));
    });
  }

  hvpX(x, theta, v) {
    return tf.tidy(() => {
      const { a, delta } = this.scalars(theta);
      const dv = this.diffs(v);
      return this.adjoint(this.diffs(x).map((u, i) => tf.mul(tf.mul(a, tf.sub(1, tf.square(tf.tanh(tf.div(u, delta))))), dv[i])));
    });
  }

  mixedVjp(x, theta, v) {
    return tf.tidy(() => {
      const { a, delta } = this.scalars(theta);
      const dv = this.diffs(v);
      let g0 = tf.scalar(0), g1 = tf.scalar(0);
      this.diffs(x).forEach((u, i) => {
        const t = tf.tanh(tf.div(u, delta));
        g0 = tf.add(g0, tf.sum(tf.mul(tf.mul(delta, t), dv[i])));
        g1 = tf.add(g1, tf.sum(tf.mul(tf.sub(tf.mul(delta, t), tf.mul(u, tf.sub(1, tf.square(t)))), dv[i])));
      });
      return tf.mul(tf.stack([g0, g1]), a);
    });
  }

  /** @param {Float32Array} theta */
  curvature(theta) {
    return { mu: 0, L: 8 * Math.exp(theta[0]) };
  }
}

/** The plugin's options, declared once: defaults, checks, the `bilevel plugins` listing and the JSON Schema come from it. */
export const huberOptions = z.strictObject({
  logWeight: z.number().default(-2).describe('initial θ₀ = log a'),
  logDelta: z.number().default(-3).describe('initial θ₁ = log δ'),
});

/** The plugin's descriptors: one regularizer, "huber". */
export const descriptors = [
  definePlugin({
    kind: 'regularizer',
    name: 'huber',
    parameterCount: 2,
    description: 'learned smooth Huber penalty on image differences: e^{θ₀} Σ δ² log cosh(Dx/δ), δ = e^{θ₁} (example plugin)',
    schema: huberOptions,
    create: (o) => new SmoothHuber(o),
  }),
];

/** The ContainerModule bilevel loads: exported both as `plugin` and as the default export. */
export const plugin = new ContainerModule((bind) => bindPlugins(bind, descriptors));
export default plugin;
