// One thread of the parallel-ceiling benchmark: FoE-small ∇ₓR on 4×96×96, timed after a warm-up; posts the mean ms.
import { parentPort, workerData } from 'node:worker_threads';
import { tf, useBackend } from '@bilevel/core';
import { FieldsOfExperts } from '@bilevel/regularizers-foe';

const { backend, reps } = workerData as { backend: string; reps: number };
await useBackend(backend);
const reg = new FieldsOfExperts({ filters: 8, size: 5 });
const theta = tf.tensor1d(reg.initialTheta(0));
const x = tf.randomUniform([4, 96, 96, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
const once = async () => {
  const g = reg.gradX(x, theta);
  await g.data();
  g.dispose();
};
for (let k = 0; k < 10; k++) await once();
const t0 = performance.now();
for (let k = 0; k < reps; k++) await once();
parentPort!.postMessage((performance.now() - t0) / reps);
