import { parentPort, workerData } from 'node:worker_threads';
import { HypergradientOracle, LowerLevelProblem, tf, useBackend, type ImageBatch, type LowerEvaluation, type OracleState } from '@bilevel/core';
import { buildExperiment } from '../build.js';
import { Channel, type ChannelBuffers } from './channel.js';
import type { ShardEvaluation, ShardHypergradient } from './shards.js';

/** What the main thread sends a worker at start. */
export interface WorkerInit {
  config: unknown;
  baseDir: string;
  backend?: string;
  /** [start, end) image ranges of this worker's shards, and their global shard numbers. */
  ranges: [number, number][];
  shardIds: number[];
  buffers: ChannelBuffers;
}

type Request =
  | { op: 'evaluate'; id: number; theta: number[]; eps: number[]; from?: number }
  | { op: 'accept' | 'release' | 'readX' | 'adopt'; id: number }
  | { op: 'readCurrent' | 'save' | 'dispose' }
  | { op: 'hypergradient'; id: number; theta: number[]; eps: number[]; delta: number[]; valueEstimate: boolean; errorBound: boolean }
  | { op: 'floor'; theta: number[] }
  | { op: 'restore'; states: { counters: OracleState['counters']; lipschitz: OracleState['lipschitz']; hasQ: boolean }[] };

const init = workerData as WorkerInit;
await useBackend(init.backend);
const spec = await buildExperiment(init.config, { baseDir: init.baseDir });
const n = spec.train.clean.shape[0];
const [, h, w] = spec.train.clean.shape;
const pixels = h * w;
const oracles = init.ranges.map(([a, b], k) => {
  const targets = tf.slice(spec.train.clean, [a, 0, 0, 0], [b - a, h, w, 1]) as ImageBatch;
  const measurement = tf.slice(spec.train.measurement, a, b - a);
  const problem = new LowerLevelProblem(spec.operator, spec.fidelity, spec.regularizer, measurement, spec.gamma);
  const x0 = spec.operator.naiveReconstruction(measurement);
  const oracle = new HypergradientOracle(problem, targets, spec.lowerSolver, spec.linearSolver, x0, spec.seed * 7919 + init.shardIds[k], n);
  x0.dispose();
  return oracle;
});
const evaluations = new Map<number, LowerEvaluation[]>();
const channel = new Channel(init.buffers);

/** Copies per-shard image tensors into the shared float buffer, shard after shard. */
function writeImages(images: ImageBatch[]): void {
  let o = 0;
  for (const t of images) {
    const v = t.dataSync() as Float32Array;
    channel.floats.set(v, o);
    o += v.length;
  }
}

function handle(req: Request): unknown {
  switch (req.op) {
    case 'evaluate': {
      const theta = Float64Array.from(req.theta);
      const from = req.from === undefined ? undefined : evaluations.get(req.from);
      const evs = oracles.map((o, k) => o.evaluate(theta, req.eps[k], from?.[k]));
      evaluations.set(req.id, evs);
      return evs.map((ev): ShardEvaluation => ({
        value: ev.value, upperGradNormSq: ev.upperGradNorm ** 2, iterations: ev.lower.iterations,
        gradNormSq: ev.lower.gradNorm ** 2, certifiedSq: ev.lower.certifiedError ** 2, stop: ev.lower.stop,
      }));
    }
    case 'adopt':
      // An evaluation around the accepted warm start (after a checkpoint restore the optimizer holds no id).
      evaluations.set(req.id, oracles.map((o): LowerEvaluation => {
        const x = tf.keep(o.current.clone());
        return { theta: new Float64Array(), x, value: 0, upperGradNorm: 0, lower: { x, iterations: 0, gradNorm: 0, certifiedError: 0, stop: 'certified' } };
      }));
      return null;
    case 'accept':
      evaluations.get(req.id)!.forEach((ev, k) => oracles[k].accept(ev));
      return null;
    case 'release':
      evaluations.get(req.id)?.forEach((ev, k) => oracles[k].release(ev));
      evaluations.delete(req.id);
      return null;
    case 'hypergradient': {
      const theta = Float64Array.from(req.theta);
      const evs = evaluations.get(req.id)!;
      return oracles.map((o, k): ShardHypergradient => {
        const hg = o.hypergradient(theta, req.eps[k], req.delta[k], evs[k], { valueEstimate: req.valueEstimate, errorBound: req.errorBound });
        const s = hg.stats;
        return {
          grad: Array.from(hg.grad), qNormSq: s.qNorm ** 2, jacobianNorm: s.jacobianNorm, lipschitzJ: s.lipschitzJ,
          lipschitzHessian: s.lipschitzHessianInverse * s.mu * s.mu, cgIterations: s.cgIterations, cgResidualSq: s.cgResidual ** 2, probeWork: s.probeWork,
          valueEstimate: hg.valueEstimate,
        };
      });
    }
    case 'floor':
      return oracles.map((o) => o.accuracyFloor(Float64Array.from(req.theta)));
    case 'readX':
      writeImages(evaluations.get(req.id)!.map((ev) => ev.x));
      return null;
    case 'readCurrent':
      writeImages(oracles.map((o) => o.current));
      return null;
    case 'save': {
      const states = oracles.map((o) => o.saveState());
      let o = 0;
      states.forEach((s) => { channel.floats.set(s.x, o); o += s.x.length; });
      states.forEach((s) => { if (s.q) channel.floats.set(s.q, o); o += s.x.length; });
      return states.map((s) => ({ counters: s.counters, lipschitz: s.lipschitz, hasQ: s.q !== null }));
    }
    case 'restore': {
      let o = 0;
      const xs = oracles.map((_, k) => { const len = (init.ranges[k][1] - init.ranges[k][0]) * pixels; const x = channel.floats.slice(o, o + len); o += len; return x; });
      oracles.forEach((orc, k) => {
        const len = xs[k].length;
        const q = channel.floats.slice(o, o + len);
        o += len;
        const st = req.states[k];
        orc.restoreState({ x: xs[k], q: st.hasQ ? q : null, counters: st.counters, lipschitz: st.lipschitz });
      });
      return null;
    }
    case 'dispose':
      for (const evs of evaluations.values()) evs.forEach((ev, k) => oracles[k].release(ev));
      evaluations.clear();
      oracles.forEach((o) => o.dispose());
      return null;
  }
}

parentPort!.postMessage('ready');
channel.serve((r) => handle(r as Request));
