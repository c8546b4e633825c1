import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPTIMIZERS, tinyConfig } from '../../experiment/test/optimizer-configs.js';
import { bilevel, checkpointAt, rows, runAndKill, tempDir, theta, writeJson } from './cli.js';

describe('checkpoints and resume', () => {
  it('a run SIGKILLed three times at random moments and resumed ends with exactly the uninterrupted θ', async () => {
    const base = tempDir();
    const straight = join(base, 'straight');
    expect(bilevel(['run', '--default', '--out', straight, '--quiet', '--checkpoint-every', '1']).code).toBe(0);
    const total = rows(straight);
    const killed = join(base, 'killed');
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const outcomes = [await runAndKill(['run', '--default', '--out', killed, '--quiet', '--checkpoint-every', '1'], { ms: 1200 + 1500 * rand() })];
    const checkpoints = [checkpointAt(killed)];
    for (let k = 0; k < 2; k++) {
      outcomes.push(await runAndKill(['resume', killed, '--quiet'], { ms: 800 + 1500 * rand() }));
      checkpoints.push(checkpointAt(killed));
    }
    console.log(`kill outcomes: ${outcomes.join(', ')}; checkpoint after each: ${checkpoints.join(', ')} of ${total}`);
    expect(outcomes[0]).toBe('killed');
    // At least one kill landed mid-run, after a checkpoint had been written.
    expect(checkpoints.some((c, k) => outcomes[k] === 'killed' && c > 0 && c < total)).toBe(true);
    const r = bilevel(['resume', killed, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(theta(killed)).toEqual(theta(straight));
    expect(rows(killed)).toBe(total);
    // Time over the segments: seconds never go back, and every resume that ran an iteration starts a new segment.
    const log = readFileSync(join(killed, 'iterations.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seconds: number; segment: number; segmentStart?: number });
    expect(log.every((r, i) => i === 0 || r.seconds >= log[i - 1].seconds)).toBe(true);
    expect(log.every((r, i) => i === 0 || r.segment >= log[i - 1].segment)).toBe(true);
    expect(log.at(-1)!.segment).toBeGreaterThan(1);
    expect(log.filter((r) => r.segmentStart !== undefined).length).toBe(new Set(log.map((r) => r.segment)).size);
  }, 300_000);

  describe('every optimizer: killed with SIGKILL after a checkpoint and resumed, it ends with the uninterrupted θ', () => {
    for (const name of Object.keys(OPTIMIZERS)) {
      it(name, async () => {
        const base = tempDir();
        const config = writeJson(base, `${name}.json`, tinyConfig(name, 8));
        const straight = join(base, 'straight');
        const s = bilevel(['run', config, '--out', straight, '--quiet', '--checkpoint-every', '1']);
        expect(s.code, s.stderr).toBe(0);
        const total = rows(straight);
        expect(total, `${name} should run more than 2 iterations`).toBeGreaterThan(2);
        const killed = join(base, 'killed');
        const outcome = await runAndKill(['run', config, '--out', killed, '--quiet', '--checkpoint-every', '1'], { when: () => checkpointAt(killed) >= 2 });
        const at = checkpointAt(killed);
        console.log(`${name}: ${outcome} at checkpoint ${at} of ${total}`);
        expect(outcome).toBe('killed');
        expect(at).toBeGreaterThanOrEqual(2);
        const r = bilevel(['resume', killed, '--quiet']);
        expect(r.code, r.stderr).toBe(0);
        expect(theta(killed)).toEqual(theta(straight));
        expect(rows(killed)).toBe(total);
      }, 120_000);
    }
  });
});
