import type { SweepEvent, SweepResult } from '@bilevel/distributed';
import { runFolder } from './sweep-output.js';

const describe = (r: SweepResult) =>
  `${r.stopReason} after ${r.iterations} its, loss ${r.upperLoss.toPrecision(5)}, train ${r.train.psnr.learned.toFixed(2)} dB` +
  `${r.test ? `, test ${r.test.psnr.learned.toFixed(2)} dB` : ''}, ${r.wallSeconds.toFixed(1)} s${r.resumedFrom ? ` (resumed from iteration ${r.resumedFrom})` : ''}`;

/** Progress over a sweep's jobs: a bar with ETA on a TTY (redrawn at most 5 times a second), one line per finished job otherwise. */
export class SweepProgressView {
  private readonly tty: boolean;
  private readonly t0 = performance.now();
  private readonly running = new Map<string, { name: string; fraction: number; iteration: number; max: number }>();
  private finished = 0;
  private skipped = 0;
  private failed = 0;
  private drawn = 0;

  constructor(private readonly total: number, private readonly out: NodeJS.WriteStream = process.stderr) {
    this.tty = Boolean(out.isTTY) && !process.env.CI;
  }

  event(e: SweepEvent): void {
    switch (e.type) {
      case 'ready':
        return;
      case 'progress':
        this.running.set(e.job.id, { name: runFolder(e.job), fraction: Math.min(1, e.iteration / e.maxIterations), iteration: e.iteration, max: e.maxIterations });
        return this.draw(false);
      case 'skipped':
        this.skipped++;
        return this.line(`skipped ${runFolder(e.job)} (${e.job.id}): finished before: ${describe(e.result)}`);
      case 'done':
        this.finished++;
        this.running.delete(e.job.id);
        return this.line(`done ${runFolder(e.job)} (${e.job.id}): ${describe(e.result)}`);
      case 'failed':
        this.failed++;
        this.running.delete(e.job.id);
        return this.line(`FAILED ${runFolder(e.job)} (${e.job.id}): ${e.error.split('\n')[0]}`);
    }
  }

  /** A finished job's line (above the bar on a TTY). */
  private line(text: string): void {
    const count = `[${this.finished + this.skipped + this.failed}/${this.total}]`;
    this.out.write(this.tty ? `\r\x1b[K${count} ${text}\n` : `sweep ${count} ${text}\n`);
    this.draw(true);
  }

  private draw(force: boolean): void {
    if (!this.tty) return;
    const now = performance.now();
    if (!force && now - this.drawn < 200) return;
    this.drawn = now;
    const todo = this.total - this.skipped;
    const partial = [...this.running.values()].reduce((s, r) => s + r.fraction, 0);
    const frac = todo > 0 ? Math.min(1, (this.finished + this.failed + partial) / todo) : 1;
    const elapsed = (now - this.t0) / 1000;
    const eta = frac > 0 ? `ETA ${((elapsed / frac) * (1 - frac)).toFixed(0)}s` : 'ETA ?';
    const width = 24, filled = Math.round(frac * width);
    const jobs = [...this.running.values()].slice(0, 3).map((r) => `${r.name} it ${r.iteration}/${r.max}`).join(' · ');
    this.out.write(`\r[${'█'.repeat(filled)}${'·'.repeat(width - filled)}] ${this.finished + this.skipped + this.failed}/${this.total} jobs ${elapsed.toFixed(0)}s ${eta}${jobs ? ` · ${jobs}` : ''}\x1b[K`);
  }

  done(): void {
    if (this.tty) this.out.write('\r\x1b[K');
  }
}
