/**
 * Shape ops for the ViT: reshape (a buffer copy), transpose (rank ≤ 4 gather, e.g. [B,N,H,D] ↔
 * [B,H,N,D]), narrow / sliceLastDims (a window gather; the backward is the same kernel with the window
 * reversed, which writes zeros outside the slice) and concat along any dim (one scatter per input;
 * the backward narrows). All kernels are one invocation per output element, 1-D launches.
 */
import { EngineError, shapeStr } from '../gpu/errors';
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertSameEngine, elementCount, perElementOutput, perElementWgsl, UNRAVEL_WGSL, WG } from './common';

/** Row-major strides of a shape. */
function stridesOf(shape: readonly number[]): number[] {
  const st = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) st[i] = st[i + 1] * shape[i + 1];
  return st;
}

/** Left-pads a shape (or per-dim values) to rank 4. */
function pad4(v: readonly number[], fill: number): number[] {
  return [...new Array<number>(4 - v.length).fill(fill), ...v];
}

// ------------------------------------------------------------------ reshape

/** Same elements, new shape (one dim may be -1). Copies the buffer; the backward reshapes back. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const op = 'reshape';
  const free = shape.filter((d) => d === -1).length;
  if (free > 1 || shape.some((d) => d !== -1 && (!Number.isInteger(d) || d < 0))) {
    throw new EngineError(op, `invalid target shape ${shapeStr(shape)} for ${shapeStr(x.shape)}`);
  }
  let target = [...shape];
  if (free === 1) {
    const known = elementCount(shape.filter((d) => d !== -1));
    if (known === 0 || x.size % known !== 0) {
      throw new EngineError(op, `cannot infer -1 in ${shapeStr(shape)} for ${shapeStr(x.shape)}`);
    }
    target = shape.map((d) => (d === -1 ? x.size / known : d));
  }
  if (elementCount(target) !== x.size) {
    throw new EngineError(op, `${shapeStr(x.shape)} (${x.size} elements) cannot become ${shapeStr(shape)}`);
  }
  const e = x.engine;
  const y = e.empty(target, op);
  if (x.size > 0) e.copy(x, y, x.byteSize);
  return record(op, [x], y, (gy) => [reshape(gy, x.shape)]);
}

// ------------------------------------------------------------------ transpose

/** y[c] = x at input strides st of the output's rank-4 coordinates c. */
const TRANSPOSE_WGSL = perElementWgsl({
  fields: 'o1: u32, o2: u32, o3: u32, st: vec4<u32>',
  read: ['x'],
  write: ['y'],
  helpers: UNRAVEL_WGSL,
  body: 'y[i] = x[dot(unravel4(i, p.o1, p.o2, p.o3), p.st)];',
});

/** Permutes the dims of a rank ≤ 4 tensor: y.shape[i] = x.shape[perm[i]]. The backward applies the inverse. */
export function transpose(x: Tensor, perm: readonly number[]): Tensor {
  const op = 'transpose';
  const r = x.shape.length;
  const sorted = [...perm].sort((a, b) => a - b);
  if (r > 4 || perm.length !== r || sorted.some((d, i) => d !== i)) {
    throw new EngineError(
      op,
      `perm [${perm.join(',')}] is not a permutation of the dims of ${shapeStr(x.shape)} (rank ≤ 4)`,
    );
  }
  const e = x.engine;
  const outShape = perm.map((d) => x.shape[d]);
  const y = e.empty(outShape, op);
  if (perm.every((d, i) => d === i)) {
    if (x.size > 0) e.copy(x, y, x.byteSize);
  } else if (x.size > 0) {
    const inStrides = stridesOf(x.shape);
    const o = pad4(outShape, 1);
    const st = pad4(
      perm.map((d) => inStrides[d]),
      0,
    );
    e.run({
      name: op,
      code: TRANSPOSE_WGSL,
      params: new Params().u32(x.size).u32(o[1]).u32(o[2]).u32(o[3]).u32(st[0]).u32(st[1]).u32(st[2]).u32(st[3]),
      read: [x],
      write: [y],
      workgroups: e.grid(x.size, WG),
    });
  }
  const inverse = new Array<number>(r);
  perm.forEach((d, i) => (inverse[d] = i));
  return record(op, [x], y, (gy) => [transpose(gy, inverse)]);
}

