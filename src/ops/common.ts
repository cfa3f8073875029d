/** Shared helpers for op wrappers: shape checks and the 1-D launch convention. */
import { EngineError, shapeStr } from '../gpu/errors';
import type { Tensor } from '../gpu/tensor';

/** Workgroup size of 1-D elementwise kernels. */
export const WG = 256;

/**
 * WGSL prelude for 1-D kernels launched with engine.grid(n, WG): `linearIndex(gid, nwg)` gives the
 * flat invocation index across the x/y split.
 */
export const LINEAR_INDEX_WGSL = /* wgsl */ `
fn linearIndex(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * ${WG}u; }`;

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
