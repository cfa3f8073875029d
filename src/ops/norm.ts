/**
 * BatchNorm2d in training mode: batch statistics per channel over (N, H, W), biased variance, no
 * running statistics. Statistics use a two-stage parallel reduction: stage 1 runs a grid of
 * (chunks of H·W) × C workgroups, each reducing its chunk over all N images to a (count, mean, M2)
 * triple (per-thread shifted sums, then Chan's pairwise merge in a workgroup tree); stage 2 runs one
 * workgroup per channel that merges the chunk triples into the mean and 1/sqrt(var + eps).
 */
import { EngineError, shapeStr } from '../gpu/errors';
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertRank, assertSameEngine, paramsWgsl, perElementOutput, perElementWgsl, storageWgsl } from './common';
import { LANES, RED_WG, workgroupSumWgsl } from './reduce';

/**
 * Elements of one image's channel plane that one stage-1 workgroup covers (before the group cap):
 * 64 per thread, so a 512² plane takes 16 workgroups per channel.
 */
const CHUNK = 16384;
/** Stage-1 workgroups per channel at most. */
const MAX_CHUNKS = 256;

/** Chunking of an H·W plane for the stage-1 kernels. */
export function bnChunks(hw: number): { groups: number; chunk: number } {
  const groups = Math.min(MAX_CHUNKS, Math.max(1, Math.ceil(hw / CHUNK)));
  return { groups, chunk: Math.ceil(hw / groups) };
}

/**
 * Chan's pairwise merge of (count, mean, M2) triples held in workgroup memory, and `welfordTree(t)`,
 * which merges all RED_WG triples into slot 0 (valid for thread 0) in two levels, like treeSum in
 * reduce.ts: LANES threads each merge a strided share, then thread 0 merges those LANES.
 */
const WELFORD_TREE_WGSL = /* wgsl */ `
var<workgroup> sn: array<f32, ${RED_WG}>;
var<workgroup> sm: array<f32, ${RED_WG}>;
var<workgroup> sq: array<f32, ${RED_WG}>;
fn mergeInto(a: u32, nb: f32, mb: f32, qb: f32) {
  if (nb == 0.0) { return; }
  let na = sn[a];
  let n = na + nb;
  let d = mb - sm[a];
  sm[a] = sm[a] + d * (nb / n);
  sq[a] = sq[a] + qb + d * d * (na * nb / n);
  sn[a] = n;
}
fn welfordTree(t: u32) {
  workgroupBarrier();
  if (t < ${LANES}u) {
    for (var k = 1u; k < ${RED_WG / LANES}u; k++) {
      let b = t + k * ${LANES}u;
      mergeInto(t, sn[b], sm[b], sq[b]);
    }
  }
  workgroupBarrier();
  if (t == 0u) {
    for (var k = 1u; k < ${LANES}u; k++) { mergeInto(0u, sn[k], sm[k], sq[k]); }
  }
}`;

/** Stage 1 of the statistics: workgroup (g, c) reduces hw range [g·chunk, (g+1)·chunk) of channel c over all images. */
const STATS1_WGSL = /* wgsl */ `${paramsWgsl('n: u32, c: u32, hw: u32, chunk: u32, groups: u32')}
${storageWgsl(['x'], ['partial'])}
${WELFORD_TREE_WGSL}
@compute @workgroup_size(${RED_WG})
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let t = lid.x;
  let g = wid.x;
  let c = wid.y;
  let start = min(g * p.chunk, p.hw);
  let end = min(start + p.chunk, p.hw);
  // Shifted sums around this thread's first sample keep M2 = q − s²/n free of cancellation.
  var k = 0.0;
  if (start + t < end) { k = x[c * p.hw + start + t]; }
  var cnt = 0.0;
  var s = 0.0;
  var q = 0.0;
  for (var b = 0u; b < p.n; b++) {
    let base = (b * p.c + c) * p.hw;
    for (var j = start + t; j < end; j += ${RED_WG}u) {
      let v = x[base + j] - k;
      s += v;
      q += v * v;
      cnt += 1.0;
    }
  }
  sn[t] = cnt;
  sm[t] = 0.0;
  sq[t] = 0.0;
  if (cnt > 0.0) {
    sm[t] = k + s / cnt;
    sq[t] = max(q - s * s / cnt, 0.0);
  }
  welfordTree(t);
  if (t == 0u) {
    let o = (c * p.groups + g) * 3u;
    partial[o] = sn[0];
    partial[o + 1u] = sm[0];
    partial[o + 2u] = sq[0];
  }
}`;

