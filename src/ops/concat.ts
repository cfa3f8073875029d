/** Channel concatenation of NCHW tensors (torch.cat(xs, dim=1)); the backward splits the gradient. */
import { EngineError, shapeStr } from '../gpu/errors';
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertRank, assertSameEngine, LINEAR_INDEX_WGSL, WG } from './common';

/** One thread per element of input k: copies it into its channel slice [off, off + ck) of the output. */
const CONCAT_WGSL = /* wgsl */ `
struct P { n: u32, ck: u32, ctot: u32, off: u32, hw: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${LINEAR_INDEX_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  if (i < p.n) {
    let s = i % p.hw;
    let t = i / p.hw;
    let c = t % p.ck;
    let b = t / p.ck;
    out[(b * p.ctot + p.off + c) * p.hw + s] = x[i];
  }
}`;

/** One thread per element of gradient k: reads it from channel slice [off, off + ck) of the output gradient. */
const SPLIT_WGSL = /* wgsl */ `
struct P { n: u32, ck: u32, ctot: u32, off: u32, hw: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> gy: array<f32>;
@group(0) @binding(2) var<storage, read_write> gx: array<f32>;
${LINEAR_INDEX_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  if (i < p.n) {
    let s = i % p.hw;
    let t = i / p.hw;
    let c = t % p.ck;
    let b = t / p.ck;
    gx[i] = gy[(b * p.ctot + p.off + c) * p.hw + s];
  }
}`;

/** Concatenates NCHW tensors with equal N, H and W along the channel axis. */
export function concatChannels(xs: Tensor[]): Tensor {
  const op = 'concatChannels';
  if (xs.length === 0) throw new EngineError(op, 'needs at least one tensor');
  assertSameEngine(op, ...xs);
  xs.forEach((x, k) => assertRank(op, x, 4, `input ${k}`));
  const [n, , h, w] = xs[0].shape;
  const bad = xs.find((x) => x.shape[0] !== n || x.shape[2] !== h || x.shape[3] !== w);
  if (bad) {
    throw new EngineError(op, `inputs must agree in N, H and W: ${xs.map((x) => shapeStr(x.shape)).join(', ')}`);
  }
  const hw = h * w;
  const ctot = xs.reduce((s, x) => s + x.shape[1], 0);
  const offsets: number[] = [];
  let acc = 0;
  for (const x of xs) {
    offsets.push(acc);
    acc += x.shape[1];
  }
  const e = xs[0].engine;
  const out = e.empty([n, ctot, h, w], op);
  xs.forEach((x, k) => {
    e.run({
      name: op,
      code: CONCAT_WGSL,
      params: new Params().u32(x.size).u32(x.shape[1]).u32(ctot).u32(offsets[k]).u32(hw),
      read: [x],
      write: [out],
      workgroups: e.grid(x.size, WG),
    });
  });
  return record(op, xs, out, (gy) =>
    xs.map((x, k) => {
      if (!x.requiresGrad) return null;
      const gx = e.empty(x.shape, `${op}-backward`);
      e.run({
        name: `${op}-backward`,
        code: SPLIT_WGSL,
        params: new Params().u32(x.size).u32(x.shape[1]).u32(ctot).u32(offsets[k]).u32(hw),
        read: [gy],
        write: [gx],
        workgroups: e.grid(x.size, WG),
      });
      return gx;
    }),
  );
}
