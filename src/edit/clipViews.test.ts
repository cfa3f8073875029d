import { describe, expect, it } from 'vitest';
import {
  fdAdjoint,
  img,
  refAffine,
  refColor,
  refCropResize,
  refFlip,
  refNormalize,
  refPerspective,
  type Img,
  type RefColorOp,
} from '../../test/augmentRef';
import { gradCheck, maxAbs, maxAbsDiff, rand, testEngine } from '../../test/gpu';
import { forwardBackward } from '../../test/opRun';
import { EngineError } from '../gpu/errors';
import { Rng } from '../nn/rng';
import { CLIP_MEAN, CLIP_STD } from '../ops/normalize';
import {
  clipViews,
  JITTER_KINDS,
  resizeForStructure,
  roundHalfEven,
  sampleViewParams,
  type ViewParams,
} from './clipViews';

const H = 20;
const W = 28;
/** Tiny views for tests: Resize(16, max_size=24) of 20×28 → 16×22. */
const SIZE = 16;
const MAX = 24;
const [HV, WV] = [16, 22];

const base = { viewH: HV, viewW: WV, fill: 1 };
/** Five views exercising every step, with some views skipping each one. */
const PARAMS: ViewParams[] = [
  {
    ...base,
    crop: null,
    flip: true,
    affine: { angle: 9.3, tx: 2, ty: -1 },
    perspective: null,
    jitter: {
      order: ['hue', 'contrast', 'brightness', 'saturation'],
      brightness: 1.06,
      contrast: 0.93,
      saturation: 1.09,
      hue: 0.07,
    },
    grayscale: false,
  },
  {
    ...base,
    crop: { top: 3, left: 5, height: 14, width: 19 },
    flip: false,
    affine: null,
    perspective: [
      [2, 1],
      [19, 0],
      [21, 14],
      [4, 15],
    ],
    jitter: null,
    grayscale: true,
  },
  {
    ...base,
    crop: { top: 0, left: 2, height: 19, width: 26 },
    flip: true,
    affine: { angle: -13.1, tx: -2, ty: 1 },
    perspective: [
      [0, 3],
      [18, 2],
      [20, 12],
      [1, 15],
    ],
    jitter: {
      order: ['saturation', 'brightness', 'hue', 'contrast'],
      brightness: 0.92,
      contrast: 1.04,
      saturation: 0.95,
      hue: -0.08,
    },
    grayscale: true,
  },
  {
    ...base,
    crop: { top: 7, left: 0, height: 13, width: 18 },
    flip: false,
    affine: null,
    perspective: null,
    jitter: {
      order: ['contrast', 'hue', 'saturation', 'brightness'],
      brightness: 1.01,
      contrast: 1.08,
      saturation: 1.02,
      hue: 0.02,
    },
    grayscale: false,
  },
  {
    ...base,
    crop: { top: 1, left: 9, height: 12, width: 17 },
    flip: false,
    affine: { angle: 0.5, tx: 0, ty: 2 },
    perspective: null,
    jitter: null,
    grayscale: false,
  },
];

/** The CPU float64 pipeline, step by step as torchvision would run it per view. */
function refViews(x: Float64Array, params: ViewParams[], fill: number): Img {
  const boxes = params.map((p) => ({ src: 0, ...(p.crop ?? { top: 0, left: 0, height: H, width: W }) }));
  let v = refCropResize(img([1, 3, H, W], x), boxes, HV, WV).y;
  v = refFlip(
    v,
    params.map((p) => p.flip),
  ).y;
  v = refAffine(
    v,
    params.map((p) => p.affine),
    fill,
  ).y;
  v = refPerspective(
    v,
    params.map((p) => (p.perspective ? p.perspective.map((q) => [...q]) : null)),
    fill,
  ).y;
  for (let slot = 0; slot < 4; slot++) {
    const ops = params.map((p) => (p.jitter ? p.jitter.order[slot] : 'none')) as RefColorOp[];
    const fs = params.map((p, k) => (p.jitter && ops[k] !== 'none' ? p.jitter[p.jitter.order[slot]] : 0));
    v = refColor(v, ops, fs);
  }
  v = refColor(
    v,
    params.map((p) => (p.grayscale ? 'grayscale' : 'none')),
    params.map(() => 0),
  );
  return refNormalize(v, CLIP_MEAN, CLIP_STD);
}

