import type { GrayImage } from './png.js';
import { Rng } from './random.js';

/**
 * A seeded piecewise-smooth test image in [0, 1]: a smooth background gradient plus random ellipses and
 * rectangles of constant or linearly varying intensity (the structure TV-type priors are built for).
 */
export function syntheticImage(height: number, width: number, seed: number): GrayImage {
  const rng = new Rng(seed);
  const data = new Float32Array(height * width);
  const gx = rng.uniform() * 0.4 - 0.2, gy = rng.uniform() * 0.4 - 0.2, base = 0.3 + 0.4 * rng.uniform();
  for (let i = 0; i < height; i++) for (let j = 0; j < width; j++) data[i * width + j] = base + gx * (j / width - 0.5) + gy * (i / height - 0.5);
  const shapes = 4 + Math.floor(rng.uniform() * 5);
  for (let s = 0; s < shapes; s++) {
    const cy = rng.uniform() * height, cx = rng.uniform() * width;
    const ry = (0.08 + 0.25 * rng.uniform()) * height, rx = (0.08 + 0.25 * rng.uniform()) * width;
    const angle = rng.uniform() * Math.PI, ca = Math.cos(angle), sa = Math.sin(angle);
    const level = rng.uniform(), slope = (rng.uniform() - 0.5) * 0.6, ellipse = rng.uniform() < 0.6;
    for (let i = 0; i < height; i++) for (let j = 0; j < width; j++) {
      const u = ((j - cx) * ca + (i - cy) * sa) / rx, v = (-(j - cx) * sa + (i - cy) * ca) / ry;
      const inside = ellipse ? u * u + v * v <= 1 : Math.abs(u) <= 1 && Math.abs(v) <= 1;
      if (inside) data[i * width + j] = level + slope * u * 0.5;
    }
  }
  for (let k = 0; k < data.length; k++) data[k] = Math.min(1, Math.max(0, data[k]));
  return { height, width, data, name: `synthetic-${seed}` };
}
