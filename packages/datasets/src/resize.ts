import type { GrayImage } from './png.js';

/** Bilinear resize with half-pixel centres (area-averaged first when shrinking by ≥ 2 to avoid aliasing). */
export function resize(img: GrayImage, height: number, width: number): GrayImage {
  if (img.height === height && img.width === width) return img;
  let src = img;
  while (src.height >= 2 * height && src.width >= 2 * width) src = halve(src);
  const out = new Float32Array(height * width);
  const sy = src.height / height, sx = src.width / width;
  for (let i = 0; i < height; i++) {
    const y = Math.min(Math.max((i + 0.5) * sy - 0.5, 0), src.height - 1);
    const y0 = Math.floor(y), y1 = Math.min(y0 + 1, src.height - 1), fy = y - y0;
    for (let j = 0; j < width; j++) {
      const x = Math.min(Math.max((j + 0.5) * sx - 0.5, 0), src.width - 1);
      const x0 = Math.floor(x), x1 = Math.min(x0 + 1, src.width - 1), fx = x - x0;
      const a = src.data[y0 * src.width + x0], b = src.data[y0 * src.width + x1];
      const c = src.data[y1 * src.width + x0], d = src.data[y1 * src.width + x1];
      out[i * width + j] = (1 - fy) * ((1 - fx) * a + fx * b) + fy * ((1 - fx) * c + fx * d);
    }
  }
  return { height, width, data: out, name: img.name };
}

/** 2×2 box average. */
function halve(img: GrayImage): GrayImage {
  const h = Math.floor(img.height / 2), w = Math.floor(img.width / 2);
  const out = new Float32Array(h * w);
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    const p = 2 * i * img.width + 2 * j;
    out[i * w + j] = 0.25 * (img.data[p] + img.data[p + 1] + img.data[p + img.width] + img.data[p + img.width + 1]);
  }
  return { height: h, width: w, data: out, name: img.name };
}

/** Centre crop to height × width. */
export function centerCrop(img: GrayImage, height: number, width: number): GrayImage {
  const top = Math.floor((img.height - height) / 2), left = Math.floor((img.width - width) / 2);
  const out = new Float32Array(height * width);
  for (let i = 0; i < height; i++) out.set(img.data.subarray((top + i) * img.width + left, (top + i) * img.width + left + width), i * width);
  return { height, width, data: out, name: img.name };
}