// ------------------------------------------------------------------ windows: narrow, sliceLastDims

/** y[c] = x[c + shift] where that lies inside x, else 0 (rank-4 coordinates). */
const WINDOW_WGSL = perElementWgsl({
  fields: 'o1: u32, o2: u32, o3: u32, src: vec4<i32>, shift: vec4<i32>, st: vec4<u32>',
  read: ['x'],
  write: ['y'],
  helpers: UNRAVEL_WGSL,
  body: `
  let s = vec4<i32>(unravel4(i, p.o1, p.o2, p.o3)) + p.shift;
  if (all(s >= vec4<i32>(0)) && all(s < p.src)) {
    y[i] = x[dot(vec4<u32>(s), p.st)];
  } else {
    y[i] = 0.0;
  }`,
});

/**
 * Gathers a window of x viewed as `srcShape` (rank ≤ 4) into a new tensor viewed as `outShape`:
 * out[c] = x[c + shift], zero outside x. Returned with shape `shape`.
 */
function windowRaw(
  op: string,
  x: Tensor,
  srcShape: readonly number[],
  outShape: readonly number[],
  shift: readonly number[],
  shape: readonly number[],
): Tensor {
  const n = elementCount(outShape);
  if (n === 0) return x.engine.empty(shape, op);
  const src = pad4(srcShape, 1);
  const o = pad4(outShape, 1);
  const sh = pad4(shift, 0);
  const st = stridesOf(src);
  return perElementOutput({
    name: 'window',
    label: op,
    code: WINDOW_WGSL,
    shape,
    params: new Params()
      .u32(n)
      .u32(o[1])
      .u32(o[2])
      .u32(o[3])
      .i32(src[0])
      .i32(src[1])
      .i32(src[2])
      .i32(src[3])
      .i32(sh[0])
      .i32(sh[1])
      .i32(sh[2])
      .i32(sh[3])
      .u32(st[0])
      .u32(st[1])
      .u32(st[2])
      .u32(st[3]),
    read: [x],
  });
}

function normDim(op: string, x: Tensor, dim: number): number {
  const r = x.shape.length;
  const d = dim < 0 ? dim + r : dim;
  if (!Number.isInteger(d) || d < 0 || d >= r) {
    throw new EngineError(op, `dim ${dim} is out of range for ${shapeStr(x.shape)}`);
  }
  return d;
}

/** Elements [start, start + length) of dim `dim` (negative dims count from the end), like torch.narrow. */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const op = 'narrow';
  const d = normDim(op, x, dim);
  const D = x.shape[d];
  if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0 || start + length > D) {
    throw new EngineError(op, `[${start}, ${start}+${length}) is outside dim ${d} of ${shapeStr(x.shape)}`);
  }
  const outer = elementCount(x.shape.slice(0, d));
  const inner = elementCount(x.shape.slice(d + 1));
  const shape = x.shape.map((s, i) => (i === d ? length : s));
  const y = windowRaw(op, x, [outer, D, inner], [outer, length, inner], [0, start, 0], shape);
  // Backward: the same window reversed, zeros outside the slice.
  return record(op, [x], y, (gy) => [
    windowRaw(`${op}-backward`, gy, [outer, length, inner], [outer, D, inner], [0, -start, 0], x.shape),
  ]);
}

/**
 * Slices the last `starts.length` dims (at most 3): dim r−k+i keeps [starts[i], starts[i] + lengths[i]).
 * The backward writes the gradient into a zero tensor of x's shape.
 */
