/** Where images come from: a folder of PNGs, generated piecewise-smooth images, or CT phantoms (config `data.train`). */
export type ImageSource =
  | { source: 'folder'; path: string; count?: number; offset?: number; size?: [number, number]; fit?: 'resize' | 'crop' }
  | { source: 'synthetic'; count: number; size: [number, number]; seed?: number }
  | { source: 'phantoms'; count: number; size: [number, number]; seed?: number; kind?: 'ellipses' | 'shepp-logan' };

/** The noise model of measurements (config `data.noise`). */
export interface NoiseSpec {
  /** gaussian: y + σn; poisson: transmission counts ~ Poisson(I₀ e^{−κy}), returned as −ln(counts/I₀)/κ. */
  type: 'gaussian' | 'poisson';
  /** Gaussian standard deviation, absolute (relative: false) or as a fraction of the measurement's max (0 for poisson). */
  sigma: number;
  relative?: boolean;
  /** Poisson: incident photons per detector, I₀. */
  photons?: number;
  /** Poisson: κ (attenuation per unit of the measurement); default 2 / max y. */
  attenuation?: number;
}
