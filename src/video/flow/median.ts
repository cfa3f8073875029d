/**
 * 3×3 median filter of every plane of an [N,C,H,W] tensor, borders replicated: applied to the flow's u and v
 * planes after each warp (Sun et al., "Secrets of optical flow"), it removes outliers the linearisation leaves.
 * The median of the 9 values is found by a selection network generated here: for k = 0..4, compare-exchange
 * value k with every later one, so that value k becomes the k-th smallest; after five rounds value 4 is the median.
 */
import { Params } from '../../gpu/params';
import type { Tensor } from '../../gpu/tensor';
import { perElementOutput, perElementWgsl, UNRAVEL_WGSL } from '../../ops/common';
import { dims4 } from './checks';
import { CLAMPED_INDEX_WGSL } from './sampling';

function selectionNetwork(): string {
  const lines: string[] = [];
  for (let k = 0; k < 5; k++) {
    for (let j = k + 1; j < 9; j++) {
      lines.push(`{ let lo = min(v${k}, v${j}); v${j} = max(v${k}, v${j}); v${k} = lo; }`);
    }
  }
  return lines.join('\n  ');
}

const loads = Array.from({ length: 9 }, (_, k) => {
  const [dx, dy] = [(k % 3) - 1, Math.floor(k / 3) - 1];
  return `var v${k} = x[clampedIndex(base, xi + ${dx}, yi + ${dy}, p.w, p.h)];`;
});

const MEDIAN_WGSL = perElementWgsl({
  fields: 'h: u32, w: u32',
  read: ['x'],
  write: ['y'],
  helpers: UNRAVEL_WGSL + CLAMPED_INDEX_WGSL,
  body: `
  let at = unravel3(i, p.h, p.w);
  let base = at.x * p.h * p.w;
  let yi = i32(at.y);
  let xi = i32(at.z);
  ${loads.join('\n  ')}
  ${selectionNetwork()}
  y[i] = v4;`,
});

export function median3x3(x: Tensor): Tensor {
  const [n, c, h, w] = dims4('median3x3', x, 'input');
  return perElementOutput({
    name: 'flow-median',
    code: MEDIAN_WGSL,
    params: new Params()
      .u32(n * c * h * w)
      .u32(h)
      .u32(w),
    read: [x],
    shape: x.shape,
  });
}
