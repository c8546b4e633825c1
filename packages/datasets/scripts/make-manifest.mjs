#!/usr/bin/env node
// Writes packages/datasets/data-manifest.json from a copy of the data sets laid out like ../shared/data:
//   node packages/datasets/scripts/make-manifest.mjs [DATA_DIR (default ../shared/data)]
// Every file's size and SHA-256 are computed from those bytes (the byte-for-byte copies are the upstream blobs, see each
// folder's SOURCE.txt); derived and generated sets also get the SHA-256 of their 8-bit gray pixels ("pixels"), which is
// what a conversion made here is checked against.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const DATA = resolve(process.argv[2] ?? join(HERE, '../../../../shared/data'));
const raw = (repo, commit, path) => `https://raw.githubusercontent.com/${repo}/${commit}/${path}`;
const DNCNN = ['cszn/DnCNN', 'e93b27812d3ff523a3a79d19e5e50d233d7a8d0a'];
const CRR = ['axgoujon/convex_ridge_regularizers', '5bd6e3ee3c9e0188f333a8cc3f5dcf7ff8b8e902'];
const MAID = ['MohammadSadeghSalehi/MAID', '6986372b4cdb0f809adf4f449afc0be21c2784f5'];
const KODAK_TERMS = 'Kodak Lossless True Color Image Suite; commonly described as released for unrestricted use (not checked against a primary source)';
const BSDS_TERMS = 'BSDS terms: free for non-commercial research and education; cite Martin et al. (ICCV 2001) and Roth & Black (2005/2009)';

/** The data sets: name, folder (as in ../shared/data), how each file is obtained. */
const SETS = [
  { name: 'kodak24', folder: 'Kodak24', title: 'Kodak24, 8-bit gray (luma of the colour originals), full size', origin: 'luma', colour: MAID, terms: KODAK_TERMS },
  { name: 'kodak24-96', folder: 'Kodak24-96', title: 'Kodak24 resized to 96×96, then gray (MAID TV denoising)', origin: 'resize-luma', resize: [96, 96], colour: MAID, terms: KODAK_TERMS },
  { name: 'kodak24-256', folder: 'Kodak24-256', title: 'Kodak24 resized to 256×256, then gray (MAID FoE denoising)', origin: 'resize-luma', resize: [256, 256], colour: MAID, terms: KODAK_TERMS },
  { name: 'bsd68', folder: 'BSD68', title: 'BSD68 test set (Roth & Black; disjoint from train400)', origin: 'copy', repo: DNCNN, dir: 'testsets/BSD68', terms: BSDS_TERMS },
  { name: 'train400', folder: 'BSD400', title: 'Train400 = BSD400, training pool (DnCNN, TNRD)', origin: 'copy', repo: CRR, dir: 'training/data/images/BSD/train', terms: BSDS_TERMS },
  { name: 'set12', folder: 'Set12', title: 'Set12 classic test images (DnCNN)', origin: 'copy', repo: DNCNN, dir: 'testsets/Set12', terms: 'no stated terms; copyright of individual images varies (see Set12/SOURCE.txt)' },
  { name: 'shepp-logan', folder: 'CT_SheppLogan', title: 'modified Shepp–Logan phantom, round(255·x), generated here', origin: 'generated', terms: 'a mathematical definition: no third-party data' },
];

const sha256 = (b) => createHash('sha256').update(b).digest('hex');

/** Size, SHA-256, dimensions and (for non-copies) the SHA-256 of the gray pixels of one file. */
function describe(set, file) {
  const bytes = readFileSync(join(DATA, set.folder, file));
  const png = PNG.sync.read(bytes);
  const entry = { name: file, size: bytes.length, sha256: sha256(bytes), width: png.width, height: png.height };
  if (set.origin === 'copy') return { ...entry, url: raw(...set.repo, `${set.dir}/${file}`) };
  const gray = Buffer.alloc(png.width * png.height);
  for (let i = 0; i < gray.length; i++) gray[i] = png.data[4 * i];
  const pixels = sha256(gray);
  return set.colour ? { ...entry, pixels, original: raw(...set.colour, `Kodak_dataset/${file}`) } : { ...entry, pixels };
}

const datasets = SETS.map((set) => {
  const files = readdirSync(join(DATA, set.folder)).filter((f) => f.endsWith('.png')).sort().map((f) => describe(set, f));
  const { repo: _r, dir: _d, colour: _c, ...rest } = set;
  return { ...rest, files };
});
const manifest = { version: 1, generatedFrom: '../shared/data (see each folder\'s SOURCE.txt)', datasets };
const out = join(HERE, '../data-manifest.json');
// One line per file, so that a diff of the manifest shows which files changed.
const text = JSON.stringify(manifest, null, 2).replace(/\{\n\s+"name": "[^"]+\.png"[^}]+\}/g, (m) => JSON.stringify(JSON.parse(m)));
writeFileSync(out, text + '\n');
console.log(`${out}: ${datasets.map((d) => `${d.name} ${d.files.length}`).join(', ')}`);
