import { describe, expect, it } from 'vitest';
import { adjoint, img, refCropResize, type RefBox } from '../../test/augmentRef';
import { gradCheck, maxAbs, maxAbsDiff, rand, testEngine } from '../../test/gpu';
import { forwardBackward } from '../../test/opRun';
import { EngineError } from '../gpu/errors';
import { crop, cropResize, resizeBilinear, resizeShortSide } from './resize';

describe('resizeShortSide (torchvision Resize(size, max_size))', () => {
  it('reproduces the spec examples', () => {
    expect(resizeShortSide(512, 512, 224, 320)).toEqual([224, 224]);
    expect(resizeShortSide(512, 768, 224, 320)).toEqual([213, 320]);
    expect(resizeShortSide(512, 768, 224, 380)).toEqual([224, 336]);
    expect(resizeShortSide(432, 768, 224, 320)).toEqual([180, 320]);
    // Portrait: the same rule on the other axis.
    expect(resizeShortSide(768, 512, 224, 320)).toEqual([320, 213]);
    expect(resizeShortSide(300, 400, 224)).toEqual([224, 298]);
    expect(() => resizeShortSide(10, 10, 224, 224)).toThrow(EngineError);
  });
});

describe('cropResize / resizeBilinear', () => {
  const cases: Array<{ shape: [number, number, number, number]; boxes: RefBox[]; out: [number, number] }> = [
    // downsample, non-integer ratios
    { shape: [1, 3, 20, 28], boxes: [{ src: 0, top: 0, left: 0, height: 20, width: 28 }], out: [7, 9] },
    // upsample by large factors
    { shape: [1, 2, 3, 4], boxes: [{ src: 0, top: 0, left: 0, height: 3, width: 4 }], out: [13, 17] },
    // mixed: up on one axis, down on the other; identity size
    {
      shape: [2, 3, 9, 11],
      boxes: [
        { src: 0, top: 0, left: 0, height: 9, width: 11 },
        { src: 1, top: 0, left: 0, height: 9, width: 11 },
      ],
      out: [9, 11],
    },
    { shape: [1, 1, 6, 12], boxes: [{ src: 0, top: 0, left: 0, height: 6, width: 12 }], out: [10, 5] },
    // several crops of two images, each resized to one size (overlapping boxes, shared pixels)
    {
      shape: [2, 3, 20, 28],
      boxes: [
        { src: 0, top: 0, left: 0, height: 20, width: 28 },
        { src: 0, top: 3, left: 5, height: 12, width: 16 },
        { src: 1, top: 8, left: 1, height: 12, width: 27 },
        { src: 0, top: 4, left: 6, height: 15, width: 21 },
        { src: 1, top: 19, left: 27, height: 1, width: 1 },
      ],
      out: [11, 15],
    },
  ];

  it('matches PyTorch bilinear (align_corners=False, no antialias) forward and its exact adjoint', async () => {
    const e = await testEngine();
    for (const [k, c] of cases.entries()) {
      const size = c.shape.reduce((a, b) => a * b);
      const x = rand(size, 100 + k, 0, 1);
      const ref = refCropResize(img(c.shape, x), c.boxes, c.out[0], c.out[1]);
      const gyData = rand(ref.y.data.length, 200 + k);
      const allFull = c.boxes.every((b, i) => b.src === i && b.height === c.shape[2] && b.width === c.shape[3]);
      const res = await forwardBackward(
        e,
        c.shape,
        x,
        (t) =>
          allFull && c.boxes.length === c.shape[0] ? resizeBilinear(t, ...c.out) : cropResize(t, c.boxes, ...c.out),
        () => gyData,
      );
      expect(res.shape).toEqual([c.boxes.length, c.shape[1], ...c.out]);
      expect(maxAbsDiff(res.y, ref.y.data)).toBeLessThan(2e-6);
      const gx = adjoint(ref.taps, gyData, size);
      expect(maxAbsDiff(res.gx, gx) / maxAbs(gx)).toBeLessThan(1e-5);
    }
  });

  it('is an exact copy at the same size', async () => {
    const e = await testEngine();
    const x = rand(2 * 3 * 5 * 7, 7);
    const y = await e.tidy(() => resizeBilinear(e.fromArray([2, 3, 5, 7], x), 5, 7)).read();
    expect(maxAbsDiff(y, x)).toBe(0);
  });

  it('passes finite-difference gradient checks', async () => {
    const e = await testEngine();
    const boxes = [
      { top: 0, left: 0, height: 9, width: 13 },
      { top: 2, left: 3, height: 6, width: 7 },
    ];
    const r1 = await gradCheck(
      e,
      (x) => cropResize(x, boxes, 5, 17),
      [{ shape: [1, 3, 9, 13], data: rand(351, 5, 0, 1) }],
      {
        eps: 1e-2,
      },
    );
    const r2 = await gradCheck(e, (x) => resizeBilinear(x, 13, 4), [{ shape: [1, 2, 5, 9], data: rand(90, 6, 0, 1) }]);
    console.log(
      `resize gradCheck worst rel. error: crops ${r1.worst.toExponential(2)}, resize ${r2.worst.toExponential(2)}`,
    );
    expect(r1.worst).toBeLessThan(1e-2);
    expect(r2.worst).toBeLessThan(1e-2);
  });

  it('crop is a slice; bad boxes throw', async () => {
    const e = await testEngine();
    const x = rand(1 * 1 * 4 * 5, 8);
    const y = await e.tidy(() => crop(e.fromArray([1, 1, 4, 5], x), 1, 2, 2, 3)).read();
    expect([...y]).toEqual([x[7], x[8], x[9], x[12], x[13], x[14]]);
    e.tidy(() => {
      const t = e.fromArray([1, 1, 4, 5], x);
      expect(() => cropResize(t, [{ top: 3, left: 0, height: 2, width: 5 }], 2, 2)).toThrow(EngineError);
      expect(() => cropResize(t, [{ src: 1, top: 0, left: 0, height: 2, width: 5 }], 2, 2)).toThrow(EngineError);
      expect(() => resizeBilinear(t, 0, 2)).toThrow(EngineError);
    });
  });
});