/** Stage 2: workgroup c merges the chunk triples; stats[c] = mean, stats[C + c] = 1/sqrt(var + eps). */
const STATS2_WGSL = /* wgsl */ `${paramsWgsl('c: u32, groups: u32, eps: f32')}
${storageWgsl(['partial'], ['stats'])}
${WELFORD_TREE_WGSL}
@compute @workgroup_size(${RED_WG})
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let t = lid.x;
  let c = wid.x;
  sn[t] = 0.0;
  sm[t] = 0.0;
  sq[t] = 0.0;
  for (var g = t; g < p.groups; g += ${RED_WG}u) {
    let o = (c * p.groups + g) * 3u;
    mergeInto(t, partial[o], partial[o + 1u], partial[o + 2u]);
  }
  welfordTree(t);
  if (t == 0u) {
    stats[c] = sm[0];
    stats[p.c + c] = 1.0 / sqrt(sq[0] / sn[0] + p.eps);
  }
}`;

const APPLY_WGSL = perElementWgsl({
  fields: 'c: u32, hw: u32',
  read: ['x', 'stats', 'gamma', 'beta'],
  write: ['y'],
  body: `
  let ch = (i / p.hw) % p.c;
  y[i] = (x[i] - stats[ch]) * stats[p.c + ch] * gamma[ch] + beta[ch];`,
});

/** Backward stage 1: workgroup (g, c) sums gy and gy·(x − mean) over its chunk of channel c. */
const GRAD1_WGSL = /* wgsl */ `${paramsWgsl('n: u32, c: u32, hw: u32, chunk: u32, groups: u32')}
${storageWgsl(['x', 'gy', 'stats'], ['partial'])}
${workgroupSumWgsl(['sdata', 'sdata2'])}
@compute @workgroup_size(${RED_WG})
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let t = lid.x;
  let g = wid.x;
  let c = wid.y;
  let start = min(g * p.chunk, p.hw);
  let end = min(start + p.chunk, p.hw);
  let mu = stats[c];
  var sg = 0.0;
  var sgx = 0.0;
  for (var b = 0u; b < p.n; b++) {
    let base = (b * p.c + c) * p.hw;
    for (var j = start + t; j < end; j += ${RED_WG}u) {
      let v = gy[base + j];
      sg += v;
      sgx += v * (x[base + j] - mu);
    }
  }
  sdata[t] = sg;
  sdata2[t] = sgx;
  treeSum(t);
  if (t == 0u) {
    let o = (c * p.groups + g) * 2u;
    partial[o] = sdata[0];
    partial[o + 1u] = sdata2[0];
  }
}`;

/** Backward stage 2: workgroup c writes dbeta[c] = Σ gy and dgamma[c] = invstd · Σ gy·(x − mean). */
const GRAD2_WGSL = /* wgsl */ `${paramsWgsl('c: u32, groups: u32')}
${storageWgsl(['partial', 'stats'], ['dgamma', 'dbeta'])}
${workgroupSumWgsl(['sdata', 'sdata2'])}
@compute @workgroup_size(${RED_WG})
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let t = lid.x;
  let c = wid.x;
  var sg = 0.0;
  var sgx = 0.0;
  for (var g = t; g < p.groups; g += ${RED_WG}u) {
    let o = (c * p.groups + g) * 2u;
    sg += partial[o];
    sgx += partial[o + 1u];
  }
  sdata[t] = sg;
  sdata2[t] = sgx;
  treeSum(t);
  if (t == 0u) {
    dbeta[c] = sdata[0];
    dgamma[c] = sdata2[0] * stats[p.c + c];
  }
}`;

/** dx = γ·invstd·(gy − dβ/M − x̂·dγ/M), x̂ = (x − mean)·invstd, M = N·H·W. */
const GRADX_WGSL = perElementWgsl({
  fields: 'c: u32, hw: u32, invm: f32',
  read: ['x', 'gy', 'stats', 'gamma', 'dgamma', 'dbeta'],
  write: ['dx'],
  body: `
  let ch = (i / p.hw) % p.c;
  let inv = stats[p.c + ch];
  let xhat = (x[i] - stats[ch]) * inv;
  dx[i] = gamma[ch] * inv * (gy[i] - (dbeta[ch] + xhat * dgamma[ch]) * p.invm);`,
});

/**
 * Per-channel batch statistics of x [N,C,H,W] as a [2, C] tensor: row 0 the means, row 1 the inverse
 * standard deviations 1/sqrt(var + eps) with the biased variance. No tape.
 */
export function batchStats(x: Tensor, eps = 1e-5): Tensor {
  const [n, c, h, w] = x.shape;
  const hw = h * w;
  const { groups, chunk } = bnChunks(hw);
  const e = x.engine;
  const partial = e.empty([c, groups, 3], 'batchNorm-stats-partial');
  e.run({
    name: 'batchNorm-stats1',
    code: STATS1_WGSL,
    params: new Params().u32(n).u32(c).u32(hw).u32(chunk).u32(groups),
    read: [x],
    write: [partial],
    workgroups: [groups, c],
  });
  const stats = e.empty([2, c], 'batchNorm-stats');
  e.run({
    name: 'batchNorm-stats2',
    code: STATS2_WGSL,
    params: new Params().u32(c).u32(groups).f32(eps),
    read: [partial],
    write: [stats],
    workgroups: [c],
  });
  partial.release();
  return stats;
}

