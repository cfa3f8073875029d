/**
 * Row-wise cosine machinery: L2 row norms, row normalisation (F.normalize) and the cosine self-similarity
 * of token sets used by the structure loss (spec §A.8 item 4). The pairwise kernels here are shared with
 * clipLoss.ts (exported below as low-level helpers that record nothing).
 */
import { EngineError, shapeStr } from '../gpu/errors';
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import {
  assertRank,
  elementCount,
  paramsWgsl,
  perElementOutput,
  perElementWgsl,
  storageWgsl,
  UNRAVEL_WGSL,
  WG,
} from './common';

/** Workgroup size of the one-workgroup-per-row dot product. */
const ROW_WG = 64;

/** out[r] = Σ_i a[r,i]·b[r,i] (or its square root), one workgroup per row. */
const ROW_DOT_WGSL = /* wgsl */ `${paramsWgsl('rows: u32, dim: u32, root: u32')}
${storageWgsl(['a', 'b'], ['out'])}
var<workgroup> sh: array<f32, ${ROW_WG}>;
@compute @workgroup_size(${ROW_WG})
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u,
        @builtin(num_workgroups) nwg: vec3u) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; }
  let base = row * p.dim;
  var acc = 0.0;
  for (var i = lid.x; i < p.dim; i += ${ROW_WG}u) { acc += a[base + i] * b[base + i]; }
  sh[lid.x] = acc;
  workgroupBarrier();
  for (var s = ${ROW_WG / 2}u; s > 0u; s >>= 1u) {
    if (lid.x < s) { sh[lid.x] += sh[lid.x + s]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    if (p.root != 0u) { out[row] = sqrt(sh[0]); } else { out[row] = sh[0]; }
  }
}`;

/**
 * Row dot products of a and b viewed as [rows, dim] (dim = last axis): [rows] (a's leading shape). With
 * root = true, sqrt of the result (a === b gives the L2 row norms). No tape.
 */
export function rowDot(a: Tensor, b: Tensor, root = false, op = 'rowDot'): Tensor {
  const dim = a.shape[a.shape.length - 1] ?? 1;
  const rows = dim === 0 ? 0 : a.size / dim;
  if (a.size !== b.size || (b.shape[b.shape.length - 1] ?? 1) !== dim) {
    throw new EngineError(op, `shapes differ: ${shapeStr(a.shape)} vs ${shapeStr(b.shape)}`);
  }
  const e = a.engine;
  const out = e.empty(a.shape.slice(0, -1), `${op}-rowDot`);
  if (rows === 0) return out;
  e.run({
    name: 'rowDot',
    code: ROW_DOT_WGSL,
    params: new Params()
      .u32(rows)
      .u32(dim)
      .u32(root ? 1 : 0),
    read: [a, b],
    write: [out],
    workgroups: e.grid(rows, 1),
  });
  return out;
}

/** L2 norms over the last axis: [...leading]. No tape. */
export function rowNorms(x: Tensor, op = 'rowNorms'): Tensor {
  return rowDot(x, x, true, op);
}

/** out[i] = x[i] / max(n[row], eps). */
const NORMALIZE_WGSL = perElementWgsl({
  fields: 'dim: u32, eps: f32',
  read: ['x', 'nrm'],
  write: ['out'],
  body: 'out[i] = x[i] / max(nrm[i / p.dim], p.eps);',
});

/**
 * Backward of x/max(n, eps), n = ‖x‖: gx = g/m − [n ≥ eps, n > 0]·(⟨g,x⟩/m²)·x/n with m = max(n, eps)
 * (PyTorch: clamp_min passes the gradient where n ≥ eps; the norm's gradient is masked at n = 0).
 */
const NORMALIZE_BACKWARD_WGSL = perElementWgsl({
  fields: 'dim: u32, eps: f32',
  read: ['x', 'g', 'nrm', 'gx'],
  write: ['out'],
  body: `
  let r = i / p.dim;
  let n = nrm[r];
  let m = max(n, p.eps);
  var v = g[i] / m;
  if (n >= p.eps && n > 0.0) { v -= gx[r] / (m * m) * x[i] / n; }
  out[i] = v;`,
});

/**
 * The gradient of y = x / max(‖x‖, eps) (rows = last axis) for the output gradient g, given x's row norms.
 * No tape.
 */
export function normalizeRowsBackward(x: Tensor, g: Tensor, norms: Tensor, eps: number, op = 'normalizeRows'): Tensor {
  const dim = x.shape[x.shape.length - 1] ?? 1;
  const gxDot = rowDot(g, x, false, `${op}-backward`);
  const out = perElementOutput({
    name: 'normalizeRows-backward',
    label: `${op}-backward`,
    code: NORMALIZE_BACKWARD_WGSL,
    params: new Params().u32(x.size).u32(dim).f32(eps),
    read: [x, g, norms, gxDot],
    shape: x.shape,
  });
  gxDot.release();
  return out;
}

