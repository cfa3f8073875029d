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
import { ROW_WG, rowSegmentLaunch, rowSegmentsWgsl, type SegmentReduction } from './rowSegments';

const REDUCTIONS: readonly SegmentReduction[] = [
  { name: 'segMax', type: 'f32', combine: (a, b) => `max(${a}, ${b})` },
  { name: 'segSum', type: 'f32', combine: (a, b) => `${a} + ${b}` },
];

function forwardWgsl(lanes: number): string {
  return /* wgsl */ `
struct P { rows: u32, C: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
${rowSegmentsWgsl(lanes, REDUCTIONS)}
@compute @workgroup_size(${ROW_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) t: u32) {
  let row = rowOf(wid, nwg, t);
  let lane = t % LANES;
  let live = row < p.rows;
  let base = row * p.C;
  var m = -3.0e38;
  if (live) { for (var c = lane; c < p.C; c += LANES) { m = max(m, x[base + c]); } }
  m = segMax(t, m);
  var s = 0.0;
  if (live) { for (var c = lane; c < p.C; c += LANES) { s += exp(x[base + c] - m); } }
  let inv = 1.0 / segSum(t, s);
  if (live) { for (var c = lane; c < p.C; c += LANES) { y[base + c] = exp(x[base + c] - m) * inv; } }
}`;
}

function backwardWgsl(lanes: number): string {
  return /* wgsl */ `
struct P { rows: u32, C: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
${rowSegmentsWgsl(lanes, REDUCTIONS)}
@compute @workgroup_size(${ROW_WG})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) t: u32) {
  let row = rowOf(wid, nwg, t);
  let lane = t % LANES;
  let live = row < p.rows;
  let base = row * p.C;
  var d = 0.0;
  if (live) { for (var c = lane; c < p.C; c += LANES) { d += dy[base + c] * y[base + c]; } }
  d = segSum(t, d);
  if (live) {
    for (var c = lane; c < p.C; c += LANES) { dx[base + c] = y[base + c] * (dy[base + c] - d); }
  }
}`;
}

function launch(x: Tensor, C: number): { lanes: number; rows: number; workgroups: [number, number] } {
  const rows = C === 0 ? 0 : x.size / C;
  return { rows, ...rowSegmentLaunch(x.engine, rows, C) };
}

/** Softmax over the last dim. */
export function softmax(x: Tensor): Tensor {
  const op = 'softmax';
  if (x.shape.length < 1) throw new EngineError(op, `x needs rank ≥ 1, got ${shapeStr(x.shape)}`);
  const C = x.shape[x.shape.length - 1];
  const e = x.engine;
  const y = e.empty(x.shape, op);
  const { lanes, rows, workgroups } = launch(x, C);
  if (rows > 0) {
    e.run({
      name: op,
      code: forwardWgsl(lanes),
      params: new Params().u32(rows).u32(C),
      read: [x],
      write: [y],
      workgroups,
    });
  }
  return record(op, [x], y, (gy) => [softmaxBackward(y, gy)]);
}

/** dx = y ⊙ (dy − Σ_row dy⊙y), from softmax output y and its gradient dy (not recorded). */
export function softmaxBackward(y: Tensor, dy: Tensor): Tensor {
  const op = 'softmax-backward';
  assertSameEngine(op, y, dy);
  assertSameShape(op, y, dy);
  const C = y.shape[y.shape.length - 1];
  const e = y.engine;
  const dx = e.empty(y.shape, op);
  const { lanes, rows, workgroups } = launch(y, C);
  if (rows > 0) {
    e.run({
      name: op,
      code: backwardWgsl(lanes),
      params: new Params().u32(rows).u32(C),
      read: [y, dy],
      write: [dx],
      workgroups,
    });
  }
  return dx;
}
