/**
 * CLIP positional-embedding interpolation (spec §A.6.3), reproducing the reference's DINO-derived quirk:
 * the g×g patch table is resampled bicubically to a [wp, hp] grid (width count on the ROW axis), flattened
 * row-major and then read in the token order of an [hp, wp] grid, so token k receives the interpolated entry
 * at grid position (k div hp, k mod hp). Square inputs are unaffected. CPU only: the result is a constant
 * table, computed once per grid size (see positionTableFor).
 *
 * The resampling follows PyTorch's `F.interpolate(mode='bicubic', scale_factor=(a/g, b/g),
 * align_corners=False)` with `recompute_scale_factor` unset: a = wp + 0.1, b = hp + 0.1, output size
 * floor(g·sf) per axis, source coordinate `src = (o + 0.5)/sf − 0.5` (not clamped), cubic-convolution
 * kernel with A = −0.75, 4 taps at floor(src) − 1 … floor(src) + 2 index-clamped to [0, g − 1].
 * Arithmetic is float64 (PyTorch uses float32 on CPU and CUDA: differences are at the 1e-7 level).
 */
import { EngineError } from '../gpu/errors';

/** The cubic-convolution constant PyTorch uses for bicubic interpolation. */
export const BICUBIC_A = -0.75;

/** Keys' cubic for |x| ≤ 1. */
function cubic1(x: number, a: number): number {
  return ((a + 2) * x - (a + 3)) * x * x + 1;
}

/** Keys' cubic for 1 < |x| < 2. */
function cubic2(x: number, a: number): number {
  return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
}

/** The four tap weights for a fractional offset t ∈ [0, 1) (taps at floor(src) − 1, …, floor(src) + 2). */
export function cubicWeights(t: number, a = BICUBIC_A): [number, number, number, number] {
  return [cubic2(t + 1, a), cubic1(t, a), cubic1(1 - t, a), cubic2(2 - t, a)];
}

interface AxisTaps {
  index: Int32Array; // [out, 4] clamped source indices
  weight: Float64Array; // [out, 4]
}

/** Taps of one axis: `outSize` outputs from `inSize` inputs with PyTorch's given-scale-factor source formula. */
function axisTaps(inSize: number, outSize: number, scaleFactor: number): AxisTaps {
  const index = new Int32Array(outSize * 4);
  const weight = new Float64Array(outSize * 4);
  const scale = 1 / scaleFactor;
  for (let o = 0; o < outSize; o++) {
    const src = scale * (o + 0.5) - 0.5;
    const i0 = Math.floor(src);
    const w = cubicWeights(src - i0);
    for (let m = 0; m < 4; m++) {
      index[o * 4 + m] = Math.min(Math.max(i0 - 1 + m, 0), inSize - 1);
      weight[o * 4 + m] = w[m];
    }
  }
  return { index, weight };
}

/**
 * Interpolates CLIP's positional table [1 + grid², dim] (row-major, class row first) for an hp × wp token
 * grid. Returns [1 + hp·wp, dim]. When hp == wp == grid (and the image is square) the table is returned
 * unchanged (as a copy).
 *
 * `imageSquare` (default true) is whether the image's pixel height equals its width: the reference uses
 * the table as is only when the token count matches AND h == w, so e.g. a 224×231 view (7×7 tokens) is
 * still resampled with a = b = 7.1. Pass false in that case.
 */
export function interpolatePositionTable(
  table: Float32Array,
  grid: number,
  hp: number,
  wp: number,
  dim: number,
  imageSquare = true,
): Float32Array {
  const op = 'interpolatePositionTable';
  for (const [name, v] of [
    ['grid', grid],
    ['hp', hp],
    ['wp', wp],
    ['dim', dim],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new EngineError(op, `${name} must be a positive integer, got ${v}`);
  }
  if (table.length !== (1 + grid * grid) * dim) {
    throw new EngineError(
      op,
      `table has ${table.length} values but [1 + ${grid}², ${dim}] needs ${(1 + grid * grid) * dim}`,
    );
  }
  if (hp === grid && wp === grid && imageSquare) return table.slice();

  const a = wp + 0.1; // row axis of the grid (the swapped naming of the reference)
  const b = hp + 0.1; // column axis
  const sfRow = a / grid;
  const sfCol = b / grid;
  const rows = Math.floor(grid * sfRow); // = wp
  const cols = Math.floor(grid * sfCol); // = hp
  if (rows !== wp || cols !== hp) {
    throw new EngineError(op, `internal: output grid ${rows}×${cols} differs from ${wp}×${hp}`);
  }
  const tr = axisTaps(grid, rows, sfRow);
  const tc = axisTaps(grid, cols, sfCol);

  const out = new Float32Array((1 + rows * cols) * dim);
  out.set(table.subarray(0, dim), 0);
  const acc = new Float64Array(dim);
  for (let o1 = 0; o1 < rows; o1++) {
    for (let o2 = 0; o2 < cols; o2++) {
      acc.fill(0);
      for (let m = 0; m < 4; m++) {
        const wr = tr.weight[o1 * 4 + m];
        const ir = tr.index[o1 * 4 + m];
        for (let n = 0; n < 4; n++) {
          const wgt = wr * tc.weight[o2 * 4 + n];
          const base = (1 + ir * grid + tc.index[o2 * 4 + n]) * dim;
          for (let d = 0; d < dim; d++) acc[d] += wgt * table[base + d];
        }
      }
      // Flattened row-major over [wp, hp]: token k = o1·hp + o2 gets grid position (k div hp, k mod hp).
      out.set(acc, (1 + o1 * cols + o2) * dim);
    }
  }
  return out;
}

const cache = new WeakMap<Float32Array, Map<string, Float32Array>>();

/**
 * interpolatePositionTable, cached per (table, grid, hp, wp, dim, imageSquare). The returned array is
 * shared: do not modify it.
 */
export function positionTableFor(
  table: Float32Array,
  grid: number,
  hp: number,
  wp: number,
  dim: number,
  imageSquare = true,
): Float32Array {
  let perTable = cache.get(table);
  if (!perTable) {
    perTable = new Map();
    cache.set(table, perTable);
  }
  const key = `${grid}/${hp}/${wp}/${dim}/${imageSquare}`;
  let t = perTable.get(key);
  if (!t) {
    t = interpolatePositionTable(table, grid, hp, wp, dim, imageSquare);
    perTable.set(key, t);
  }
  return t;
}