export function sliceLastDims(x: Tensor, starts: readonly number[], lengths: readonly number[]): Tensor {
  const op = 'sliceLastDims';
  const k = starts.length;
  const r = x.shape.length;
  if (k !== lengths.length || k > 3 || k > r) {
    throw new EngineError(
      op,
      `starts [${starts.join(',')}] and lengths [${lengths.join(',')}] must name the same ≤ 3 trailing dims of ${shapeStr(x.shape)}`,
    );
  }
  const last = x.shape.slice(r - k);
  last.forEach((D, i) => {
    const [s, l] = [starts[i], lengths[i]];
    if (!Number.isInteger(s) || !Number.isInteger(l) || s < 0 || l < 0 || s + l > D) {
      throw new EngineError(op, `[${s}, ${s}+${l}) is outside dim ${r - k + i} of ${shapeStr(x.shape)}`);
    }
  });
  const outer = elementCount(x.shape.slice(0, r - k));
  const shape = [...x.shape.slice(0, r - k), ...lengths];
  const y = windowRaw(op, x, [outer, ...last], [outer, ...lengths], [0, ...starts], shape);
  return record(op, [x], y, (gy) => [
    windowRaw(`${op}-backward`, gy, [outer, ...lengths], [outer, ...last], [0, ...starts.map((s) => -s)], x.shape),
  ]);
}

// ------------------------------------------------------------------ concat

/**
 * One invocation per element i of a block `part` [outer, dk, inner], whose place is slot of slice [off, off + dk)
 * of dim 1 of `whole` [outer, dtot, inner]: the scatter writes the block into that slice (concat), the gather
 * reads it back (concatChannels' backward). Params: n, dk, dtot, off, inner.
 */
function sliceCopyWgsl(direction: 'scatter' | 'gather'): string {
  const scatter = direction === 'scatter';
  return perElementWgsl({
    fields: 'dk: u32, dtot: u32, off: u32, inner: u32',
    read: [scatter ? 'part' : 'whole'],
    write: [scatter ? 'whole' : 'part'],
    helpers: UNRAVEL_WGSL,
    body: `
  let c = unravel3(i, p.dk, p.inner);
  let slot = (c.x * p.dtot + p.off + c.y) * p.inner + c.z;
  ${scatter ? 'whole[slot] = part[i];' : 'part[i] = whole[slot];'}`,
  });
}

export const SLICE_SCATTER_WGSL = sliceCopyWgsl('scatter');
export const SLICE_GATHER_WGSL = sliceCopyWgsl('gather');

/** Concatenates tensors of equal rank that agree in every dim but `dim` (negative counts from the end). */
export function concat(xs: readonly Tensor[], dim: number): Tensor {
  const op = 'concat';
  if (xs.length === 0) throw new EngineError(op, 'needs at least one tensor');
  assertSameEngine(op, ...xs);
  const d = normDim(op, xs[0], dim);
  const ref = xs[0].shape;
  const bad = xs.find((x) => x.shape.length !== ref.length || x.shape.some((s, i) => i !== d && s !== ref[i]));
  if (bad) {
    throw new EngineError(
      op,
      `inputs must agree in every dim but ${d}: ${xs.map((x) => shapeStr(x.shape)).join(', ')}`,
    );
  }
  const e = xs[0].engine;
  const dtot = xs.reduce((a, x) => a + x.shape[d], 0);
  const outer = elementCount(ref.slice(0, d));
  const inner = elementCount(ref.slice(d + 1));
  const y = e.empty(
    ref.map((s, i) => (i === d ? dtot : s)),
    op,
  );
  const offsets: number[] = [];
  let off = 0;
  for (const x of xs) {
    offsets.push(off);
    const dk = x.shape[d];
    if (x.size > 0) {
      e.run({
        name: op,
        code: SLICE_SCATTER_WGSL,
        params: new Params().u32(x.size).u32(dk).u32(dtot).u32(off).u32(inner),
        read: [x],
        write: [y],
        workgroups: e.grid(x.size, WG),
      });
    }
    off += dk;
  }
  return record(op, [...xs], y, (gy) =>
    xs.map((x, k) =>
      x.requiresGrad
        ? windowRaw(`${op}-backward`, gy, [outer, dtot, inner], [outer, x.shape[d], inner], [0, offsets[k], 0], x.shape)
        : null,
    ),
  );
}
