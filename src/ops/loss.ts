/** Losses reduced to a scalar. */
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertSameEngine, assertSameShape, LINEAR_INDEX_WGSL, WG } from './common';
import { reduceToScalar } from './reduce';

/** out[i] = scale · g[0] · (a[i] − b[i]): the gradient of the mean squared error for a (scale 2/n) or b (−2/n). */
const MSE_BACKWARD_WGSL = /* wgsl */ `
struct P { n: u32, scale: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
${LINEAR_INDEX_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  if (i < p.n) { out[i] = p.scale * g[0] * (a[i] - b[i]); }
}`;

function mseGrad(a: Tensor, b: Tensor, gy: Tensor, scale: number): Tensor {
  const e = a.engine;
  const out = e.empty(a.shape, 'mse-backward');
  e.run({
    name: 'mse-backward',
    code: MSE_BACKWARD_WGSL,
    params: new Params().u32(a.size).f32(scale),
    read: [a, b, gy],
    write: [out],
    workgroups: e.grid(a.size, WG),
  });
  return out;
}

/** Mean over all elements of (a − b)², shape [1] (PyTorch's F.mse_loss with reduction='mean'). */
export function mse(a: Tensor, b: Tensor): Tensor {
  assertSameEngine('mse', a, b);
  assertSameShape('mse', a, b);
  const n = a.size;
  const out = reduceToScalar('mse', [a, b], n, '(a[i] - b[i]) * (a[i] - b[i])', 1 / n);
  return record('mse', [a, b], out, (gy) => [
    a.requiresGrad ? mseGrad(a, b, gy, 2 / n) : null,
    b.requiresGrad ? mseGrad(a, b, gy, -2 / n) : null,
  ]);
}
