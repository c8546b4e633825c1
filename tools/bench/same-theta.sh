#!/usr/bin/env bash
# The final θ of the demo, TV Kodak96 and 20 FoE-small iterations on wasm, with a hash of each, for one built checkout:
#   tools/bench/same-theta.sh <checkout> <out-dir>
# Run it for two checkouts and compare the lines (bit-identical arithmetic: the same hashes). Needs ../shared/data.
set -euo pipefail
C=$(cd "$1" && pwd); O=$(mkdir -p "$2" && cd "$2" && pwd)
cd "$C"
KODAK="$(cd "$C/../shared/data" && pwd)/Kodak24-96"
node -e '
const fs = require("fs");
const c = JSON.parse(fs.readFileSync("examples/foe-denoising-small.json"));
c.budget = { maxIterations: 20 };
c.data.train.path = process.argv[2]; c.data.test.path = process.argv[2];
fs.writeFileSync(process.argv[1], JSON.stringify(c));' "$O/foe20.json" "$KODAK"
node packages/cli/dist/main.js run --default --backend wasm --out "$O/demo" --force --quiet
node packages/cli/dist/main.js run examples/tv-denoising-kodak96.json --backend wasm --out "$O/kodak96" --force --quiet
node packages/cli/dist/main.js run "$O/foe20.json" --backend wasm --out "$O/foe20" --force --quiet
for r in demo kodak96 foe20; do
  node -e '
const s = require(process.argv[1]);
const hash = require("crypto").createHash("sha1").update(JSON.stringify(s.theta)).digest("hex");
console.log(process.argv[2], s.stopReason, hash, JSON.stringify(s.theta.slice(0, 4)));' "$O/$r/summary.json" "$r"
done
