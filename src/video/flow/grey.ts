/** RGB → grey (Rec. 601 luma), the intensity the flow is computed on: [F,3,H,W] in [0,1] → [F,1,H,W]. */
import { Params } from '../../gpu/params';
import type { Tensor } from '../../gpu/tensor';
import { perElementOutput, perElementWgsl } from '../../ops/common';
import { dims4 } from './checks';

/** Luma weights of R, G and B (ITU-R BT.601, as most grey conversions use). */
export const GREY_WEIGHTS = [0.299, 0.587, 0.114] as const;

const GREY_WGSL = perElementWgsl({
  fields: 'hw: u32',
  read: ['rgb'],
  write: ['grey'],
  body: `
  let base = (i / p.hw) * 3u * p.hw + i % p.hw;
  grey[i] = ${GREY_WEIGHTS[0]} * rgb[base] + ${GREY_WEIGHTS[1]} * rgb[base + p.hw] + ${GREY_WEIGHTS[2]} * rgb[base + 2u * p.hw];`,
});

export function rgbToGrey(frames: Tensor): Tensor {
  const [f, , h, w] = dims4('rgbToGrey', frames, 'frames', 3);
  return perElementOutput({
    name: 'flow-grey',
    code: GREY_WGSL,
    params: new Params().u32(f * h * w).u32(h * w),
    read: [frames],
    shape: [f, 1, h, w],
  });
}
