/**
 * Channel concatenation of NCHW tensors (torch.cat(xs, dim=1)); the backward splits the gradient. The kernels are
 * shape.ts's slice copies with the channel as the sliced dim (outer N, inner H·W).
 */
import { EngineError, shapeStr } from '../gpu/errors';
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertRank, assertSameEngine, perElementOutput, WG } from './common';
import { SLICE_GATHER_WGSL, SLICE_SCATTER_WGSL } from './shape';

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
  const sliceParams = (k: number) => new Params().u32(xs[k].size).u32(xs[k].shape[1]).u32(ctot).u32(offsets[k]).u32(hw);
  const e = xs[0].engine;
  const out = e.empty([n, ctot, h, w], op);
  xs.forEach((x, k) => {
    e.run({
      name: op,
      code: SLICE_SCATTER_WGSL,
      params: sliceParams(k),
      read: [x],
      write: [out],
      workgroups: e.grid(x.size, WG),
    });
  });
  return record(op, xs, out, (gy) =>
    xs.map((x, k) => {
      if (!x.requiresGrad) return null;
      const name = `${op}-backward`;
      return perElementOutput({ name, code: SLICE_GATHER_WGSL, params: sliceParams(k), read: [gy], shape: x.shape });
    }),
  );
}
