/** Horizontal flip of NCHW images (torchvision hflip: x[..., ::-1]), per image; the backward is the same flip. */
import { EngineError, shapeStr } from '../gpu/errors';
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertRank, perElementOutput, perElementWgsl } from './common';

/** One thread per output element: flips[n] ≠ 0 reads column W − 1 − j, otherwise column j. */
const FLIP_WGSL = perElementWgsl({
  fields: 'chw: u32, w: u32',
  read: ['x', 'flips'],
  write: ['y'],
  body: `
  let j = i % p.w;
  let src = select(i, i - j + (p.w - 1u - j), flips[i / p.chw] != 0.0);
  y[i] = x[src];`,
});

function flipRaw(x: Tensor, flags: Tensor, op: string): Tensor {
  const [, c, h, w] = x.shape;
  const params = new Params()
    .u32(x.size)
    .u32(c * h * w)
    .u32(w);
  return perElementOutput({
    name: 'flipHorizontal',
    code: FLIP_WGSL,
    params,
    read: [x, flags],
    shape: x.shape,
    label: op,
  });
}

/** Flips image n of x [N,C,H,W] left–right when which[n] (default: every image). Differentiable. */
export function flipHorizontal(x: Tensor, which?: readonly boolean[]): Tensor {
  const op = 'flipHorizontal';
  assertRank(op, x, 4);
  const n = x.shape[0];
  if (which && which.length !== n) {
    throw new EngineError(op, `needs one flag per image: got ${which.length} for ${shapeStr(x.shape)}`);
  }
  const e = x.engine;
  const flags = e.fromArray(
    [n],
    Array.from({ length: n }, (_, k) => (!which || which[k] ? 1 : 0)),
    `${op}-flags`,
  );
  const out = flipRaw(x, flags, op);
  record(op, [x], out, (gy) => [flipRaw(gy, flags, `${op}-backward`)]);
  if (!out.requiresGrad) flags.release();
  return out;
}
