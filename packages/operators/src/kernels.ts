/** A 2-D blur kernel, row-major, with the pixel that sits on the output pixel at (centerRow, centerCol). */
export interface BlurKernel {
  readonly height: number;
  readonly width: number;
  readonly data: Float64Array;
  readonly centerRow: number;
  readonly centerCol: number;
}

function centred(height: number, width: number, data: Float64Array): BlurKernel {
  return { height, width, data, centerRow: Math.floor((height - 1) / 2), centerCol: Math.floor((width - 1) / 2) };
}

function normalise(data: Float64Array): Float64Array {
  const s = data.reduce((a, b) => a + b, 0);
  for (let i = 0; i < data.length; i++) data[i] /= s;
  return data;
}

/** Default Gaussian support: 2⌈3σ⌉ + 1. */
export function defaultGaussianSize(sigma: number): number {
  return 2 * Math.ceil(3 * sigma) + 1;
}

/** size × size samples of exp(−r²/2σ²) about the centre, normalised to sum 1. */
export function gaussianKernel(size: number, sigma: number): BlurKernel {
  const c = (size - 1) / 2;
  const data = new Float64Array(size * size);
  for (let a = 0; a < size; a++) for (let b = 0; b < size; b++) data[a * size + b] = Math.exp(-((a - c) ** 2 + (b - c) ** 2) / (2 * sigma * sigma));
  return centred(size, size, normalise(data));
}

/** Default motion support: the smallest odd size holding the segment. */
export function defaultMotionSize(length: number): number {
  return 2 * Math.ceil(length / 2) + 1;
}

/**
 * Linear motion of `length` pixels at `angle` degrees (counter-clockwise from the horizontal, rows pointing
 * down): the segment is sampled finely and splatted bilinearly, then normalised to sum 1. The kernel is
 * point-symmetric about its centre.
 */
export function motionKernel(length: number, angleDegrees: number, size = defaultMotionSize(length)): BlurKernel {
  const data = new Float64Array(size * size);
  const c = (size - 1) / 2;
  const a = (angleDegrees * Math.PI) / 180, ca = Math.cos(a), sa = Math.sin(a);
  const samples = Math.max(1, Math.ceil(16 * length));
  for (let i = 0; i < samples; i++) {
    const t = length * ((i + 0.5) / samples - 0.5);
    const col = c + t * ca, row = c - t * sa;
    const r0 = Math.floor(row), c0 = Math.floor(col), fr = row - r0, fc = col - c0;
    const splat = (r: number, q: number, wgt: number) => {
      if (r >= 0 && r < size && q >= 0 && q < size) data[r * size + q] += wgt;
    };
    splat(r0, c0, (1 - fr) * (1 - fc));
    splat(r0, c0 + 1, (1 - fr) * fc);
    splat(r0 + 1, c0, fr * (1 - fc));
    splat(r0 + 1, c0 + 1, fr * fc);
  }
  return centred(size, size, normalise(data));
}

/** A user-given size × size kernel (row-major), used as given (no normalisation). */
export function customKernel(weights: readonly number[], size: number): BlurKernel {
  if (weights.length !== size * size) throw new Error(`custom kernel: expected ${size * size} weights, got ${weights.length}`);
  return centred(size, size, Float64Array.from(weights));
}

/** k[a, b] = k[H−1−a, b] = k[a, W−1−b] (odd sizes): symmetric about the centre along each axis. */
export function isAxisSymmetric(k: BlurKernel, tol = 1e-12): boolean {
  if (k.height % 2 === 0 || k.width % 2 === 0) return false;
  const { height: H, width: W, data } = k;
  for (let a = 0; a < H; a++) for (let b = 0; b < W; b++) {
    const v = data[a * W + b];
    if (Math.abs(v - data[(H - 1 - a) * W + b]) > tol || Math.abs(v - data[a * W + (W - 1 - b)]) > tol) return false;
  }
  return true;
}

/** k[a, b] = k[H−1−a, W−1−b] (odd sizes): point-symmetric about the centre. */
export function isPointSymmetric(k: BlurKernel, tol = 1e-12): boolean {
  if (k.height % 2 === 0 || k.width % 2 === 0) return false;
  const { height: H, width: W, data } = k;
  for (let i = 0; i < H * W; i++) if (Math.abs(data[i] - data[H * W - 1 - i]) > tol) return false;
  return true;
}
