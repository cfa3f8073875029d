/**
 * Full reductions to a scalar: sum and mean, with a two-stage parallel reduction (stage 1: each
 * workgroup reduces a grid-strided share of the input to one partial; stage 2: one workgroup reduces
 * the partials). `reduceToScalar` is shared with the losses, which fuse their elementwise term into
 * stage 1.
 */
import { EngineError, shapeStr } from '../gpu/errors';
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { elementCount, paramsWgsl, perElementOutput, perElementWgsl, storageWgsl } from './common';

/** Workgroup size of the reduction kernels (a multiple of LANES). */
export const RED_WG = 256;
/** Stage-1 workgroups at most; stage 2 reduces this many partials in one workgroup. */
const MAX_GROUPS = 1024;
/**
 * Elements per thread below which stage 1 uses fewer workgroups. 64 keeps 256 groups (65k threads)
 * for a 4M-element tensor, plenty to fill a GPU's memory bandwidth, while CPU backends pay per
 * workgroup.
 */
const PER_THREAD = 64;

/** Threads of the first level of the workgroup reduction (RED_WG / LANES values each). */
export const LANES = 16;

/**
 * WGSL: `var<workgroup>` arrays of RED_WG f32 with the given names and `fn treeSum(t)`, which sums each
 * array into element 0 (valid for thread 0 only). Every thread stores its value, then calls treeSum in
 * uniform control flow. Two levels with two barriers (LANES threads each sum a strided share, then
 * thread 0 sums LANES values) rather than a log₂ tree of eight: barriers dominate on CPU backends such
 * as SwiftShader, and the serial part is only 16 + 16 adds.
 */
export function workgroupSumWgsl(arrays: readonly string[]): string {
  const decls = arrays.map((a) => `var<workgroup> ${a}: array<f32, ${RED_WG}>;`).join('\n');
  const level1 = arrays
    .map(
      (a) => `    var acc_${a} = ${a}[t];
    for (var k = 1u; k < ${RED_WG / LANES}u; k++) { acc_${a} += ${a}[t + k * ${LANES}u]; }
    ${a}[t] = acc_${a};`,
    )
    .join('\n');
  const level2 = arrays.map((a) => `    for (var k = 1u; k < ${LANES}u; k++) { ${a}[0] += ${a}[k]; }`).join('\n');
  return /* wgsl */ `
${decls}
fn treeSum(t: u32) {
  workgroupBarrier();
  if (t < ${LANES}u) {
${level1}
  }
  workgroupBarrier();
  if (t == 0u) {
${level2}
  }
}`;
}

const TREE_SUM_WGSL = workgroupSumWgsl(['sdata']);

const BINDING_NAMES = ['a', 'b', 'c', 'd'];

function stage1Wgsl(inputs: number, expr: string, helpers: string): string {
  return /* wgsl */ `${paramsWgsl('n: u32, groups: u32')}
${storageWgsl(BINDING_NAMES.slice(0, inputs), ['partial'])}
${TREE_SUM_WGSL}
${helpers}
@compute @workgroup_size(${RED_WG})
fn main(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let t = lid.x;
  let stride = p.groups * ${RED_WG}u;
  var acc = 0.0;
  for (var i = wid.x * ${RED_WG}u + t; i < p.n; i += stride) { acc += ${expr}; }
  sdata[t] = acc;
  treeSum(t);
  if (t == 0u) { partial[wid.x] = sdata[0]; }
}`;
}

const STAGE2_WGSL = /* wgsl */ `${paramsWgsl('groups: u32, scale: f32')}
${storageWgsl(['partial'], ['out'])}
${TREE_SUM_WGSL}
@compute @workgroup_size(${RED_WG})
fn main(@builtin(local_invocation_id) lid: vec3u) {
  let t = lid.x;
  var acc = 0.0;
  for (var g = t; g < p.groups; g += ${RED_WG}u) { acc += partial[g]; }
  sdata[t] = acc;
  treeSum(t);
  if (t == 0u) { out[0] = sdata[0] * p.scale; }
}`;

const BROADCAST_WGSL = perElementWgsl({
  fields: 'scale: f32',
  read: ['g'],
  write: ['out'],
  body: 'out[i] = g[0] * p.scale;',
});

/** Stage-1 workgroup count for n elements. */
export function reduceGroups(n: number): number {
  return Math.min(MAX_GROUPS, Math.max(1, Math.ceil(n / (RED_WG * PER_THREAD))));
}

/**
 * scale · Σ_{i<n} expr(i) as a [1] tensor, with no tape. `expr` is a WGSL f32 expression of the index
 * `i` over the read buffers, named a, b, c, d in order (e.g. `(a[i] - b[i]) * (a[i] - b[i])`); it may call
 * functions declared in `helpers` (module-scope WGSL, e.g. a per-point loss term).
 */
export function reduceToScalar(
  op: string,
  reads: Tensor[],
  n: number,
  expr: string,
  scale: number,
  helpers = '',
): Tensor {
  if (reads.length < 1 || reads.length > BINDING_NAMES.length) {
    throw new EngineError(op, `reduceToScalar takes 1 to ${BINDING_NAMES.length} inputs, got ${reads.length}`);
  }
  const e = reads[0].engine;
  const groups = reduceGroups(n);
  const partial = e.empty([groups], `${op}-partial`);
  e.run({
    name: `${op}-reduce1`,
    code: stage1Wgsl(reads.length, expr, helpers),
    params: new Params().u32(n).u32(groups),
    read: reads,
    write: [partial],
    workgroups: [groups],
  });
  const out = e.empty([1], op);
  e.run({
    name: `${op}-reduce2`,
    code: STAGE2_WGSL,
    params: new Params().u32(groups).f32(scale),
    read: [partial],
    write: [out],
    workgroups: [1],
  });
  partial.release();
  return out;
}

/** out[i] = g[0] · scale for every element of `shape` (the backward of a full reduction). */
export function broadcastScalar(g: Tensor, shape: readonly number[], scale: number, op = 'broadcast'): Tensor {
  if (g.size !== 1) throw new EngineError(op, `expected a one-element gradient, got ${shapeStr(g.shape)}`);
  const params = new Params().u32(elementCount(shape)).f32(scale);
  return perElementOutput({ name: op, code: BROADCAST_WGSL, params, read: [g], shape });
}

/** Sum of all elements, shape [1]. */
export function sum(x: Tensor): Tensor {
  const out = reduceToScalar('sum', [x], x.size, 'a[i]', 1);
  return record('sum', [x], out, (gy) => [broadcastScalar(gy, x.shape, 1, 'sum-backward')]);
}

/** Mean of all elements, shape [1] (NaN for an empty tensor, as in PyTorch). */
export function mean(x: Tensor): Tensor {
  const scale = 1 / x.size;
  const out = reduceToScalar('mean', [x], x.size, 'a[i]', scale);
  return record('mean', [x], out, (gy) => [broadcastScalar(gy, x.shape, scale, 'mean-backward')]);
}