describe('sampleViewParams', () => {
  it('is deterministic for a seed', () => {
    const a = sampleViewParams(new Rng(7), 16, 512, 768, { fill: 1 });
    const b = sampleViewParams(new Rng(7), 16, 512, 768, { fill: 1 });
    const c = sampleViewParams(new Rng(8), 16, 512, 768, { fill: 1 });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(a).toHaveLength(16);
  });

  it('draws the spec §A.7 parameters with the right ranges and frequencies', () => {
    const [Hi, Wi] = [512, 768];
    const views = sampleViewParams(new Rng(123), 6000, Hi, Wi, { fill: 0 });
    const [hv, wv] = [213, 320];
    expect(views[0].crop).toBeNull();
    const freq = (pred: (v: ViewParams) => boolean) => views.filter(pred).length / views.length;
    const firstKind = new Map<string, number>();
    for (const [k, v] of views.entries()) {
      expect([v.viewH, v.viewW, v.fill]).toEqual([hv, wv, 0]);
      if (k > 0) {
        const c = v.crop!;
        // s ∈ [0.6, 1): height = int(H·s), width = int(W·s) with the same s.
        expect(c.height).toBeGreaterThanOrEqual(Math.trunc(Hi * 0.6));
        expect(c.height).toBeLessThanOrEqual(Hi);
        const s = c.height / Hi;
        expect(Math.abs(c.width - Wi * s)).toBeLessThan(Wi / Hi + 1);
        expect(c.top).toBeGreaterThanOrEqual(0);
        expect(c.left).toBeGreaterThanOrEqual(0);
        expect(c.top + c.height).toBeLessThanOrEqual(Hi);
        expect(c.left + c.width).toBeLessThanOrEqual(Wi);
      }
      if (v.affine) {
        expect(Math.abs(v.affine.angle)).toBeLessThanOrEqual(15);
        expect(Number.isInteger(v.affine.tx) && Number.isInteger(v.affine.ty)).toBe(true);
        expect(Math.abs(v.affine.tx)).toBeLessThanOrEqual(32);
        expect(Math.abs(v.affine.ty)).toBeLessThanOrEqual(21);
      }
      if (v.perspective) {
        const [dx, dy] = [Math.trunc(0.4 * 160), Math.trunc(0.4 * 106)];
        const [tl, tr, br, bl] = v.perspective;
        const inRange = (p: readonly number[], x0: number, x1: number, y0: number, y1: number) =>
          Number.isInteger(p[0]) && Number.isInteger(p[1]) && p[0] >= x0 && p[0] <= x1 && p[1] >= y0 && p[1] <= y1;
        expect(inRange(tl, 0, dx, 0, dy)).toBe(true);
        expect(inRange(tr, wv - dx - 1, wv - 1, 0, dy)).toBe(true);
        expect(inRange(br, wv - dx - 1, wv - 1, hv - dy - 1, hv - 1)).toBe(true);
        expect(inRange(bl, 0, dx, hv - dy - 1, hv - 1)).toBe(true);
      }
      if (v.jitter) {
        expect([...v.jitter.order].sort()).toEqual([...JITTER_KINDS].sort());
        firstKind.set(v.jitter.order[0], (firstKind.get(v.jitter.order[0]) ?? 0) + 1);
        for (const f of [v.jitter.brightness, v.jitter.contrast, v.jitter.saturation]) {
          expect(f).toBeGreaterThanOrEqual(0.9);
          expect(f).toBeLessThanOrEqual(1.1);
        }
        expect(Math.abs(v.jitter.hue)).toBeLessThanOrEqual(0.1);
      }
    }
    const tol = 0.025;
    expect(Math.abs(freq((v) => v.flip) - 0.5)).toBeLessThan(tol);
    expect(Math.abs(freq((v) => !!v.affine) - 0.8)).toBeLessThan(tol);
    expect(Math.abs(freq((v) => !!v.perspective) - 0.5)).toBeLessThan(tol);
    expect(Math.abs(freq((v) => !!v.jitter) - 0.7)).toBeLessThan(tol);
    expect(Math.abs(freq((v) => v.grayscale) - 0.15)).toBeLessThan(tol);
    const nJ = views.filter((v) => v.jitter).length;
    for (const k of JITTER_KINDS) expect(Math.abs(firstKind.get(k)! / nJ - 0.25)).toBeLessThan(0.03);
    // The extremes are reached: angles near ±15°, translations at ±32 / ±21, crop scales near 0.6 and 1.
    const angles = views.filter((v) => v.affine).map((v) => v.affine!.angle);
    expect(Math.min(...angles)).toBeLessThan(-14.9);
    expect(Math.max(...angles)).toBeGreaterThan(14.9);
    const txs = views.filter((v) => v.affine).map((v) => v.affine!.tx);
    expect([Math.min(...txs), Math.max(...txs)]).toEqual([-32, 32]);
    const heights = views.slice(1).map((v) => v.crop!.height);
    expect(Math.min(...heights)).toBeLessThan(Hi * 0.61);
    expect(Math.max(...heights)).toBeGreaterThan(Hi * 0.99);
  });

  it('rounds half to even like Python', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, -3.6].map(roundHalfEven)).toEqual([0, 2, 2, 0, -2, -2, 2, -4]);
  });
});

