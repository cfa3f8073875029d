/**
 * Plain TypeScript reference of the optical-flow kernels in src/video/flow (written from the formulas in
 * VIDEO_ATLAS.md §1 and the modules' comments, float64 arithmetic): what their tests compare against, and a whole
 * CPU pipeline for small crops.
 */
import { gaussianTaps } from '../src/video/flow/gaussian';
import { pairFrames, pairPartner } from '../src/video/flow/pairs';

/** An [N,C,H,W] array. */
export interface Planes {
  data: Float32Array;
  n: number;
  c: number;
  h: number;
  w: number;
}

export function planes(n: number, c: number, h: number, w: number, data?: ArrayLike<number>): Planes {
  return { data: data ? Float32Array.from(data) : new Float32Array(n * c * h * w), n, c, h, w };
}

export function shapeOf(p: Planes): [number, number, number, number] {
  return [p.n, p.c, p.h, p.w];
}

const clampInt = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);

/** Value of plane `plane` (= image·C + channel) at pixel (x, y), clamped into the plane. */
export function at(p: Planes, plane: number, x: number, y: number): number {
  return p.data[(plane * p.h + clampInt(y, 0, p.h - 1)) * p.w + clampInt(x, 0, p.w - 1)];
}

function set(p: Planes, plane: number, x: number, y: number, v: number): void {
  p.data[(plane * p.h + y) * p.w + x] = v;
}

/** Bilinear sample at real position (sx, sy), the position clamped into the plane. */
export function bilinear(p: Planes, plane: number, sx: number, sy: number): number {
  const cx = Math.min(Math.max(sx, 0), p.w - 1);
  const cy = Math.min(Math.max(sy, 0), p.h - 1);
  const x0 = Math.floor(cx);
  const y0 = Math.floor(cy);
  const fx = cx - x0;
  const fy = cy - y0;
  const v = (x: number, y: number) => at(p, plane, x, y);
  const top = v(x0, y0) * (1 - fx) + v(x0 + 1, y0) * fx;
  const bottom = v(x0, y0 + 1) * (1 - fx) + v(x0 + 1, y0 + 1) * fx;
  return top * (1 - fy) + bottom * fy;
}

/** Fills every pixel of every plane of `out` with fn(plane, x, y). */
function fill(out: Planes, fn: (plane: number, x: number, y: number) => number): Planes {
  for (let plane = 0; plane < out.n * out.c; plane++) {
    for (let y = 0; y < out.h; y++) for (let x = 0; x < out.w; x++) set(out, plane, x, y, fn(plane, x, y));
  }
  return out;
}

export function refGrey(rgb: Planes): Planes {
  const out = planes(rgb.n, 1, rgb.h, rgb.w);
  return fill(
    out,
    (f, x, y) => 0.299 * at(rgb, 3 * f, x, y) + 0.587 * at(rgb, 3 * f + 1, x, y) + 0.114 * at(rgb, 3 * f + 2, x, y),
  );
}

export function refBlurAxis(img: Planes, sigma: number, axis: 'x' | 'y'): Planes {
  const taps = gaussianTaps(sigma);
  const r = (taps.length - 1) / 2;
  return fill(planes(...shapeOf(img)), (plane, x, y) => {
    let s = 0;
    for (let k = -r; k <= r; k++)
      s += taps[k + r] * (axis === 'x' ? at(img, plane, x + k, y) : at(img, plane, x, y + k));
    return s;
  });
}

export function refGaussianBlur(img: Planes, sigma: number): Planes {
  return refBlurAxis(refBlurAxis(img, sigma, 'x'), sigma, 'y');
}

export function refDownsample(img: Planes): Planes {
  const out = planes(img.n, img.c, Math.floor(img.h / 2), Math.floor(img.w / 2));
  return fill(out, (plane, x, y) => {
    const v = (dx: number, dy: number) => at(img, plane, 2 * x + dx, 2 * y + dy);
    return (v(0, 0) + v(1, 0) + v(0, 1) + v(1, 1)) / 4;
  });
}

