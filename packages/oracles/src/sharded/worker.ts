import { parentPort, workerData } from 'node:worker_threads';
import { readTensors, useBackend, type LowerEvaluation, type Oracle } from '@bilevel/core';
import type { ShardFactory, ShardOracle } from './factory.js';
import type { WorkerInit } from './pool.js';
import { shardEvaluationOf, shardHypergradientOf, transferables, type ShardEvaluation, type ShardHypergradient, type ShardSnapshot, type WorkerRequest } from './shards.js';

/** An oracle set: the shards' own oracles (on = 0) or an open subset's (undefined where a shard has no image of it). */
interface OracleSet {
  oracles: (Oracle | undefined)[];
  parent: number;
  /** The id of the accepted evaluation, kept (for its warm start) after a release. */
  acceptedId?: number;
}

const init = workerData as WorkerInit;
const sets = new Map<number, OracleSet>();
/** Per evaluation id: its oracle set and the shards' handles, by local shard position. */
const evaluations = new Map<number, { on: number; handles: Map<number, LowerEvaluation> }>();
const released = new Set<number>();

async function start(): Promise<void> {
  await useBackend(init.backend);
  const mod = (await import(init.factory)) as { createShardOracles?: ShardFactory; default?: ShardFactory };
  const factory = mod.createShardOracles ?? mod.default;
  if (typeof factory !== 'function') throw new Error(`${init.factory} exports neither createShardOracles nor a default function`);
  const oracles = await factory({ init: init.init, ranges: init.ranges, shardIds: init.shardIds, size: init.size });
  if (oracles.length !== init.ranges.length) throw new Error(`the factory built ${oracles.length} oracles for ${init.ranges.length} shards`);
  sets.set(0, { oracles, parent: 0 });
}

function oracle(on: number, k: number): Oracle {
  const o = sets.get(on)?.oracles[k];
  if (!o) throw new Error(`no oracle for shard position ${k} in set ${on}`);
  return o;
}

function handle(id: number, k: number): LowerEvaluation {
  const ev = evaluations.get(id)?.handles.get(k);
  if (!ev) throw new Error(`evaluation #${id} is not held for shard position ${k}`);
  return ev;
}

/** A copy that owns its buffer (transferable without detaching a tensor's storage). */
async function imagesOf(o: Oracle, ev?: LowerEvaluation): Promise<Float32Array> {
  const [v] = await readTensors(await o.reconstruction(ev));
  return v.slice();
}

async function evaluate(r: Extract<WorkerRequest, { op: 'evaluate' }>): Promise<ShardEvaluation[]> {
  const theta = Float64Array.from(r.theta);
  const evs = new Map<number, LowerEvaluation>();
  evaluations.set(r.id, { on: r.on, handles: evs });
  const out: ShardEvaluation[] = [];
  for (const [j, k] of r.shards.entries()) {
    const ev = await oracle(r.on, k).evaluate(theta, r.eps[j], r.from === undefined ? undefined : handle(r.from, k));
    evs.set(k, ev);
    out.push(shardEvaluationOf(ev));
  }
  return out;
}

async function hypergradient(r: Extract<WorkerRequest, { op: 'hypergradient' }>): Promise<ShardHypergradient[]> {
  const theta = Float64Array.from(r.theta);
  const out: ShardHypergradient[] = [];
  for (const [j, k] of r.shards.entries()) {
    out.push(shardHypergradientOf(await oracle(r.on, k).hypergradient(theta, r.eps[j], r.delta[j], handle(r.id, k), r.options)));
  }
  return out;
}

async function accept(r: Extract<WorkerRequest, { op: 'accept' }>): Promise<null> {
  for (const k of r.shards) await oracle(r.on, k).accept(handle(r.id, k));
  const set = sets.get(r.on)!;
  if (set.acceptedId !== undefined && set.acceptedId !== r.id && released.has(set.acceptedId)) forget(set.acceptedId);
  set.acceptedId = r.id;
  return null;
}

function release(r: Extract<WorkerRequest, { op: 'release' }>): null {
  const e = evaluations.get(r.id);
  if (!e) return null;
  for (const [k, ev] of e.handles) sets.get(e.on)?.oracles[k]?.release(ev);
  // The accepted evaluation stays addressable (its x̃ lives on as the warm start).
  if (sets.get(r.on)?.acceptedId === r.id) released.add(r.id);
  else forget(r.id);
  return null;
}

