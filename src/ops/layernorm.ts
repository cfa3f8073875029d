/**
 * LayerNorm over the last dim (CLIP's pre-norm transformer blocks) and `columnSum`, the two-stage
 * row reduction its γ/β gradients and linear's bias gradient use.
 *
 * Forward and dx: row segments of a workgroup (rowSegments.ts; a whole workgroup for ViT-B's 768-wide rows, 8
 * rows per workgroup for a 32-wide one), a strided pass over the row and a tree reduction (two-pass mean/variance
 * for accuracy). γ/β gradients: stage 1 sums dy·x̂ and dy over
 * chunks of rows (64 columns × 4 row lanes per workgroup, coalesced 256-byte row segments), stage 2
 * sums the chunk partials with the same column-sum kernel. No float atomics.
 */
import { EngineError, shapeStr } from '../gpu/errors';
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertSameEngine, paramsWgsl, storageWgsl } from './common';
import { rowKernelWgsl, rowSegmentLaunch, type SegmentReduction } from './rowSegments';

/** Columns per workgroup in the column reductions. */
const COL_X = 64;
/** Row lanes per workgroup in the column reductions. */
const COL_Y = 4;
/** Rows a single column-sum pass handles before it splits into chunks. */
const SINGLE_PASS_ROWS = 256;
/** Most chunks (stage-1 workgroup rows) of a column reduction. */
const MAX_CHUNKS = 128;

const ROW_SUMS: readonly SegmentReduction[] = [
  { name: 'rowSum', type: 'f32', combine: (a, b) => `${a} + ${b}` },
  { name: 'rowSum2', type: 'vec2<f32>', combine: (a, b) => `${a} + ${b}` },
];

function forwardWgsl(lanes: number): string {
  return rowKernelWgsl({
    lanes,
    reductions: ROW_SUMS,
    fields: 'eps: f32',
    read: ['x', 'gamma', 'beta'],
    write: ['y', 'stats: vec2<f32>'],
    body: `
  let inv = 1.0 / f32(p.C);
  var s = 0.0;
  if (live) { for (var c = lane; c < p.C; c += LANES) { s += x[base + c]; } }
  let mean = rowSum(t, s) * inv;
  var q = 0.0;
  if (live) { for (var c = lane; c < p.C; c += LANES) { let d = x[base + c] - mean; q += d * d; } }
  let rstd = inverseSqrt(rowSum(t, q) * inv + p.eps);
  if (!live) { return; }
  for (var c = lane; c < p.C; c += LANES) {
    y[base + c] = (x[base + c] - mean) * rstd * gamma[c] + beta[c];
  }
  if (lane == 0u) { stats[row] = vec2<f32>(mean, rstd); }`,
  });
}

/** dx = rstd · (g − mean(g) − x̂·mean(g·x̂)), g = dy·γ. */
function dxWgsl(lanes: number): string {
  return rowKernelWgsl({
    lanes,
    reductions: ROW_SUMS,
    read: ['x', 'gamma', 'stats: vec2<f32>', 'dy'],
    write: ['dx'],
    body: `
  var st = vec2<f32>(0.0);
  var acc = vec2<f32>(0.0);
  if (live) {
    st = stats[row];
    for (var c = lane; c < p.C; c += LANES) {
      let xh = (x[base + c] - st.x) * st.y;
      let g = dy[base + c] * gamma[c];
      acc += vec2<f32>(g, g * xh);
    }
  }
  let m = rowSum2(t, acc) / f32(p.C);
  if (!live) { return; }
  for (var c = lane; c < p.C; c += LANES) {
    let xh = (x[base + c] - st.x) * st.y;
    let g = dy[base + c] * gamma[c];
    dx[base + c] = st.y * (g - m.x - xh * m.y);
  }`,
  });
}

/**
 * WGSL of a chunked column reduction over a [rows, C] matrix: workgroup (x, chunk) sums `term(r, c)` (of type T)
 * over the chunk's rows for COL_X columns, COL_Y row lanes each, into `s`, which `store` writes (at column c of
 * chunk wid.y).
 */
function columnChunkSumWgsl(k: {
  type: 'f32' | 'vec2<f32>';
  read: string[];
  write: string[];
  term: string;
  store: string;
}): string {
  return /* wgsl */ `${paramsWgsl('rows: u32, C: u32, rowsPerChunk: u32')}
${storageWgsl(k.read, k.write)}
var<workgroup> red: array<${k.type}, ${COL_X * COL_Y}>;
@compute @workgroup_size(${COL_X}, ${COL_Y})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let c = wid.x * ${COL_X}u + lid.x;
  let r0 = wid.y * p.rowsPerChunk;
  let r1 = min(p.rows, r0 + p.rowsPerChunk);
  var acc = ${k.type}(0.0);
  if (c < p.C) {
    for (var r = r0 + lid.y; r < r1; r += ${COL_Y}u) { ${k.term} }
  }
  red[lid.y * ${COL_X}u + lid.x] = acc;
  workgroupBarrier();
  if (lid.y == 0u && c < p.C) {
    var s = red[lid.x];
    for (var k = 1u; k < ${COL_Y}u; k++) { s += red[k * ${COL_X}u + lid.x]; }
    ${k.store}
  }
}`;
}

