/** Float32 unit round-off. */
export const FLOAT32_EPS = 2 ** -23;

/** The work one value estimate adds to the oracle counters (see HypergradientOracle.valueEstimate). */
export const VALUE_ESTIMATE_WORK = { lowerIterations: 1, cgIterations: 2 } as const;

/**
 * MAID's a-posteriori bound ω = c₁ε + c₂δ + c₃ε² with c₂ = ‖J‖/μ, c₁ = L_g‖J‖/μ + L_{H⁻¹}‖∇g‖‖J‖ + L_J‖∇g‖/μ,
 * c₃ = L_J L_g/μ, and L_{H⁻¹} ≤ L_H/μ² (δ: the CG residual norm ‖Bq̃ − ∇g(x̃)‖ reached).
 */
export function maidErrorBound(c: { epsilon: number; delta: number; mu: number; Lg: number; upperGradNorm: number; jacobianNorm: number; lipschitzJ: number; lipschitzHessian: number }): number {
  const { epsilon, delta, mu, Lg, upperGradNorm: g, jacobianNorm: J, lipschitzJ: LJ } = c;
  const LHinv = c.lipschitzHessian / (mu * mu);
  const c1 = (Lg * J) / mu + LHinv * g * J + (LJ * g) / mu;
  const c2 = J / mu;
  const c3 = (LJ * Lg) / mu;
  return c1 * epsilon + c2 * delta + c3 * epsilon * epsilon;
}

/**
 * Bound on |g(x̂) − g(x̃) + ⟨q̃, ∇ₓh(x̃)⟩| for μ-strongly convex h with L_H-Lipschitz Hessian B, r = ‖∇ₓh(x̃)‖,
 * e = r/μ ≥ ‖x̃ − x̂‖ and the CG residual ρ = ‖Bq̃ − ∇g(x̃)‖:  ρr/μ + (L_H‖∇g(x̃)‖/μ + ½L_g)e² + 8u|g(x̃)|.
 * From x̂ − x̃ = −B⁻¹(∇h(x̃) + R), ‖R‖ ≤ ½L_H e², and g(x̂) − g(x̃) = ⟨∇g(x̃), x̂ − x̃⟩ ± ½L_g e². L_H is a probed
 * estimate (a lower bound on the true constant), so its term is doubled; the last term allows for the float32
 * rounding of g(x̃) and x̃ (u = 2⁻²³).
 */
export function adjointValueBound(c: { value: number; residual: number; hGradNorm: number; mu: number; Lg: number; upperGradNorm: number; lipschitzHessian: number }): number {
  const e = c.hGradNorm / c.mu;
  return c.residual * e + ((c.lipschitzHessian * c.upperGradNorm) / c.mu + 0.5 * c.Lg) * e * e + 8 * FLOAT32_EPS * Math.abs(c.value);
}