describe('clipViews', () => {
  it('matches the float64 torchvision pipeline; the gradient matches float64 finite differences', async () => {
    const e = await testEngine();
    const x = rand(3 * H * W, 900, 0, 1);
    const gy = rand(PARAMS.length * 3 * HV * WV, 901);
    const res = await forwardBackward(
      e,
      [1, 3, H, W],
      x,
      (t) => clipViews(t, PARAMS, MAX, 1, SIZE),
      () => gy,
    );
    expect(res.shape).toEqual([PARAMS.length, 3, HV, WV]);
    const ref = refViews(Float64Array.from(x), PARAMS, 1);
    const errY = maxAbsDiff(res.y, ref.data);
    const probes = [...rand(32, 902, 0, x.length)].map(Math.floor);
    const fd = fdAdjoint((v) => refViews(v, PARAMS, 1).data, Float64Array.from(x), gy, 1e-6, probes);
    const got = probes.map((i) => res.gx[i]);
    const want = probes.map((i) => fd[i]);
    const errG = maxAbsDiff(got, want) / maxAbs(want);
    console.log(
      `clipViews: forward max abs err ${errY.toExponential(2)} (normalized units), gradient vs f64 FD rel err ${errG.toExponential(2)}`,
    );
    expect(errY).toBeLessThan(2e-4);
    expect(errG).toBeLessThan(1e-3);
  });

  it('passes a finite-difference gradient check of the whole pipeline', async () => {
    const e = await testEngine();
    const x = rand(3 * H * W, 910, 0, 1);
    const r = await gradCheck(e, (t) => clipViews(t, PARAMS, MAX, 1, SIZE), [{ shape: [1, 3, H, W], data: x }], {
      eps: 1e-3,
      probes: 16,
    });
    console.log(`clipViews gradCheck worst rel. error ${r.worst.toExponential(2)}`);
    expect(r.worst).toBeLessThan(1e-2);
  });

  it('works with sampled parameters at the real view size and checks the size', async () => {
    const e = await testEngine();
    const params = sampleViewParams(new Rng(3), 4, 40, 60, { fill: 1 });
    const out = e.tidy(() => clipViews(e.fromArray([1, 3, 40, 60], rand(7200, 3, 0, 1)), params));
    expect(out.shape).toEqual([4, 3, 213, 320]);
    const v = await out.read();
    expect(v.every(Number.isFinite)).toBe(true);
    out.release();
    e.tidy(() => {
      const t = e.fromArray([1, 3, 40, 60], rand(7200, 3, 0, 1));
      expect(() => clipViews(t, params, 380)).toThrow(EngineError);
    });
  });

  it('resizeForStructure = Resize(224, max_size=380) + normalize', async () => {
    const e = await testEngine();
    const x = rand(3 * H * W, 920, 0, 1);
    const y = await e.tidy(() => resizeForStructure(e.fromArray([1, 3, H, W], x), SIZE, 30)).read();
    // 20×28 → short 16, long int(16·28/20) = 22 ≤ 30.
    const ref = refNormalize(
      refCropResize(img([1, 3, H, W], x), [{ src: 0, top: 0, left: 0, height: H, width: W }], 16, 22).y,
      CLIP_MEAN,
      CLIP_STD,
    );
    expect(maxAbsDiff(y, ref.data)).toBeLessThan(1e-5);
    const big = e.tidy(() => resizeForStructure(e.fromArray([1, 3, 32, 48], rand(4608, 5, 0, 1))));
    expect(big.shape).toEqual([1, 3, 224, 336]);
    big.release();
  });
});
