import type { IterationRecord } from '@bilevel/core';

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
