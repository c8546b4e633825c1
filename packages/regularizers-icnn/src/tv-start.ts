import { ICNN_DEFAULTS, type IcnnOptions } from './icnn.js';

/** The options of `tvStart` that the equivalence depends on (defaults ICNN_DEFAULTS). */
export interface TvStartOptions {
  /** Size s ≥ 3 of the input convolutions (the differences sit at the window's centre; the other taps start at 0). */
  size: number;
  /** Corner width ε of σ. */
  smoothing: number;
  /** Leak λ of σ. */
  leak: number;
  /** γ of the ICNN's γ/2‖x‖² (TV has none: keep it small; learned unless learnGamma is 0). */
  gamma: number;
  /**
   * Weight δ of the two diagonal differences relative to the horizontal and vertical ones (default 0: none, channels
   * [4, 1]). δ > 0 adds their ± pairs (channels [8, 1]) at W⁺ = δ/4: R then starts at TV plus δ times the same TV over
   * x(i+1, j+1) − x(i, j) and x(i+1, j) − x(i, j+1) (to σ'(1) as above), a less anisotropic prior but not TV's optimum.
   */
  diagonals: number;
}

const slope = (u: number, o: TvStartOptions) => o.leak + ((1 - o.leak) * (1 + u / Math.sqrt(u * u + o.smoothing ** 2))) / 2;

/**
 * ICNN options whose initial θ is the learned smoothed anisotropic TV of the `tv` regularizer, θ_TV = [a, b]:
 *   R(x) = w Σ_{h,v} √(d² + ν²),  w = ½e^a,  ν = e^b,  d the forward differences (0 across the border).
 * Channels [4, 1]: ± pairs of the unit differences c·x = d/√2 at gain k, so σ(k c·x) + σ(−k c·x) = (1 − λ)√(k²d²/2 + ε²)
 * = (1 − λ)(k/√2)√(d² + ν²) with k = √2 ε/ν; boundary 'symmetric' (mirror with the edge repeated: the difference across
 * the border is 0, as TV's mask). The second layer σ(¼ Σ z₁ + 1) has slope σ'(u) ∈ [σ'(1), 1) for u ≥ 1 (1 − 5·10⁻⁴ at
 * ε = 0.05), so ∇R_ICNN = ∇R_TV to that factor when
 *   α σ'(1) (1 − λ) k / (4√2) = w   ⇒   log α = log(2√2 e^a / (σ'(1)(1 − λ)k)).
 * A richer model warm-started at the simpler one's optimum (δ = 0): bilevel training can then only lower the training loss.
 */
export function tvStart(thetaTv: ArrayLike<number>, options: Partial<TvStartOptions> = {}): Partial<IcnnOptions> {
  const o: TvStartOptions = { size: 3, smoothing: ICNN_DEFAULTS.smoothing, leak: ICNN_DEFAULTS.leak, gamma: 1e-6, diagonals: 0, ...options };
  if (thetaTv.length !== 2) throw new Error(`tvStart: θ_TV needs 2 entries [logWeight, logSmoothing] (the tv regularizer's theta.json), got ${thetaTv.length}`);
  if (!(o.diagonals >= 0)) throw new Error(`tvStart: diagonals must be a weight ≥ 0 (got ${o.diagonals}); 0 leaves them out`);
  if (o.size < 3) throw new Error(`tvStart: size must be at least 3 (got ${o.size}): the differences need a 3×3 window`);
  const [a, b] = [thetaTv[0], thetaTv[1]];
  const initGain = (Math.SQRT2 * o.smoothing) / Math.exp(b);
  const logScale = Math.log((2 * Math.SQRT2 * Math.exp(a)) / (slope(1, o) * (1 - o.leak) * initGain));
  const shape = o.diagonals > 0 ? { channels: [8, 1], pairWeights: [0.25, 0.25, o.diagonals / 4, o.diagonals / 4] } : { channels: [4, 1], pairWeights: [] };
  return { ...shape, size: o.size, smoothing: o.smoothing, leak: o.leak, gamma: o.gamma, boundary: 'symmetric', init: 'derivatives', initGain, logScale };
}