/** x / max(‖x‖₂, eps) over the last axis (PyTorch's F.normalize(x, dim=-1, eps)). */
export function normalizeRows(x: Tensor, eps = 1e-12): Tensor {
  const op = 'normalizeRows';
  if (x.shape.length < 1) throw new EngineError(op, `input must have rank ≥ 1, got ${shapeStr(x.shape)}`);
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new EngineError(op, `eps must be a finite number ≥ 0, got ${eps}`);
  const dim = x.shape[x.shape.length - 1];
  const norms = rowNorms(x, op);
  const params = new Params().u32(x.size).u32(Math.max(dim, 1)).f32(eps);
  const out = perElementOutput({ name: op, code: NORMALIZE_WGSL, params, read: [x, norms], shape: x.shape });
  return record(op, [x], out, (gy) => [normalizeRowsBackward(x, gy, norms, eps, op)]);
}

// ---------------------------------------------------------------- pairwise cosine kernels

/** The start of both pair kernels: one invocation per pair (b, r, s) of a [B, rows, others] output. */
const PAIR_OF_INVOCATION = `
  let pair = unravel3(i, p.rows, p.others);
  let b = pair.x;
  let r = pair.y;
  let s = pair.z;`;

/** out[b,r,s] = ⟨a[b,r], c[b,s]⟩ / max(na[b,r]·nc[b,s], eps). */
const PAIR_COSINE_WGSL = perElementWgsl({
  fields: 'rows: u32, others: u32, dim: u32, eps: f32',
  read: ['a', 'c', 'na', 'nc'],
  write: ['out'],
  helpers: UNRAVEL_WGSL,
  body: `${PAIR_OF_INVOCATION}
  let ra = (b * p.rows + r) * p.dim;
  let rc = (b * p.others + s) * p.dim;
  var acc = 0.0;
  for (var k = 0u; k < p.dim; k++) { acc += a[ra + k] * c[rc + k]; }
  out[i] = acc / max(na[b * p.rows + r] * nc[b * p.others + s], p.eps);`,
});

/**
 * Per pair (b,r,s), from the output gradient G and the forward output S (m = max(na·nc, eps), mask = na·nc ≥ eps):
 * coef = G'/m, ha = mask ? −G'·S·nc/m : 0, hc = mask ? −G'·S·na/m : 0, where G' = G[b,r,s] (+ G[b,s,r] when
 * symmetric: the self-similarity, where both operands are the same tensor).
 */
const PAIR_COSINE_COEF_WGSL = perElementWgsl({
  fields: 'rows: u32, others: u32, symmetric: u32, eps: f32',
  read: ['g', 'sim', 'na', 'nc'],
  write: ['coef', 'ha', 'hc'],
  helpers: UNRAVEL_WGSL,
  body: `${PAIR_OF_INVOCATION}
  var gs = g[i];
  if (p.symmetric != 0u) { gs += g[(b * p.rows + s) * p.others + r]; }
  let nr = na[b * p.rows + r];
  let ns = nc[b * p.others + s];
  let prod = nr * ns;
  let m = max(prod, p.eps);
  coef[i] = gs / m;
  if (prod >= p.eps) {
    let t = -gs * sim[i] / m;
    ha[i] = t * ns;
    hc[i] = t * nr;
  } else {
    ha[i] = 0.0;
    hc[i] = 0.0;
  }`,
});

/**
 * out[b,r,e] = cs·Σ_s C(b,r,s)·bm[b,s,e] + (Σ_s H(b,r,s))·a[b,r,e]·q[b,r], with C, H stored [B,R,S] or,
 * when transposed, [B,S,R]; q = 1/nrm[b,r] (0 where nrm = 0) when useNorm, else 1.
 */
const PAIR_GRAD_WGSL = perElementWgsl({
  fields: 'rows: u32, others: u32, dim: u32, transposed: u32, useNorm: u32, cs: f32',
  read: ['a', 'bm', 'c', 'h', 'nrm'],
  write: ['out'],
  helpers: UNRAVEL_WGSL,
  body: `
  let at = unravel3(i, p.rows, p.dim);
  let b = at.x;
  let r = at.y;
  let e = at.z;
  let base = b * p.rows * p.others;
  var acc = 0.0;
  var hs = 0.0;
  for (var s = 0u; s < p.others; s++) {
    var k = base + r * p.others + s;
    if (p.transposed != 0u) { k = base + s * p.rows + r; }
    acc += c[k] * bm[(b * p.others + s) * p.dim + e];
    hs += h[k];
  }
  var q = 1.0;
  if (p.useNorm != 0u) {
    let n = nrm[b * p.rows + r];
    q = select(0.0, 1.0 / n, n > 0.0);
  }
  out[i] = p.cs * acc + hs * a[i] * q;`,
});

/**
 * Batched pairwise cosine: a [B,R,E], c [B,S,E] with row norms na [B,R], nc [B,S] → B·R·S values in a
 * tensor of shape outShape (⟨a_r, c_s⟩ / max(na_r·nc_s, eps)). No tape.
 */
