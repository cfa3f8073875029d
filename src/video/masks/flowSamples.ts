/** The samples a background fit sees: FB-valid pixels of one flow on a regular grid (every `stride` px). */
import type { FlowSamples } from './robustFit';

/** At most about this many samples per pair: enough for a 6–8-parameter fit, cheap for RANSAC. */
export const MAX_FIT_SAMPLES = 4096;

/**
 * Grid samples of `flow` ([2,H,W] planes) where `valid` is 1; when fewer than `minValid` grid pixels are valid (a
 * frame-wide flow failure), every grid pixel is used instead.
 */
export function gridFlowSamples(
  flow: Float32Array,
  valid: Float32Array,
  width: number,
  height: number,
  maxSamples = MAX_FIT_SAMPLES,
  minValid = 32,
): FlowSamples {
  const hw = width * height;
  const stride = Math.max(1, Math.floor(Math.sqrt(hw / maxSamples)));
  const offset = stride >> 1;
  const pick = (useValid: boolean) => {
    const idx: number[] = [];
    for (let y = offset; y < height; y += stride) {
      for (let x = offset; x < width; x += stride) {
        const k = y * width + x;
        if (!useValid || valid[k] > 0.5) idx.push(k);
      }
    }
    return idx;
  };
  let idx = pick(true);
  if (idx.length < minValid) idx = pick(false);
  const s: FlowSamples = {
    x: new Float64Array(idx.length),
    y: new Float64Array(idx.length),
    u: new Float64Array(idx.length),
    v: new Float64Array(idx.length),
  };
  idx.forEach((k, i) => {
    s.x[i] = k % width;
    s.y[i] = Math.floor(k / width);
    s.u[i] = flow[k];
    s.v[i] = flow[hw + k];
  });
  return s;
}