/** Checks batchNorm's arguments (`op` names the caller in errors) and returns x's [N, C, H, W]. */
export function checkBatchNorm(op: string, x: Tensor, gamma: Tensor, beta: Tensor, eps: number): number[] {
  assertRank(op, x, 4);
  assertSameEngine(op, x, gamma, beta);
  const [n, c, h, w] = x.shape;
  for (const [name, t] of [
    ['gamma', gamma],
    ['beta', beta],
  ] as const) {
    if (t.size !== c) {
      throw new EngineError(
        op,
        `${name} ${shapeStr(t.shape)} must hold C = ${c} values for input ${shapeStr(x.shape)}`,
      );
    }
  }
  if (n * h * w < 2) {
    throw new EngineError(op, `expected more than 1 value per channel when training, got input ${shapeStr(x.shape)}`);
  }
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new EngineError(op, `eps must be a finite number ≥ 0, got ${eps}`);
  return [n, c, h, w];
}

/** y = γ·(x − mean)·invstd + β from batchStats' [2, C] statistics. No tape (batchNorm's forward kernel). */
export function batchNormApply(x: Tensor, stats: Tensor, gamma: Tensor, beta: Tensor, op = 'batchNorm'): Tensor {
  const [, c, h, w] = x.shape;
  const params = new Params()
    .u32(x.size)
    .u32(c)
    .u32(h * w);
  return perElementOutput({ name: op, code: APPLY_WGSL, params, read: [x, stats, gamma, beta], shape: x.shape });
}

/**
 * batchNorm's backward kernels for the output gradient gy, from the input x and its statistics (neither is
 * released): dγ and dβ always, dx when `withDx`. No tape.
 */
export function batchNormBackward(
  x: Tensor,
  gy: Tensor,
  stats: Tensor,
  gamma: Tensor,
  beta: Tensor,
  withDx: boolean,
  op = 'batchNorm',
): { dx: Tensor | null; dgamma: Tensor; dbeta: Tensor } {
  const [n, c, h, w] = x.shape;
  const hw = h * w;
  const e = x.engine;
  const { groups, chunk } = bnChunks(hw);
  const partial = e.empty([c, groups, 2], `${op}-backward-partial`);
  e.run({
    name: `${op}-grad1`,
    code: GRAD1_WGSL,
    params: new Params().u32(n).u32(c).u32(hw).u32(chunk).u32(groups),
    read: [x, gy, stats],
    write: [partial],
    workgroups: [groups, c],
  });
  const dgamma = e.empty(gamma.shape, `${op}-backward`);
  const dbeta = e.empty(beta.shape, `${op}-backward`);
  e.run({
    name: `${op}-grad2`,
    code: GRAD2_WGSL,
    params: new Params().u32(c).u32(groups),
    read: [partial, stats],
    write: [dgamma, dbeta],
    workgroups: [c],
  });
  partial.release();
  let dx: Tensor | null = null;
  if (withDx) {
    dx = perElementOutput({
      name: `${op}-gradx`,
      label: `${op}-backward`,
      code: GRADX_WGSL,
      params: new Params()
        .u32(x.size)
        .u32(c)
        .u32(hw)
        .f32(1 / (n * hw)),
      read: [x, gy, stats, gamma, dgamma, dbeta],
      shape: x.shape,
    });
  }
  return { dx, dgamma, dbeta };
}

/**
 * BatchNorm2d (training mode) of x [N,C,H,W]: y = γ·(x − μ_c)/sqrt(var_c + eps) + β with the batch mean
 * and biased variance over (N, H, W). gamma and beta hold C values each (any shape, e.g. [C]).
 */
export function batchNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-5): Tensor {
  const op = 'batchNorm';
  checkBatchNorm(op, x, gamma, beta, eps);
  const stats = batchStats(x, eps);
  const out = batchNormApply(x, stats, gamma, beta, op);
  record(op, [x, gamma, beta], out, (gy) => {
    const { dx, dgamma, dbeta } = batchNormBackward(x, gy, stats, gamma, beta, x.requiresGrad, op);
    stats.release();
    if (!gamma.requiresGrad) dgamma.release();
    if (!beta.requiresGrad) dbeta.release();
    return [dx, gamma.requiresGrad ? dgamma : null, beta.requiresGrad ? dbeta : null];
  });
  // Without a tape nothing will read the statistics again.
  if (!out.requiresGrad) stats.release();
  return out;
}
