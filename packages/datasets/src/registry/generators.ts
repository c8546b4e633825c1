import { sheppLogan } from '../phantoms.js';
import type { Raster8 } from '../raster.js';

/**
 * round(255·x) with round-half-to-even (numpy's np.round, as ../shared/data/CT_SheppLogan was made) of a value that is
 * a multiple of 0.1: x = k/10 gives 25.5·k = 51k/2, so .1 → 26, .3 → 76, 1 → 255.
 */
export function tenthsToByte(x: number): number {
  const k = Math.round(10 * x);
  const twice = 51 * k;
  if (twice % 2 === 0) return twice / 2;
  const down = (twice - 1) / 2;
  return down % 2 === 0 ? down : down + 1;
}

/** The modified Shepp–Logan phantom (values in tenths) as 8-bit gray: CT_SheppLogan/shepp_logan_mod_N.png. */
function sheppLogan8(width: number, height: number): Raster8 {
  const p = sheppLogan(height, width);
  return { width, height, channels: 1, data: Uint8Array.from(p.data, tenthsToByte) };
}

/** The generated data sets' images by data set name. */
export const GENERATORS: Readonly<Record<string, (width: number, height: number) => Raster8>> = {
  'shepp-logan': sheppLogan8,
};
