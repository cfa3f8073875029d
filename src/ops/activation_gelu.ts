/** QuickGELU (CLIP's MLP activation): y = x·σ(1.702x), with its backward. */
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertSameEngine, assertSameShape, LINEAR_INDEX_WGSL, WG } from './common';

const QUICK_GELU_ALPHA = 1.702;

/** σ(z) written to stay finite for large |z| (exp of a non-positive argument only). */
const SIGMOID_WGSL = /* wgsl */ `
fn sigmoid(z: f32) -> f32 {
  let e = exp(-abs(z));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), z >= 0.0);
}`;

const FORWARD_WGSL = /* wgsl */ `
struct P { n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${LINEAR_INDEX_WGSL}
${SIGMOID_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  if (i < p.n) {
    let v = x[i];
    y[i] = v * sigmoid(${QUICK_GELU_ALPHA} * v);
  }
}`;

/** d/dx x·σ(αx) = σ(αx) + αx·σ(αx)·(1 − σ(αx)). */
const BACKWARD_WGSL = /* wgsl */ `
struct P { n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gy: array<f32>;
@group(0) @binding(3) var<storage, read_write> gx: array<f32>;
${LINEAR_INDEX_WGSL}
${SIGMOID_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  if (i < p.n) {
    let v = x[i];
    let s = sigmoid(${QUICK_GELU_ALPHA} * v);
    gx[i] = gy[i] * (s + ${QUICK_GELU_ALPHA} * v * s * (1.0 - s));
  }
}`;

/** QuickGELU: x·σ(1.702x), elementwise. */
export function quickGelu(x: Tensor): Tensor {
  const e = x.engine;
  const y = e.empty(x.shape, 'quickGelu');
  e.run({
    name: 'quickGelu',
    code: FORWARD_WGSL,
    params: new Params().u32(x.size),
    read: [x],
    write: [y],
    workgroups: e.grid(x.size, WG),
  });
  return record('quickGelu', [x], y, (gy) => [quickGeluBackward(x, gy)]);
}

/** The gradient of quickGelu at x for output gradient gy (not recorded). */
export function quickGeluBackward(x: Tensor, gy: Tensor): Tensor {
  const op = 'quickGelu-backward';
  assertSameEngine(op, x, gy);
  assertSameShape(op, x, gy);
  const e = x.engine;
  const gx = e.empty(x.shape, op);
  e.run({
    name: op,
    code: BACKWARD_WGSL,
    params: new Params().u32(x.size),
    read: [x, gy],
    write: [gx],
    workgroups: e.grid(x.size, WG),
  });
  return gx;
}