/** Stage 1 of dγ/dβ: partial sums of dy·x̂ and dy over one chunk of rows, per column. */
const LN_DGB_WGSL = columnChunkSumWgsl({
  type: 'vec2<f32>',
  read: ['x', 'stats: vec2<f32>', 'dy'],
  write: ['pg', 'pb'],
  term: `
      let st = stats[r];
      let g = dy[r * p.C + c];
      acc += vec2<f32>(g * (x[r * p.C + c] - st.x) * st.y, g);`,
  store: `pg[wid.y * p.C + c] = s.x;
    pb[wid.y * p.C + c] = s.y;`,
});

/** Column sums of a [rows, C] matrix over one chunk of rows: out[chunk, c]. */
const COLSUM_WGSL = columnChunkSumWgsl({
  type: 'f32',
  read: ['x'],
  write: ['out'],
  term: 'acc += x[r * p.C + c];',
  store: 'out[wid.y * p.C + c] = s;',
});

function chunking(rows: number, minRowsPerChunk: number): { chunks: number; rowsPerChunk: number } {
  const chunks = Math.max(1, Math.min(MAX_CHUNKS, Math.ceil(rows / minRowsPerChunk)));
  return { chunks, rowsPerChunk: Math.max(1, Math.ceil(rows / chunks)) };
}

function colSumPass(x: Tensor, rows: number, C: number, chunks: number, rowsPerChunk: number, out: Tensor): void {
  const e = x.engine;
  e.run({
    name: 'columnSum',
    code: COLSUM_WGSL,
    params: new Params().u32(rows).u32(C).u32(rowsPerChunk),
    read: [x],
    write: [out],
    workgroups: [Math.ceil(C / COL_X), chunks],
  });
}

/**
 * Sums a row-major [rows, C] matrix (any tensor of rows·C elements) over its rows: out[c] = Σ_r x[r, c].
 * Two stages (chunk partials, then their sum) when there are many rows. Not recorded on the tape.
 */
export function columnSum(
  x: Tensor,
  rows: number,
  C: number,
  shape: readonly number[] = [C],
  op = 'columnSum',
): Tensor {
  if (rows * C !== x.size) {
    throw new EngineError(op, `columnSum of ${rows}×${C} does not match ${shapeStr(x.shape)}`);
  }
  const e = x.engine;
  const out = e.empty(shape, op);
  if (C === 0) return out;
  if (rows <= SINGLE_PASS_ROWS) {
    colSumPass(x, rows, C, 1, Math.max(1, rows), out);
    return out;
  }
  const { chunks, rowsPerChunk } = chunking(rows, 64);
  const partial = e.empty([chunks, C], `${op}-partial`);
  colSumPass(x, rows, C, chunks, rowsPerChunk, partial);
  colSumPass(partial, chunks, C, 1, chunks, out);
  partial.release();
  return out;
}

/** LayerNorm over the last dim: y = (x − mean) / sqrt(var + eps) · γ + β, biased variance (as PyTorch). */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  const op = 'layerNorm';
  assertSameEngine(op, x, gamma, beta);
  const C = x.shape[x.shape.length - 1] ?? 0;
  if (x.shape.length < 1 || C === 0)
    throw new EngineError(op, `x needs a non-empty last dim, got ${shapeStr(x.shape)}`);
  for (const [name, t] of [
    ['gamma', gamma],
    ['beta', beta],
  ] as const) {
    if (t.shape.length !== 1 || t.shape[0] !== C) {
      throw new EngineError(op, `${name} must be [${C}] for x ${shapeStr(x.shape)}, got ${shapeStr(t.shape)}`);
    }
  }
  const rows = x.size / C;
  const e = x.engine;
  const y = e.empty(x.shape, op);
  const stats = e.empty([rows, 2], `${op}-stats`);
  const { lanes, workgroups } = rowSegmentLaunch(e, rows, C);
  if (rows > 0) {
    e.run({
      name: op,
      code: forwardWgsl(lanes),
      params: new Params().u32(rows).u32(C).f32(eps),
      read: [x, gamma, beta],
      write: [y, stats],
      workgroups,
    });
  }
  record(op, [x, gamma, beta], y, (gy) => {
    let dx: Tensor | null = null;
    let dgamma: Tensor | null = null;
    let dbeta: Tensor | null = null;
    if (x.requiresGrad) {
      dx = e.empty(x.shape, `${op}-dx`);
      if (rows > 0) {
        e.run({
          name: `${op}-dx`,
          code: dxWgsl(lanes),
          params: new Params().u32(rows).u32(C),
          read: [x, gamma, stats, gy],
          write: [dx],
          workgroups,
        });
      }
    }
    if (gamma.requiresGrad || beta.requiresGrad) {
      const { chunks, rowsPerChunk } = chunking(rows, 32);
      const pg = e.empty([chunks, C], `${op}-dgamma-partial`);
      const pb = e.empty([chunks, C], `${op}-dbeta-partial`);
      e.run({
        name: `${op}-dgamma-dbeta`,
        code: LN_DGB_WGSL,
        params: new Params().u32(rows).u32(C).u32(rowsPerChunk),
        read: [x, stats, gy],
        write: [pg, pb],
        workgroups: [Math.ceil(C / COL_X), chunks],
      });
      if (gamma.requiresGrad) dgamma = columnSum(pg, chunks, C, gamma.shape, `${op}-dgamma`);
      if (beta.requiresGrad) dbeta = columnSum(pb, chunks, C, beta.shape, `${op}-dbeta`);
      pg.release();
      pb.release();
    }
    return [dx, dgamma, dbeta];
  });
  if (!y.requiresGrad) stats.release();
  return y;
}
