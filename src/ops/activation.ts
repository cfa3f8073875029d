/** Pointwise activations: leaky ReLU and sigmoid, each with its backward. */
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { LINEAR_INDEX_WGSL, WG } from './common';

const LEAKY_RELU_WGSL = /* wgsl */ `
struct P { n: u32, slope: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${LINEAR_INDEX_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  if (i < p.n) {
    let v = x[i];
    out[i] = select(v * p.slope, v, v > 0.0);
  }
}`;

/** PyTorch's leaky_relu_backward: gy where x > 0, slope·gy elsewhere (x = 0 included). */
const LEAKY_RELU_BACKWARD_WGSL = /* wgsl */ `
struct P { n: u32, slope: f32 }
@group(0) @binding(0) var<uniform> p: P;
// s: the input, or the output where slope > 0 (same sign, and 0 where x is 0).
@group(0) @binding(1) var<storage, read> s: array<f32>;
@group(0) @binding(2) var<storage, read> gy: array<f32>;
@group(0) @binding(3) var<storage, read_write> gx: array<f32>;
${LINEAR_INDEX_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  if (i < p.n) {
    let g = gy[i];
    gx[i] = select(g * p.slope, g, s[i] > 0.0);
  }
}`;

/** Overflow-free logistic: exp is only taken of −|x|. */
const SIGMOID_WGSL = /* wgsl */ `
struct P { n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${LINEAR_INDEX_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  if (i < p.n) {
    let v = x[i];
    let z = exp(-abs(v));
    out[i] = select(z / (1.0 + z), 1.0 / (1.0 + z), v >= 0.0);
  }
}`;

/** gx = gy · y · (1 − y) from the saved output y. */
const SIGMOID_BACKWARD_WGSL = /* wgsl */ `
struct P { n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> gy: array<f32>;
@group(0) @binding(3) var<storage, read_write> gx: array<f32>;
${LINEAR_INDEX_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  if (i < p.n) {
    let s = y[i];
    gx[i] = gy[i] * s * (1.0 - s);
  }
}`;

function pointwise(name: string, code: string, params: Params, reads: Tensor[], shape: readonly number[]): Tensor {
  const e = reads[0].engine;
  const out = e.empty(shape, name);
  e.run({ name, code, params, read: reads, write: [out], workgroups: e.grid(out.size, WG) });
  return out;
}

/**
 * F.leaky_relu(x, slope): x where x > 0, slope·x elsewhere. With slope > 0 the output has the input's sign, so the
 * backward reads the output, not x: a caller may release x once nothing else needs it (the generator does, which
 * saves one activation-sized tensor per layer).
 */
export function leakyRelu(x: Tensor, slope = 0.2): Tensor {
  const out = pointwise('leakyRelu', LEAKY_RELU_WGSL, new Params().u32(x.size).f32(slope), [x], x.shape);
  const signOf = slope > 0 ? out : x;
  return record('leakyRelu', [x], out, (gy) => [
    pointwise(
      'leakyRelu-backward',
      LEAKY_RELU_BACKWARD_WGSL,
      new Params().u32(x.size).f32(slope),
      [signOf, gy],
      x.shape,
    ),
  ]);
}

/** Logistic sigmoid 1 / (1 + e^−x). */
export function sigmoid(x: Tensor): Tensor {
  const out = pointwise('sigmoid', SIGMOID_WGSL, new Params().u32(x.size), [x], x.shape);
  return record('sigmoid', [x], out, (gy) => [
    pointwise('sigmoid-backward', SIGMOID_BACKWARD_WGSL, new Params().u32(x.size), [out, gy], x.shape),
  ]);
}
