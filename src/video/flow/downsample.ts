/**
 * 2× downsampling of every plane by 2×2 averaging (the pyramid's pooling after its Gaussian pre-filter):
 * [N,C,H,W] → [N,C,⌊H/2⌋,⌊W/2⌋]. Coarse pixel (x, y) covers fine pixels 2x, 2x + 1 (likewise y), so its centre
 * is the fine position (2x + 0.5, 2y + 0.5); upsampleFlow inverts that geometry. An odd last row or column is
 * dropped.
 */
import { EngineError, shapeStr } from '../../gpu/errors';
import { Params } from '../../gpu/params';
import type { Tensor } from '../../gpu/tensor';
import { perElementOutput, perElementWgsl, UNRAVEL_WGSL } from '../../ops/common';
import { dims4 } from './checks';

const DOWNSAMPLE_WGSL = perElementWgsl({
  fields: 'h: u32, w: u32, oh: u32, ow: u32',
  read: ['x'],
  write: ['y'],
  helpers: UNRAVEL_WGSL,
  body: `
  let at = unravel3(i, p.oh, p.ow);
  let top = at.x * p.h * p.w + 2u * at.y * p.w + 2u * at.z;
  y[i] = 0.25 * (x[top] + x[top + 1u] + x[top + p.w] + x[top + p.w + 1u]);`,
});

export function downsample2x(x: Tensor): Tensor {
  const [n, c, h, w] = dims4('downsample2x', x, 'input');
  if (h < 2 || w < 2) throw new EngineError('downsample2x', `${shapeStr(x.shape)} is too small to halve`);
  const [oh, ow] = [Math.floor(h / 2), Math.floor(w / 2)];
  return perElementOutput({
    name: 'flow-downsample',
    code: DOWNSAMPLE_WGSL,
    params: new Params()
      .u32(n * c * oh * ow)
      .u32(h)
      .u32(w)
      .u32(oh)
      .u32(ow),
    read: [x],
    shape: [n, c, oh, ow],
  });
}
