import type { IterationRecord } from '@bilevel/core';

/** The fields of the progress line: name, short meaning (the legend a run prints), full meaning (`bilevel run --help`). */
const FIELDS: readonly (readonly [string, string, string])[] = [
  ['iter', 'outer iteration', 'outer iteration: one update of θ ("it" on the progress bar)'],
  ['t', 'seconds so far', 'wall-clock seconds since the run started'],
  ['loss', 'upper loss f(θ)', 'upper-level loss f(θ) = mean over training images of ½‖x̃ − x*‖² (x̃ the lower-level solution, x* the clean image)'],
  ['psnr', 'train PSNR', 'mean PSNR of x̃ against the clean training images (dB; data range 1)'],
  ['ε', 'lower-level accuracy', 'accuracy asked of the lower-level solver: certified bound on ‖x̃ − x̂(θ)‖ (the optimizer adapts it)'],
  ['‖z‖', 'hypergradient norm', 'norm of the computed (inexact) hypergradient z ≈ ∇f(θ); small near a stationary θ'],
  ['α', 'step size', 'step size of the update of θ'],
  ['lower', 'solver iterations', 'lower-level solver iterations so far (all images, cumulative)'],
  ['cg', 'CG iterations', 'conjugate-gradient iterations so far for the adjoint systems B q = ∇g (cumulative)'],
];

/** The progress line's legend for `bilevel run --help`. */
export const PROGRESS_LEGEND = 'Progress (stderr; one line per outer iteration, or a bar with ETA on a terminal):\n' +
  FIELDS.map(([name, , long]) => `  ${name.padEnd(6)} ${long}`).join('\n');

/** The one-line legend a run prints before its first progress line. */
export const PROGRESS_LEGEND_LINE = `legend: ${FIELDS.map(([name, short]) => `${name} = ${short}`).join(', ')} (bilevel run --help says more)`;

/** A progress bar with ETA on a TTY, one line per outer iteration otherwise (each prefixed by `label`, if given). */
export class Progress {
  private readonly tty: boolean;
  private readonly t0 = performance.now();
  private readonly prefix: string;
  constructor(
    private readonly maxIterations: number,
    private readonly maxSeconds: number | undefined,
    private readonly out: NodeJS.WriteStream = process.stderr,
    label = '',
  ) {
    this.tty = Boolean(out.isTTY) && !process.env.CI;
    this.prefix = label ? `${label}: ` : '';
  }

  /** Writes the one-line legend of the progress line (once, before the first iteration). */
  legend(): void {
    this.out.write(`${this.prefix}${PROGRESS_LEGEND_LINE}\n`);
  }

  update(r: IterationRecord): void {
    const elapsed = (performance.now() - this.t0) / 1000;
    const psnr = r.psnr === undefined ? '' : ` psnr ${r.psnr.toFixed(2)} dB`;
    const stats = `loss ${r.upperLoss.toPrecision(5)}${psnr} ε ${r.epsilon.toExponential(1)} ‖z‖ ${r.gradNorm.toExponential(2)} α ${r.step.toExponential(1)}`;
    if (!this.tty) {
      this.out.write(`${this.prefix}iter ${r.iter} t ${elapsed.toFixed(1)}s ${stats} lower ${r.lowerIterations} cg ${r.cgIterations}\n`);
      return;
    }
    const byIter = r.iter / this.maxIterations;
    const bySec = this.maxSeconds ? elapsed / this.maxSeconds : 0;
    const frac = Math.min(1, Math.max(byIter, bySec));
    const eta = frac > 0 ? (elapsed / frac) * (1 - frac) : 0;
    const width = 24, filled = Math.round(frac * width);
    this.out.write(`\r${this.prefix}[${'█'.repeat(filled)}${'·'.repeat(width - filled)}] ${(100 * frac).toFixed(0)}% it ${r.iter} ${elapsed.toFixed(1)}s ETA ≤${eta.toFixed(0)}s ${stats}\x1b[K`);
  }

  done(): void {
    if (this.tty) this.out.write('\n');
  }
}
