/**
 * The exact squared Euclidean distance transform (Felzenszwalb & Huttenlocher's lower envelope of parabolas, one
 * pass over the columns, one over the rows): O(H·W) whatever the radius, so disc-shaped morphology costs the same at
 * 3 px and at 30 px.
 */

/** Larger than any squared distance in a frame; "no feature pixel in reach". */
export const FAR = 1e20;

/** Squared distances along one line: d[q] = min_p (q − p)² + f[p]; v, z are scratch of size n and n + 1. */
function lowerEnvelope(f: Float64Array, n: number, d: Float64Array, v: Int32Array, z: Float64Array): void {
  let k = 0;
  v[0] = 0;
  z[0] = -Infinity;
  z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    let s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
    while (s <= z[k]) {
      k--;
      s = (f[q] + q * q - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    d[q] = (q - v[k]) * (q - v[k]) + f[v[k]];
  }
}

/**
 * For every pixel, the squared distance to the nearest pixel where `feature(k)` holds (0 on such pixels; FAR or more
 * when there is none).
 */
export function squaredDistanceTransform(width: number, height: number, feature: (k: number) => boolean): Float64Array {
  const out = new Float64Array(width * height);
  for (let k = 0; k < out.length; k++) out[k] = feature(k) ? 0 : FAR;
  const n = Math.max(width, height);
  const f = new Float64Array(n);
  const d = new Float64Array(n);
  const v = new Int32Array(n);
  const z = new Float64Array(n + 1);
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) f[y] = out[y * width + x];
    lowerEnvelope(f, height, d, v, z);
    for (let y = 0; y < height; y++) out[y * width + x] = d[y];
  }
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) f[x] = out[row + x];
    lowerEnvelope(f, width, d, v, z);
    for (let x = 0; x < width; x++) out[row + x] = d[x];
  }
  return out;
}
