/** Elementwise arithmetic: add, sub, mul, scale (and affine a·x + b), each with its backward. */
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertSameEngine, assertSameShape, LINEAR_INDEX_WGSL, WG } from './common';

type Binary = 'add' | 'sub' | 'mul';

const BINARY_EXPR: Record<Binary, string> = { add: 'a[i] + b[i]', sub: 'a[i] - b[i]', mul: 'a[i] * b[i]' };

function binaryWgsl(expr: string): string {
  return /* wgsl */ `
struct P { n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${LINEAR_INDEX_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  if (i < p.n) { out[i] = ${expr}; }
}`;
}

const AFFINE_WGSL = /* wgsl */ `
struct P { n: u32, scale: f32, shift: f32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${LINEAR_INDEX_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  if (i < p.n) { out[i] = p.scale * x[i] + p.shift; }
}`;

function binaryRaw(kind: Binary, a: Tensor, b: Tensor): Tensor {
  assertSameEngine(kind, a, b);
  assertSameShape(kind, a, b);
  const e = a.engine;
  const out = e.empty(a.shape, kind);
  e.run({
    name: kind,
    code: binaryWgsl(BINARY_EXPR[kind]),
    params: new Params().u32(a.size),
    read: [a, b],
    write: [out],
    workgroups: e.grid(a.size, WG),
  });
  return out;
}

/** out = scale·x + shift, elementwise. */
export function affine(x: Tensor, scale: number, shift = 0): Tensor {
  const e = x.engine;
  const out = e.empty(x.shape, 'affine');
  e.run({
    name: 'affine',
    code: AFFINE_WGSL,
    params: new Params().u32(x.size).f32(scale).f32(shift),
    read: [x],
    write: [out],
    workgroups: e.grid(x.size, WG),
  });
  return record('affine', [x], out, (gy) => [affine(gy, scale)]);
}

export function scale(x: Tensor, s: number): Tensor {
  return affine(x, s, 0);
}

export function add(a: Tensor, b: Tensor): Tensor {
  const out = binaryRaw('add', a, b);
  return record('add', [a, b], out, (gy) => [a.requiresGrad ? gy : null, b.requiresGrad ? gy : null]);
}

export function sub(a: Tensor, b: Tensor): Tensor {
  const out = binaryRaw('sub', a, b);
  return record('sub', [a, b], out, (gy) => [a.requiresGrad ? gy : null, b.requiresGrad ? affine(gy, -1) : null]);
}

export function mul(a: Tensor, b: Tensor): Tensor {
  const out = binaryRaw('mul', a, b);
  return record('mul', [a, b], out, (gy) => [
    a.requiresGrad ? binaryRaw('mul', gy, b) : null,
    b.requiresGrad ? binaryRaw('mul', gy, a) : null,
  ]);
}