export function pairCosine(
  op: string,
  a: Tensor,
  c: Tensor,
  na: Tensor,
  nc: Tensor,
  outShape: readonly number[],
  rows: number,
  others: number,
  dim: number,
  eps: number,
): Tensor {
  return perElementOutput({
    name: 'pairCosine',
    label: op,
    code: PAIR_COSINE_WGSL,
    params: new Params().u32(elementCount(outShape)).u32(rows).u32(others).u32(dim).f32(eps),
    read: [a, c, na, nc],
    shape: outShape,
  });
}

/** The coefficient tensors of PAIR_COSINE_COEF_WGSL: coef, ha, hc, each [B,R,S]. No tape. */
export function pairCosineCoefficients(
  op: string,
  g: Tensor,
  sim: Tensor,
  na: Tensor,
  nc: Tensor,
  batch: number,
  rows: number,
  others: number,
  eps: number,
  symmetric: boolean,
): { coef: Tensor; ha: Tensor; hc: Tensor } {
  const e = g.engine;
  const shape = [batch, rows, others];
  const coef = e.empty(shape, `${op}-backward`);
  const ha = e.empty(shape, `${op}-backward`);
  const hc = e.empty(shape, `${op}-backward`);
  e.run({
    name: 'pairCosine-coef',
    code: PAIR_COSINE_COEF_WGSL,
    params: new Params()
      .u32(g.size)
      .u32(rows)
      .u32(others)
      .u32(symmetric ? 1 : 0)
      .f32(eps),
    read: [g, sim, na, nc],
    write: [coef, ha, hc],
    workgroups: e.grid(g.size, WG),
  });
  return { coef, ha, hc };
}

export interface PairGradArgs {
  /** [B,R,E]: the operand whose gradient is produced (multiplied by ΣH·q). */
  a: Tensor;
  /** [B,S,E]: the other operand (multiplied by C). */
  other: Tensor;
  c: Tensor;
  h: Tensor;
  /** a's row norms [B,R], or null for q = 1. */
  norms: Tensor | null;
  batch: number;
  rows: number;
  others: number;
  dim: number;
  /** C and H are stored [B,S,R] (the gradient of the second operand of a pairwise op). */
  transposed: boolean;
  cs: number;
}

/** out[b,r,e] = cs·Σ_s C(b,r,s)·other[b,s,e] + (Σ_s H(b,r,s))·a[b,r,e]·q[b,r]. No tape. */
export function pairGrad(op: string, args: PairGradArgs): Tensor {
  return perElementOutput({
    name: 'pair-grad',
    label: `${op}-backward`,
    code: PAIR_GRAD_WGSL,
    params: new Params()
      .u32(args.a.size)
      .u32(args.rows)
      .u32(args.others)
      .u32(args.dim)
      .u32(args.transposed ? 1 : 0)
      .u32(args.norms ? 1 : 0)
      .f32(args.cs),
    read: [args.a, args.other, args.c, args.h, args.norms ?? args.a],
    shape: args.a.shape,
  });
}

/** Clamp of the norm product in the cosine self-similarity (spec §A.8: eps 1e-8). */
export const SELF_SIMILARITY_EPS = 1e-8;

/**
 * Cosine self-similarity of token sets t [B,N,D] → [B,N,N]:
 * S_ab = ⟨t_a, t_b⟩ / max(‖t_a‖·‖t_b‖, 1e-8) (the reference's `attn_cosine_sim`: (X Xᵀ) / clamp(n nᵀ, eps)).
 *
 * Backward, with m_ab = max(n_a n_b, eps), G' = G + Gᵀ and mask_ab = [n_a n_b ≥ eps]:
 *   dL/dt_a = Σ_b (G'_ab / m_ab)·t_b + (t_a / n_a)·Σ_b (−G'_ab·S_ab·n_b / m_ab)·mask_ab
 * (the norm term is dropped where n_a = 0, as PyTorch masks the norm's gradient there). Unclamped pairs
 * reduce to t_b/(n_a n_b) − S_ab·t_a/n_a²; clamped pairs only keep the dot-product term.
 */
export function cosineSelfSimilarity(t: Tensor): Tensor {
  const op = 'cosineSelfSimilarity';
  assertRank(op, t, 3);
  const [b, n, d] = t.shape;
  const eps = SELF_SIMILARITY_EPS;
  const norms = rowNorms(t, op);
  const out = pairCosine(op, t, t, norms, norms, [b, n, n], n, n, d, eps);
  return record(op, [t], out, (gy) => {
    const { coef, ha, hc } = pairCosineCoefficients(op, gy, out, norms, norms, b, n, n, eps, true);
    const gt = pairGrad(op, {
      a: t,
      other: t,
      c: coef,
      h: ha,
      norms,
      batch: b,
      rows: n,
      others: n,
      dim: d,
      transposed: false,
      cs: 1,
    });
    coef.release();
    ha.release();
    hc.release();
    return [gt];
  });
}
