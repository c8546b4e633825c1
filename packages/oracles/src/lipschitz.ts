import { readScalars, readTensors, squaredNorm, tf, type ImageBatch, type LipschitzState, type LowerLevelProblem, type Tensor1D } from '@bilevel/core';

/** Gradients and products of the random L_J, L_H probe (a mixed product, two Hessian-vector products). */
export const RANDOM_PROBE_WORK = 3;
/** Gradients and products of one ‖Jw‖ power step (two gradients, a mixed product). */
export const POWER_PROBE_WORK = 3;
/** What one `LipschitzEstimates.update` spends at most. */
export const PROBE_WORK = RANDOM_PROBE_WORK + POWER_PROBE_WORK;

/** The running constants with the ‖q‖ of the call and the probe work it spent. */
export interface ProbedConstants {
  jacobianNorm: number;
  lipschitzJ: number;
  lipschitzHessian: number;
  qNorm: number;
  work: number;
}

/** Estimates as another image set carries them over (subset, merge): without these images' same-θ and direction memory. */
export function carriedEstimates(s: LipschitzState): LipschitzState {
  const { directionMoved: _m, probedAt: _p, ...carried } = s;
  return carried;
}

/**
 * Running-maximum estimates of the constants in MAID's error bound, probed at radius r around x̃:
 *   ‖J‖ ≥ max(‖Jᵀq‖/‖q‖, ‖Jw‖) with w a unit θ-direction, Jw = (∇ₓh(x̃, θ + hw) − ∇ₓh(x̃, θ − hw))/2h, and w then
 *     advanced by one power-iteration step w ← JᵀJw/‖JᵀJw‖ (‖Jᵀq‖/‖q‖ alone vanishes with z near a stationary point),
 *   L_J ≈ ‖(J(x̃+p) − J(x̃))ᵀ q̂‖ / ‖p‖,
 *   L_H ≈ ‖(B(x̃+p) − B(x̃)) q̂‖ / ‖p‖   (then L_{B⁻¹} ≤ L_H/μ²),
 * with ‖p‖ = r a seeded random direction and q̂ = q/‖q‖.
 */
export class LipschitzEstimates {
  jacobianNorm = 0;
  lipschitzJ = 0;
  lipschitzHessian = 0;
  private seed: number;
  /** The power iteration's current θ-direction for the ‖J‖ probe. */
  private direction: number[] | undefined;
  /** ‖w_new − w_old‖ of the last power-iteration step (∞ before the first). */
  private directionMoved = Infinity;
  /** The θ of the last update. */
  private probedAt: number[] | undefined;

  constructor(seed: number) {
    this.seed = seed * 7919 + 17;
  }

  /**
   * Updates the estimates from a hypergradient at θ (`at`), x̃, q̃ and z; returns them with the probe `work` spent.
   * At the θ last probed (a re-solve at finer ε after a failed descent test) the L_J, L_H probes are skipped, and the
   * power probe runs only while its direction still moves (by more than 10⁻² per step).
   */
  async update(problem: LowerLevelProblem, x: ImageBatch, theta: Tensor1D, at: Float64Array, q: ImageBatch, z: Float64Array, radius: number): Promise<ProbedConstants> {
    const zNorm = Math.hypot(...z);
    const [qNormSq, xNormSq] = await readScalars(squaredNorm(q), squaredNorm(x));
    const qNorm = Math.sqrt(qNormSq);
    if (qNorm > 0) this.jacobianNorm = Math.max(this.jacobianNorm, zNorm / qNorm);
    const sameTheta = this.probedAt?.length === at.length && this.probedAt.every((t, i) => t === at[i]);
    this.probedAt = Array.from(at);
    let work = 0;
    if (qNorm > 0 && !sameTheta) {
      // Probe no finer than float32 can resolve relative to ‖x‖.
      const r = Math.max(radius, 1e-4 * Math.sqrt(xNormSq));
      const [dJ, dH] = await this.randomProbe(problem, x, theta, q, qNorm, z, r);
      this.lipschitzJ = Math.max(this.lipschitzJ, dJ);
      this.lipschitzHessian = Math.max(this.lipschitzHessian, dH);
      work += RANDOM_PROBE_WORK;
    }
    if (!sameTheta || this.directionMoved > 1e-2) {
      this.jacobianNorm = Math.max(this.jacobianNorm, await this.powerProbe(problem, x, theta));
      work += POWER_PROBE_WORK;
    }
    return { jacobianNorm: this.jacobianNorm, lipschitzJ: this.lipschitzJ, lipschitzHessian: this.lipschitzHessian, qNorm, work };
  }

