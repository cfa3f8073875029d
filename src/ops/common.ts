/**
 * Shared helpers for op wrappers: shape checks, the WGSL binding preamble every kernel starts with (a uniform block
 * `p` at binding 0, then the storage arrays in the order Engine.run binds them) and the 1-D per-element launch.
 */
import { EngineError, shapeStr } from '../gpu/errors';
import type { Params } from '../gpu/params';
import type { Tensor } from '../gpu/tensor';

/** Workgroup size of 1-D elementwise kernels. */
export const WG = 256;

/**
 * WGSL prelude for 1-D kernels launched with engine.grid(n, WG): `linearIndex(gid, nwg)` gives the
 * flat invocation index across the x/y split.
 */
export const LINEAR_INDEX_WGSL = /* wgsl */ `
fn linearIndex(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * ${WG}u; }`;

/**
 * WGSL index helpers: the row-major coordinates (outermost first) of flat index i in an array of shape
 * [·, d1, d2, d3] (unravel4) or [·, d1, d2] (unravel3).
 */
export const UNRAVEL_WGSL = /* wgsl */ `
fn unravel3(i: u32, d1: u32, d2: u32) -> vec3u {
  let t = i / d2;
  return vec3u(t / d1, t % d1, i % d2);
}
fn unravel4(i: u32, d1: u32, d2: u32, d3: u32) -> vec4u {
  let t = i / d3;
  let u = t / d2;
  return vec4u(u / d1, u % d1, t % d2, i % d3);
}`;

/** WGSL: the uniform struct `P { fields }` bound at binding 0 as `p` (fields in the order the Params are written). */
export function paramsWgsl(fields: string): string {
  return /* wgsl */ `
struct P { ${fields} }
@group(0) @binding(0) var<uniform> p: P;`;
}

/**
 * WGSL: the storage bindings that follow the uniform block, read-only arrays first and written ones after (the order
 * of Engine.run's `read` and `write`). A name alone is an `array<f32>`; `name: T` an `array<T>`.
 */
export function storageWgsl(read: readonly string[], write: readonly string[] = []): string {
  const decl = (entry: string, binding: number, access: string) => {
    const [name, type = 'f32'] = entry.split(':').map((part) => part.trim());
    return `@group(0) @binding(${binding}) var<storage, ${access}> ${name}: array<${type}>;`;
  };
  return [
    ...read.map((entry, k) => decl(entry, k + 1, 'read')),
    ...write.map((entry, k) => decl(entry, read.length + k + 1, 'read_write')),
  ].join('\n');
}

export interface PerElementKernel {
  /** Uniform fields after the element count `n: u32` (which is always first). */
  fields?: string;
  read: readonly string[];
  write: readonly string[];
  /** Module-scope WGSL (functions, constants) the body uses. */
  helpers?: string;
  /** The body of `main` for one index `i < p.n`. */
  body: string;
}

/**
 * WGSL of a 1-D kernel with one invocation per element: `main` runs `body` for each `i < p.n`, launched with
 * engine.grid(n, WG) (perElementOutput does both).
 */
export function perElementWgsl(k: PerElementKernel): string {
  return /* wgsl */ `${paramsWgsl(k.fields ? `n: u32, ${k.fields}` : 'n: u32')}
${storageWgsl(k.read, k.write)}
${LINEAR_INDEX_WGSL}
${k.helpers ?? ''}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  if (i >= p.n) { return; }
  ${k.body.trim()}
}`;
}

export interface PerElementRun {
  /** Kernel name (labels, errors). */
  name: string;
  /** A perElementWgsl kernel with one written array. */
  code: string;
  /** Starts with the element count. */
  params: Params;
  read: Tensor[];
  /** Shape of the new output tensor. */
  shape: readonly number[];
  /** The output tensor's label (default: name). */
  label?: string;
  /** Invocations (default: the output's size), e.g. one per pixel when each writes all of a pixel's channels. */
  count?: number;
}

/** Allocates a tensor of `shape` and fills it with a per-element kernel; the engine is that of the first read. */
export function perElementOutput(r: PerElementRun): Tensor {
  const e = r.read[0].engine;
  const out = e.empty(r.shape, r.label ?? r.name);
  const n = r.count ?? out.size;
  e.run({ name: r.name, code: r.code, params: r.params, read: r.read, write: [out], workgroups: e.grid(n, WG) });
  return out;
}

/** Elements of a tensor of `shape` (a per-element kernel's count, known before its output is allocated). */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((size, d) => size * d, 1);
}

export function assertSameShape(op: string, a: Tensor, b: Tensor): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new EngineError(op, `shapes differ: ${shapeStr(a.shape)} vs ${shapeStr(b.shape)}`);
  }
}

export function assertRank(op: string, t: Tensor, rank: number, what = 'input'): void {
  if (t.shape.length !== rank) {
    throw new EngineError(op, `${what} must have rank ${rank}, got ${shapeStr(t.shape)}`);
  }
}

export function assertSameEngine(op: string, ...ts: Tensor[]): void {
  const e = ts[0].engine;
  if (ts.some((t) => t.engine !== e)) throw new EngineError(op, 'tensors belong to different engines');
}
