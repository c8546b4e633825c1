/** Images as rows of a flat float32 array (P values each): the host-side gathers and scatters of warm starts. */

/** The rows `indices` of `all`, in that order. */
export function gatherRows(all: Float32Array, indices: readonly number[], P: number): Float32Array {
  const out = new Float32Array(indices.length * P);
  indices.forEach((i, k) => out.set(all.subarray(i * P, (i + 1) * P), k * P));
  return out;
}

/** A copy of `all` with its rows `indices` replaced by the rows of `part` (row k of part → row indices[k]). */
export function scatterRows(all: Float32Array, part: Float32Array, indices: readonly number[], P: number): Float32Array {
  const out = all.slice();
  indices.forEach((i, k) => out.set(part.subarray(k * P, (k + 1) * P), i * P));
  return out;
}