/** Each pair's target frame sampled at x + flow(x): images [F,C,H,W], flow [P,2,H,W] → [P,C,H,W]. */
export function refWarpTargets(images: Planes, flow: Planes): Planes {
  const n = images.n - 1;
  const out = planes(flow.n, images.c, images.h, images.w);
  return fill(out, (plane, x, y) => {
    const p = Math.floor(plane / images.c);
    const ch = plane % images.c;
    const { target } = pairFrames(p, n);
    return bilinear(images, target * images.c + ch, x + at(flow, 2 * p, x, y), y + at(flow, 2 * p + 1, x, y));
  });
}

/** [Ix², IxIy, Iy², IxIt, IyIt] per pair: images [F,1,H,W], warped [P,1,H,W] → [P,5,H,W]. */
export function refMotionProducts(images: Planes, warped: Planes): Planes {
  const n = images.n - 1;
  const out = planes(warped.n, 5, images.h, images.w);
  const d5 = (g: (k: number) => number) => (g(-2) - 8 * g(-1) + 8 * g(1) - g(2)) / 12;
  for (let p = 0; p < warped.n; p++) {
    const src = pairFrames(p, n).source;
    for (let y = 0; y < images.h; y++) {
      for (let x = 0; x < images.w; x++) {
        const both = (xx: number, yy: number) => at(images, src, xx, yy) + at(warped, p, xx, yy);
        const ix = 0.5 * d5((k) => both(x + k, y));
        const iy = 0.5 * d5((k) => both(x, y + k));
        const it = at(warped, p, x, y) - at(images, src, x, y);
        [ix * ix, ix * iy, iy * iy, ix * it, iy * it].forEach((v, c) => set(out, 5 * p + c, x, y, v));
      }
    }
  }
  return out;
}

export function refStructureTensor(images: Planes, warped: Planes, rho: number): Planes {
  const products = refMotionProducts(images, warped);
  return rho > 0 ? refGaussianBlur(products, rho) : products;
}

/** One Jacobi iteration of the CLG system (VIDEO_ATLAS.md §1). */
export function refJacobiStep(tensor: Planes, start: Planes, current: Planes, lambda: number): Planes {
  const out = planes(...shapeOf(current));
  for (let p = 0; p < current.n; p++) {
    for (let y = 0; y < current.h; y++) {
      for (let x = 0; x < current.w; x++) {
        const [j11, j12, j22, j13, j23] = [0, 1, 2, 3, 4].map((c) => at(tensor, 5 * p + c, x, y));
        const mean = (c: number) =>
          (at(current, 2 * p + c, x - 1, y) +
            at(current, 2 * p + c, x + 1, y) +
            at(current, 2 * p + c, x, y - 1) +
            at(current, 2 * p + c, x, y + 1)) /
          4;
        const u0 = at(start, 2 * p, x, y);
        const v0 = at(start, 2 * p + 1, x, y);
        // Solve [[j11+λ, j12], [j12, j22+λ]]·(U, V) = (ru, rv) by Cramer's rule.
        const ru = lambda * mean(0) + j11 * u0 + j12 * v0 - j13;
        const rv = lambda * mean(1) + j12 * u0 + j22 * v0 - j23;
        const det = (j11 + lambda) * (j22 + lambda) - j12 * j12;
        set(out, 2 * p, x, y, (ru * (j22 + lambda) - j12 * rv) / det);
        set(out, 2 * p + 1, x, y, ((j11 + lambda) * rv - j12 * ru) / det);
      }
    }
  }
  return out;
}

export function refMedian3x3(img: Planes): Planes {
  return fill(planes(...shapeOf(img)), (plane, x, y) => {
    const vs: number[] = [];
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) vs.push(at(img, plane, x + dx, y + dy));
    return vs.sort((a, b) => a - b)[4];
  });
}

