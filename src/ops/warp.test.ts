import { describe, expect, it } from 'vitest';
import {
  adjoint,
  composeTaps,
  img,
  refAffine,
  refFlip,
  refPerspective,
  refPerspectiveCoeffs,
} from '../../test/augmentRef';
import { gradCheck, maxAbs, maxAbsDiff, rand, testEngine } from '../../test/gpu';
import { forwardBackward } from '../../test/opRun';
import { EngineError } from '../gpu/errors';
import {
  affineMatrix,
  IDENTITY3,
  invert3,
  mul3,
  perspectiveMatrix,
  perspectiveStartPoints,
  warpAffine,
  warpHomography,
  warpPerspective,
  type AffineParams,
  type PerspectiveCorners,
} from './warp';

const N = 4;
const SHAPE: [number, number, number, number] = [N, 3, 14, 19];
const SIZE = SHAPE.reduce((a, b) => a * b);

const AFFINES: Array<AffineParams | null> = [
  { angle: 12.5, tx: 2, ty: -1 },
  null,
  { angle: -14.2, tx: -2, ty: 1 },
  { angle: 3.7, tx: 0, ty: 0 },
];
const FLIPS = [true, true, false, false];

/** Corners drawn as torchvision would for a 19×14 view (dx = int(0.4·9) = 3, dy = int(0.4·7) = 2). */
const CORNERS: Array<PerspectiveCorners | null> = [
  [
    [2, 1],
    [16, 0],
    [17, 12],
    [3, 13],
  ],
  [
    [0, 0],
    [18, 2],
    [15, 11],
    [1, 12],
  ],
  null,
  [
    [3, 2],
    [15, 1],
    [18, 13],
    [0, 11],
  ],
];

describe('warp matrices', () => {
  it('perspectiveMatrix maps the endpoints onto the startpoints and agrees with an independent solve', () => {
    const start = perspectiveStartPoints(19, 14);
    const end = CORNERS[0]!;
    const m = perspectiveMatrix(start, end);
    const ref = refPerspectiveCoeffs(
      start.map((p) => [...p]),
      end.map((p) => [...p]),
    );
    expect(maxAbsDiff(m.slice(0, 8), ref)).toBeLessThan(1e-12);
    end.forEach(([x, y], k) => {
      const den = m[6] * x + m[7] * y + m[8];
      expect((m[0] * x + m[1] * y + m[2]) / den).toBeCloseTo(start[k][0], 10);
      expect((m[3] * x + m[4] * y + m[5]) / den).toBeCloseTo(start[k][1], 10);
    });
    expect(maxAbsDiff(mul3(m, invert3(m)), IDENTITY3)).toBeLessThan(1e-12);
  });

  it('affineMatrix rotates about the image centre (the centre maps to centre − R·t)', () => {
    const m = affineMatrix(90, 0, 0, 10, 6);
    // centre (5, 3) is fixed; a point one pixel to the right of the centre samples one pixel above it.
    expect(m[0] * 5 + m[1] * 3 + m[2]).toBeCloseTo(5, 12);
    expect(m[3] * 5 + m[4] * 3 + m[5]).toBeCloseTo(3, 12);
    expect(m[0] * 6 + m[1] * 3 + m[2]).toBeCloseTo(5, 12);
    expect(m[3] * 6 + m[4] * 3 + m[5]).toBeCloseTo(2, 12);
  });
});