  /** ‖(J(x̃+p) − J(x̃))ᵀq̂‖/r and ‖(B(x̃+p) − B(x̃))q̂‖/r for p = r·d/‖d‖, d a seeded N(0, I) direction. */
  private async randomProbe(problem: LowerLevelProblem, x: ImageBatch, theta: Tensor1D, q: ImageBatch, qNorm: number, z: Float64Array, r: number): Promise<number[]> {
    const dir = tf.randomNormal(x.shape, 0, 1, 'float32', this.seed++);
    try {
      const [dirNormSq] = await readScalars(tf.tidy(() => tf.sum(tf.square(dir))));
      return await readScalars(...tf.tidy(() => {
        const p = tf.mul(dir, r / Math.sqrt(dirNormSq));
        const xp = tf.add(x, p) as ImageBatch;
        const qh = tf.div(q, qNorm) as ImageBatch;
        // z = −(∂θ∂ₓh)ᵀq at x̃, so (∂θ∂ₓh)ᵀq̂ = −z/‖q‖ there: one mixed product instead of two.
        const jDiff = tf.add(problem.mixedVjp(xp, theta, qh), tf.tensor1d(Float32Array.from(z, (zi) => zi / qNorm)));
        const hDiff = tf.sub(problem.hvpX(xp, theta, qh), problem.hvpX(x, theta, qh));
        return [tf.div(tf.norm(jDiff), r), tf.div(tf.norm(hDiff), r)];
      }));
    } finally {
      dir.dispose();
    }
  }

  /** ‖Jw‖ for the current unit direction w (central differences, step h = 10⁻²), then w ← JᵀJw/‖JᵀJw‖. */
  private async powerProbe(problem: LowerLevelProblem, x: ImageBatch, theta: Tensor1D): Promise<number> {
    const d = theta.shape[0];
    const w = Float32Array.from(this.direction?.length === d ? this.direction : new Array<number>(d).fill(1 / Math.sqrt(d)));
    const h = 1e-2;
    const [jw, next] = tf.tidy(() => {
      const step = tf.mul(tf.tensor1d(w), h);
      const diff = tf.sub(problem.gradX(x, tf.add(theta, step) as Tensor1D), problem.gradX(x, tf.sub(theta, step) as Tensor1D));
      const Jw = tf.div(diff, 2 * h) as ImageBatch;
      return [tf.norm(Jw), problem.mixedVjp(x, theta, Jw)];
    });
    const [normValues, nextValues] = await readTensors(jw, next);
    const norm = normValues[0];
    const v = Array.from(nextValues);
    const vNorm = Math.hypot(...v);
    if (vNorm > 0 && Number.isFinite(vNorm)) {
      this.direction = v.map((vi) => vi / vNorm);
      this.directionMoved = Math.hypot(...this.direction.map((wi, i) => wi - w[i]));
    }
    return Number.isFinite(norm) ? norm : 0;
  }

  snapshot(): LipschitzState {
    const moved = Number.isFinite(this.directionMoved) ? { directionMoved: this.directionMoved } : {};
    return {
      jacobianNorm: this.jacobianNorm, lipschitzJ: this.lipschitzJ, lipschitzHessian: this.lipschitzHessian, seed: this.seed, direction: this.direction,
      ...moved, probedAt: this.probedAt && [...this.probedAt],
    };
  }

  /** The estimates another image set carries over (subset, merge): see carriedEstimates. */
  carryOver(): LipschitzState {
    return carriedEstimates(this.snapshot());
  }

  restore(s: LipschitzState): void {
    this.jacobianNorm = s.jacobianNorm;
    this.lipschitzJ = s.lipschitzJ;
    this.lipschitzHessian = s.lipschitzHessian;
    if (s.seed !== undefined) this.seed = s.seed;
    this.direction = s.direction && [...s.direction];
    this.directionMoved = s.directionMoved ?? Infinity;
    this.probedAt = s.probedAt && [...s.probedAt];
  }
}
