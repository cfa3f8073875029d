/**
 * Separable Gaussian blur of every plane of an [N,C,H,W] tensor with replicated borders: the pyramid's pre-filter
 * (σ = 0.8) and the structure tensor's G_ρ. One dispatch per axis; the taps are compile-time constants of the
 * kernel (one pipeline per σ, cached by source).
 */
import { EngineError } from '../../gpu/errors';
import { Params } from '../../gpu/params';
import type { Tensor } from '../../gpu/tensor';
import { perElementOutput, perElementWgsl, UNRAVEL_WGSL } from '../../ops/common';
import { dims4 } from './checks';
import { CLAMPED_INDEX_WGSL } from './sampling';

/** Normalised taps w[−r..r] of a Gaussian of standard deviation σ > 0, radius r = ⌈3σ⌉ (99.7 % of the mass). */
export function gaussianTaps(sigma: number): number[] {
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new EngineError('gaussianTaps', `σ must be > 0, got ${sigma}`);
  const r = Math.ceil(3 * sigma);
  const taps = Array.from({ length: 2 * r + 1 }, (_, k) => Math.exp(-((k - r) ** 2) / (2 * sigma * sigma)));
  const total = taps.reduce((a, b) => a + b, 0);
  return taps.map((t) => t / total);
}

export type Axis = 'x' | 'y';

function blurWgsl(taps: readonly number[], axis: Axis): string {
  const r = (taps.length - 1) / 2;
  const terms = taps.map((t, k) => {
    const d = k - r;
    const [dx, dy] = axis === 'x' ? [d, 0] : [0, d];
    return `${t.toPrecision(9)} * x[clampedIndex(base, xi + ${dx}, yi + ${dy}, p.w, p.h)]`;
  });
  return perElementWgsl({
    fields: 'h: u32, w: u32',
    read: ['x'],
    write: ['y'],
    helpers: UNRAVEL_WGSL + CLAMPED_INDEX_WGSL,
    body: `
  let at = unravel3(i, p.h, p.w);
  let base = at.x * p.h * p.w;
  let yi = i32(at.y);
  let xi = i32(at.z);
  y[i] = ${terms.join('\n    + ')};`,
  });
}

/** The 1-D Gaussian blur of every plane of x [N,C,H,W] along one axis. */
export function blurAxis(x: Tensor, sigma: number, axis: Axis): Tensor {
  const [n, c, h, w] = dims4('blurAxis', x, 'input');
  return perElementOutput({
    name: `flow-blur-${axis}`,
    code: blurWgsl(gaussianTaps(sigma), axis),
    params: new Params()
      .u32(n * c * h * w)
      .u32(h)
      .u32(w),
    read: [x],
    shape: x.shape,
  });
}

/** The 2-D Gaussian blur of every plane of x [N,C,H,W] (two dispatches; the intermediate is released). */
export function gaussianBlur(x: Tensor, sigma: number): Tensor {
  const along = blurAxis(x, sigma, 'x');
  const out = blurAxis(along, sigma, 'y');
  along.release();
  return out;
}