describe('warpAffine / warpPerspective (grid_sample bilinear, zeros, align_corners=False, mask/fill)', () => {
  it('affine (with folded flips) matches torchvision flip → affine, forward and exact adjoint', async () => {
    const e = await testEngine();
    for (const fill of [1, 0]) {
      const x = rand(SIZE, 31 + fill, 0, 1);
      const flipped = refFlip(img(SHAPE, x), FLIPS);
      const aff = refAffine(flipped.y, AFFINES, fill);
      const taps = composeTaps(flipped.taps, aff.taps);
      const gy = rand(SIZE, 41 + fill);
      const res = await forwardBackward(
        e,
        SHAPE,
        x,
        (t) => warpAffine(t, AFFINES, fill, FLIPS),
        () => gy,
      );
      const errY = maxAbsDiff(res.y, aff.y.data);
      const gx = adjoint(taps, gy, SIZE);
      const errG = maxAbsDiff(res.gx, gx) / maxAbs(gx);
      console.log(
        `affine fill=${fill}: forward max abs err ${errY.toExponential(2)}, adjoint rel err ${errG.toExponential(2)}`,
      );
      expect(errY).toBeLessThan(5e-5);
      expect(errG).toBeLessThan(5e-5);
      // The un-warped, un-flipped image is copied exactly.
      const per = SIZE / N;
      expect(maxAbsDiff(res.y.slice(per, 2 * per), flipped.y.data.slice(per, 2 * per))).toBe(0);
    }
  });

  it('perspective matches torchvision, forward and exact adjoint', async () => {
    const e = await testEngine();
    const fill = 1;
    const x = rand(SIZE, 51, 0, 1);
    const ref = refPerspective(
      img(SHAPE, x),
      CORNERS.map((c) => (c ? c.map((p) => [...p]) : null)),
      fill,
    );
    const gy = rand(SIZE, 52);
    const res = await forwardBackward(
      e,
      SHAPE,
      x,
      (t) => warpPerspective(t, CORNERS, fill),
      () => gy,
    );
    const errY = maxAbsDiff(res.y, ref.y.data);
    const gx = adjoint(ref.taps, gy, SIZE);
    const errG = maxAbsDiff(res.gx, gx) / maxAbs(gx);
    console.log(`perspective: forward max abs err ${errY.toExponential(2)}, adjoint rel err ${errG.toExponential(2)}`);
    expect(errY).toBeLessThan(5e-5);
    expect(errG).toBeLessThan(5e-5);
  });

  it('general homographies, including one that needs the full-scan fallback, have the exact adjoint', async () => {
    const e = await testEngine();
    const shape = [2, 2, 9, 12];
    const size = 2 * 2 * 9 * 12;
    // Image 0: strong scaling (each output reads a wide footprint); image 1: a homography whose inverse
    // has a negative denominator over part of the image (the kernel then scans every output).
    const mats = [
      [2.3, 0.4, -3, -0.3, 1.7, 1, 0, 0, 1],
      [1, 0.1, 0, 0.05, 1, 0, 0.08, -0.02, 0.6],
    ];
    const x = rand(size, 61, 0, 1);
    const gy = rand(size, 62);
    const res = await forwardBackward(
      e,
      shape,
      x,
      (t) => warpHomography(t, mats, 0.25),
      () => gy,
    );
    // CPU reference in index coordinates, straight from the definition.
    const [, c, h, w] = shape;
    const y = new Float64Array(size);
    const gx = new Float64Array(size);
    for (let n = 0; n < 2; n++) {
      const m = mats[n];
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < w; j++) {
          const [u, v] = [j + 0.5, i + 0.5];
          const den = m[6] * u + m[7] * v + m[8];
          const sx = den > 0 ? (m[0] * u + m[1] * v + m[2]) / den - 0.5 : -1e7;
          const sy = den > 0 ? (m[3] * u + m[4] * v + m[5]) / den - 0.5 : -1e7;
          const x0 = Math.floor(sx);
          const y0 = Math.floor(sy);
          const taps: Array<[number, number, number]> = [];
          for (const [r, wy] of [
            [y0, y0 + 1 - sy],
            [y0 + 1, sy - y0],
          ]) {
            for (const [q, wx] of [
              [x0, x0 + 1 - sx],
              [x0 + 1, sx - x0],
            ]) {
              if (r >= 0 && r < h && q >= 0 && q < w) taps.push([r, q, wy * wx]);
            }
          }
          const mask = taps.reduce((s, t) => s + t[2], 0);
          for (let ch = 0; ch < c; ch++) {
            const o = ((n * c + ch) * h + i) * w + j;
            let val = 0;
            for (const [r, q, wt] of taps) {
              const src = ((n * c + ch) * h + r) * w + q;
              val += wt * x[src];
              gx[src] += wt * mask * gy[o];
            }
            y[o] = val * mask + (1 - mask) * 0.25;
          }
        }
      }
    }
    expect(maxAbsDiff(res.y, y)).toBeLessThan(5e-5);
    expect(maxAbsDiff(res.gx, gx) / maxAbs(gx)).toBeLessThan(5e-5);
  });

  it('passes finite-difference gradient checks', async () => {
    const e = await testEngine();
    const shape = [N, 3, 7, 9];
    const small: Array<PerspectiveCorners | null> = [
      [
        [1, 0],
        [8, 1],
        [7, 6],
        [0, 5],
      ],
      null,
      [
        [0, 1],
        [7, 0],
        [8, 5],
        [1, 6],
      ],
      [
        [1, 1],
        [8, 0],
        [8, 6],
        [0, 5],
      ],
    ];
    const data = rand(N * 3 * 63, 71, 0, 1);
    const r1 = await gradCheck(e, (t) => warpAffine(t, AFFINES, 1, FLIPS), [{ shape, data }]);
    const r2 = await gradCheck(e, (t) => warpPerspective(t, small, 0), [{ shape, data }]);
    console.log(
      `warp gradCheck worst rel. error: affine ${r1.worst.toExponential(2)}, perspective ${r2.worst.toExponential(2)}`,
    );
    expect(r1.worst).toBeLessThan(1e-2);
    expect(r2.worst).toBeLessThan(1e-2);
  });

  it('rejects bad arguments', async () => {
    const e = await testEngine();
    e.tidy(() => {
      const t = e.fromArray([2, 1, 3, 3], rand(18, 1));
      expect(() => warpHomography(t, [IDENTITY3], 0)).toThrow(EngineError);
      expect(() => warpHomography(t, [IDENTITY3, [1, 2, 3]], 0)).toThrow(EngineError);
      expect(() => warpHomography(t, [IDENTITY3, IDENTITY3], NaN)).toThrow(EngineError);
    });
  });
});
