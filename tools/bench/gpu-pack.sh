#!/usr/bin/env bash
# Packs the one-command GPU benchmark (tools/bench/src/gpu.ts) for the GPU machine: ../shared/tools/gpu-pack.sh
# (esbuild bundle, Dawn, the wasm files, node, the Vulkan loader) plus what the bundle reads at run time: the two
# example configs (examples/) and the Kodak24-96 and Kodak24-256 PNGs (data/), found there by gpu.ts.
#
# usage, from the repository root (needs `npm install --no-save webgpu @tensorflow/tfjs-backend-webgpu`):
#   tools/bench/gpu-pack.sh [OUTDIR]          (default .gpu; BILEVEL_SHARED overrides ../shared)
# then on the GPU machine, with OUTDIR carried:  cd OUTDIR && ./run.sh [--budget 420]   (JSON to $OUT/gpu-bench.json)
set -euo pipefail
out=${1:-.gpu}
cd "$(git rev-parse --show-toplevel)"
shared=${BILEVEL_SHARED:-../shared}
for p in node_modules/webgpu node_modules/@tensorflow/tfjs-backend-webgpu; do
  [ -d "$p" ] || { echo "gpu-pack: $p is missing → npm install --no-save webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0" >&2; exit 1; }
done
npx tsc -b tools/bench
"$shared/tools/gpu-pack.sh" tools/bench/src/gpu.ts "$out"
rm -rf "$out/data" "$out/examples"
mkdir -p "$out/data" "$out/examples"
cp -r "$shared/data/Kodak24-96" "$shared/data/Kodak24-256" "$out/data/"
cp examples/tv-denoising-kodak96.json examples/foe-denoising-kodak256.json "$out/examples/"
du -sh "$out"
