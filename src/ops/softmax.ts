/**
 * Softmax over the last dim (attention probabilities), numerically stable (the row max is subtracted),
 * with backward dx = y ⊙ (dy − Σ dy⊙y). Rows are reduced in segments of a workgroup (rowSegments.ts), so the 50–71-wide attention rows keep
 * every invocation busy.
 */
import { EngineError, shapeStr } from '../gpu/errors';
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertSameEngine, assertSameShape } from './common';
import { rowKernelWgsl, rowSegmentLaunch, type SegmentReduction } from './rowSegments';

const REDUCTIONS: readonly SegmentReduction[] = [
  { name: 'segMax', type: 'f32', combine: (a, b) => `max(${a}, ${b})` },
  { name: 'segSum', type: 'f32', combine: (a, b) => `${a} + ${b}` },
];

function forwardWgsl(lanes: number): string {
  return rowKernelWgsl({
    lanes,
    reductions: REDUCTIONS,
    read: ['x'],
    write: ['y'],
    body: `
  var m = -3.0e38;
  if (live) { for (var c = lane; c < p.C; c += LANES) { m = max(m, x[base + c]); } }
  m = segMax(t, m);
  var s = 0.0;
  if (live) { for (var c = lane; c < p.C; c += LANES) { s += exp(x[base + c] - m); } }
  let inv = 1.0 / segSum(t, s);
  if (live) { for (var c = lane; c < p.C; c += LANES) { y[base + c] = exp(x[base + c] - m) * inv; } }`,
  });
}

function backwardWgsl(lanes: number): string {
  return rowKernelWgsl({
    lanes,
    reductions: REDUCTIONS,
    read: ['y', 'dy'],
    write: ['dx'],
    body: `
  var d = 0.0;
  if (live) { for (var c = lane; c < p.C; c += LANES) { d += dy[base + c] * y[base + c]; } }
  d = segSum(t, d);
  if (live) {
    for (var c = lane; c < p.C; c += LANES) { dx[base + c] = y[base + c] * (dy[base + c] - d); }
  }`,
  });
}

/** Runs a row kernel (forwardWgsl or backwardWgsl) over the rows of `like`'s last dim into a tensor of its shape. */
function rowPass(op: string, kernel: (lanes: number) => string, like: Tensor, read: Tensor[]): Tensor {
  const C = like.shape[like.shape.length - 1];
  const rows = C === 0 ? 0 : like.size / C;
  const e = like.engine;
  const out = e.empty(like.shape, op);
  const { lanes, workgroups } = rowSegmentLaunch(e, rows, C);
  if (rows > 0) {
    e.run({ name: op, code: kernel(lanes), params: new Params().u32(rows).u32(C), read, write: [out], workgroups });
  }
  return out;
}

/** Softmax over the last dim. */
export function softmax(x: Tensor): Tensor {
  const op = 'softmax';
  if (x.shape.length < 1) throw new EngineError(op, `x needs rank ≥ 1, got ${shapeStr(x.shape)}`);
  const y = rowPass(op, forwardWgsl, x, [x]);
  return record(op, [x], y, (gy) => [softmaxBackward(y, gy)]);
}

/** dx = y ⊙ (dy − Σ_row dy⊙y), from softmax output y and its gradient dy (not recorded). */
export function softmaxBackward(y: Tensor, dy: Tensor): Tensor {
  const op = 'softmax-backward';
  assertSameEngine(op, y, dy);
  assertSameShape(op, y, dy);
  return rowPass(op, backwardWgsl, y, [y, dy]);
}
