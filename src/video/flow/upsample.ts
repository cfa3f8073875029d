/**
 * A flow field of a coarser pyramid level brought to the next finer one: bilinear in space with the pyramid's
 * geometry (fine pixel x sits at coarse position (x + 0.5)/2 − 0.5, clamped, downsample2x's inverse) and the
 * vectors doubled, since a coarse pixel is two fine ones. [P,2,h,w] → [P,2,H,W].
 */
import { Params } from '../../gpu/params';
import type { Tensor } from '../../gpu/tensor';
import { perElementOutput, perElementWgsl, UNRAVEL_WGSL } from '../../ops/common';
import { dims4 } from './checks';
import { bilinearClampedWgsl } from './sampling';

const UPSAMPLE_WGSL = perElementWgsl({
  fields: 'h: u32, w: u32, oh: u32, ow: u32',
  read: ['x'],
  write: ['y'],
  helpers: UNRAVEL_WGSL + bilinearClampedWgsl('x'),
  body: `
  let at = unravel3(i, p.oh, p.ow);
  let sx = (f32(at.z) + 0.5) * 0.5 - 0.5;
  let sy = (f32(at.y) + 0.5) * 0.5 - 0.5;
  y[i] = 2.0 * sample_x(at.x * p.h * p.w, sx, sy, p.w, p.h);`,
});

export function upsampleFlow(flow: Tensor, height: number, width: number): Tensor {
  const [pairs, , h, w] = dims4('upsampleFlow', flow, 'flow', 2);
  return perElementOutput({
    name: 'flow-upsample',
    code: UPSAMPLE_WGSL,
    params: new Params()
      .u32(pairs * 2 * height * width)
      .u32(h)
      .u32(w)
      .u32(height)
      .u32(width),
    read: [flow],
    shape: [pairs, 2, height, width],
  });
}
