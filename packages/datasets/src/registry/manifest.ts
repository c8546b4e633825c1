import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from '@bilevel/core';

// The committed list of data sets and their files (packages/datasets/data-manifest.json, written by
// scripts/make-manifest.mjs from ../shared/data): sizes and SHA-256 of every file, where each comes from.

const sha = z.string().regex(/^[0-9a-f]{64}$/);

const fileSchema = z.object({
  name: z.string().regex(/^[A-Za-z0-9._-]+$/),
  size: z.number().int().min(0),
  /** SHA-256 of the file's bytes as in ../shared/data (and upstream, for byte-for-byte copies). */
  sha256: sha,
  width: z.number().int().min(1),
  height: z.number().int().min(1),
  /** copy: where the identical file is published. */
  url: z.string().optional(),
  /** luma, resize-luma: SHA-256 of the 8-bit gray pixels (row-major), what a conversion made here is checked against. */
  pixels: sha.optional(),
  /** luma, resize-luma: the colour original it is made from. */
  original: z.string().optional(),
});

const datasetSchema = z.object({
  name: z.string(),
  /** Its folder in a mirror or the cache (as in ../shared/data). */
  folder: z.string().regex(/^[A-Za-z0-9._-]+$/),
  title: z.string(),
  /** copy: byte-for-byte from `url`; luma: gray of `original`; resize-luma: resized `original`, then gray; generated: made here. */
  origin: z.enum(['copy', 'luma', 'resize-luma', 'generated']),
  /** resize-luma: [width, height]. */
  resize: z.tuple([z.number().int().min(1), z.number().int().min(1)]).optional(),
  terms: z.string(),
  files: z.array(fileSchema).min(1),
});

export const manifestSchema = z.object({ version: z.literal(1), datasets: z.array(datasetSchema) });

export type Manifest = z.infer<typeof manifestSchema>;
export type DatasetEntry = z.infer<typeof datasetSchema>;
export type ManifestFile = z.infer<typeof fileSchema>;

let bundled: Manifest | undefined;

/** The manifest shipped with the package (read once). */
export function bundledManifest(): Manifest {
  bundled ??= manifestSchema.parse(JSON.parse(readFileSync(fileURLToPath(new URL('../../data-manifest.json', import.meta.url)), 'utf8')));
  return bundled;
}

/** The manifest's entry for `name`, if any. */
export function findDataset(manifest: Manifest, name: string): DatasetEntry | undefined {
  return manifest.datasets.find((d) => d.name === name);
}

/** The gray pixels' SHA-256 that a colour original must give (from the `luma` set made from it), if the manifest has one. */
export function originalLumaHash(manifest: Manifest, original: string): string | undefined {
  for (const d of manifest.datasets) {
    if (d.origin !== 'luma') continue;
    const f = d.files.find((x) => x.original === original);
    if (f) return f.pixels;
  }
  return undefined;
}