function forget(id: number): void {
  evaluations.delete(id);
  released.delete(id);
}

async function save(r: Extract<WorkerRequest, { op: 'save' }>): Promise<ShardSnapshot[]> {
  const out: ShardSnapshot[] = [];
  for (const k of r.shards) {
    const { x, q, shards: _, ...state } = await oracle(r.on, k).saveState();
    out.push({ state, x: x.slice(), q: q && q.slice() });
  }
  return out;
}

async function restore(r: Extract<WorkerRequest, { op: 'restore' }>): Promise<null> {
  const evs = new Map<number, LowerEvaluation>();
  for (const [j, k] of r.shards.entries()) {
    const o = oracle(r.on, k);
    const s = r.snapshots[j];
    await o.restoreState({ ...s.state, x: s.x, q: s.q });
    const a = o.accepted();
    if (a) evs.set(k, a);
  }
  if (r.acceptedId !== undefined && evs.size === r.shards.length) {
    evaluations.set(r.acceptedId, { on: r.on, handles: evs });
    released.add(r.acceptedId);
    sets.get(r.on)!.acceptedId = r.acceptedId;
  }
  return null;
}

async function subset(r: Extract<WorkerRequest, { op: 'subset' }>): Promise<null> {
  const base = sets.get(r.on);
  if (!base) throw new Error(`no oracle set ${r.on}`);
  const oracles: (Oracle | undefined)[] = base.oracles.map(() => undefined);
  for (const [j, k] of r.shards.entries()) {
    if (r.local[j].length > 0) oracles[k] = await (oracle(r.on, k) as ShardOracle).subset(r.local[j], { count: r.count });
  }
  sets.set(r.sub, { oracles, parent: r.on });
  return null;
}

async function merge(r: Extract<WorkerRequest, { op: 'merge' }>): Promise<null> {
  const set = sets.get(r.sub);
  if (!set) throw new Error(`no open subset ${r.sub}`);
  // A subset's evaluations end with it.
  for (const [id, e] of evaluations) if (e.on === r.sub) forget(id);
  for (const [k, sub] of set.oracles.entries()) if (sub) await oracle(set.parent, k).merge(sub, { keep: r.keep, costScaling: r.costScaling });
  sets.delete(r.sub);
  return null;
}

async function read(r: Extract<WorkerRequest, { op: 'read' }>): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const k of r.shards) out.push(await imagesOf(oracle(r.on, k), r.id === undefined ? undefined : handle(r.id, k)));
  return out;
}

async function floor(r: Extract<WorkerRequest, { op: 'floor' }>): Promise<number[]> {
  const out: number[] = [];
  for (const k of r.shards) out.push(await oracle(r.on, k).accuracyFloor(Float64Array.from(r.theta)));
  return out;
}

async function dispose(): Promise<null> {
  for (const e of evaluations.values()) for (const [k, ev] of e.handles) sets.get(e.on)?.oracles[k]?.release(ev);
  evaluations.clear();
  for (const [on, set] of [...sets].reverse()) if (on !== 0) for (const o of set.oracles) await o?.dispose();
  for (const o of sets.get(0)?.oracles ?? []) await o?.dispose();
  sets.clear();
  return null;
}

function dispatch(r: WorkerRequest): Promise<unknown> | unknown {
  switch (r.op) {
    case 'evaluate': return evaluate(r);
    case 'hypergradient': return hypergradient(r);
    case 'accept': return accept(r);
    case 'release': return release(r);
    case 'read': return read(r);
    case 'floor': return floor(r);
    case 'save': return save(r);
    case 'restore': return restore(r);
    case 'subset': return subset(r);
    case 'merge': return merge(r);
    case 'dispose': return dispose();
  }
}

// Requests are answered one at a time, in order.
let queue: Promise<void> = Promise.resolve();
try {
  await start();
  parentPort!.postMessage({ ready: true });
  parentPort!.on('message', ({ rid, request }: { rid: number; request: WorkerRequest }) => {
    queue = queue.then(async () => {
      try {
        const result = await dispatch(request);
        parentPort!.postMessage({ rid, result }, transferables(result));
      } catch (e) {
        parentPort!.postMessage({ rid, error: (e as Error).stack ?? String(e) });
      }
    });
  });
} catch (e) {
  parentPort!.postMessage({ ready: false, error: (e as Error).stack ?? String(e) });
}