export function refUpsampleFlow(flow: Planes, h: number, w: number): Planes {
  return fill(
    planes(flow.n, flow.c, h, w),
    (plane, x, y) => 2 * bilinear(flow, plane, (x + 0.5) / 2 - 0.5, (y + 0.5) / 2 - 0.5),
  );
}

export interface RefFb {
  /** |f + b(x + f)| per pixel, [P,1,H,W]. */
  error: Planes;
  /** 1 where the check passes, [P,1,H,W]. */
  valid: Planes;
}

/** The forward–backward check on flow [2n,2,H,W] (forward pairs, then their backward partners). */
export function refForwardBackward(flow: Planes, relative = 0.01, absolute = 0.5, motionBoundaries = false): RefFb {
  const n = flow.n / 2;
  const error = planes(flow.n, 1, flow.h, flow.w);
  const valid = planes(flow.n, 1, flow.h, flow.w);
  for (let p = 0; p < flow.n; p++) {
    const q = pairPartner(p, n);
    for (let y = 0; y < flow.h; y++) {
      for (let x = 0; x < flow.w; x++) {
        const fu = at(flow, 2 * p, x, y);
        const fv = at(flow, 2 * p + 1, x, y);
        const sx = x + fu;
        const sy = y + fv;
        const bu = bilinear(flow, 2 * q, sx, sy);
        const bv = bilinear(flow, 2 * q + 1, sx, sy);
        const d2 = (fu + bu) ** 2 + (fv + bv) ** 2;
        const inside = sx >= 0 && sx <= flow.w - 1 && sy >= 0 && sy <= flow.h - 1;
        set(error, p, x, y, Math.sqrt(d2));
        let ok = inside && d2 < relative * (fu * fu + fv * fv + bu * bu + bv * bv) + absolute;
        if (motionBoundaries) {
          let g2 = 0;
          for (const c of [0, 1]) {
            const plane = 2 * p + c;
            g2 += ((at(flow, plane, x + 1, y) - at(flow, plane, x - 1, y)) / 2) ** 2;
            g2 += ((at(flow, plane, x, y + 1) - at(flow, plane, x, y - 1)) / 2) ** 2;
          }
          if (g2 > 0.01 * (fu * fu + fv * fv) + 0.002) ok = false;
        }
        set(valid, p, x, y, ok ? 1 : 0);
      }
    }
  }
  return { error, valid };
}

export interface RefFlowOptions {
  levels: number;
  lambda: number;
  rho: number;
  pyramidSigma: number;
  warps: number;
  jacobiIterations: number;
  median: boolean;
}

/** The whole coarse-to-fine pipeline on the CPU: frames [F,3,H,W] → flow [2(F−1),2,H,W] and the FB check. */
export function refComputeFlows(frames: Planes, o: RefFlowOptions): { flow: Planes } & RefFb {
  const pyramid = [refGrey(frames)];
  for (let l = 1; l < o.levels; l++) pyramid.push(refDownsample(refGaussianBlur(pyramid[l - 1], o.pyramidSigma)));
  const pairs = 2 * (frames.n - 1);
  let flow: Planes | null = null;
  for (let l = o.levels - 1; l >= 0; l--) {
    const grey = pyramid[l];
    flow = flow ? refUpsampleFlow(flow, grey.h, grey.w) : planes(pairs, 2, grey.h, grey.w);
    for (let k = 0; k < o.warps; k++) {
      const tensor = refStructureTensor(grey, refWarpTargets(grey, flow), o.rho);
      let current: Planes = flow;
      for (let it = 0; it < o.jacobiIterations; it++) current = refJacobiStep(tensor, flow, current, o.lambda);
      flow = o.median ? refMedian3x3(current) : current;
    }
  }
  return { flow: flow!, ...refForwardBackward(flow!) };
}
