import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../nn/rng';
import { DEFAULT_EDIT_CONFIG, validateConfig, type EditConfig } from './config';
import { InternalDataset } from './dataset';
import { createImage, cropImage, flipHorizontal, resizeAntialiased, toTensorData, type RgbaImage } from './image';
import { readImageFile } from './imageIO.node';

const PHOTO = fileURLToPath(new URL('../../../shared/data/images/dog-on-bench.png', import.meta.url));
const CFG: EditConfig = { ...DEFAULT_EDIT_CONFIG };

/** Byte equality of two typed arrays (vitest's deep equality is far too slow for image-sized arrays). */
function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function noise(width: number, height: number, seed: number): RgbaImage {
  const rng = new Rng(seed);
  const img = createImage(width, height);
  for (let i = 0; i < img.data.length; i++) img.data[i] = i % 4 === 3 ? 255 : rng.int(0, 255);
  return img;
}

let photo: RgbaImage;
beforeAll(async () => {
  photo = await readImageFile(PHOTO);
});

describe('InternalDataset (spec §A.3)', () => {
  it('counts steps from 0 and carries the full image at steps 0, 75, 150', () => {
    const src = noise(200, 160, 1);
    const ds = new InternalDataset(src, CFG, new Rng(5), { skipTensor: true });
    expect(ds.step).toBe(-1);
    const full: number[] = [];
    for (let i = 0; i < 160; i++) {
      const s = ds.next();
      expect(s.step).toBe(i);
      if (s.fullImage) full.push(s.step);
    }
    expect(full).toEqual([0, 75, 150]);
    expect(ds.step).toBe(159);
    expect(sameBytes(ds.fullImageTensor, toTensorData(src))).toBe(true);
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const run = (seed: number) => {
      const ds = new InternalDataset(photo, CFG, new Rng(seed));
      return Array.from({ length: 8 }, () => ds.next());
    };
    const a = run(42);
    const b = run(42);
    const c = run(43);
    for (let i = 0; i < a.length; i++) {
      expect(b[i].aug).toEqual(a[i].aug);
      expect(sameBytes(b[i].crop.data, a[i].crop.data)).toBe(true);
      expect(sameBytes(b[i].cropTensor, a[i].cropTensor)).toBe(true);
    }
    expect(c.map((s) => s.aug.scale)).not.toEqual(a.map((s) => s.aug.scale));
  });

  it('crop sizes, offsets and probabilities stay in the spec ranges (512 input)', () => {
    const ds = new InternalDataset(photo, CFG, new Rng(7), { skipTensor: true });
    const n = 120;
    let flips = 0;
    let jitters = 0;
    let area = 0;
    let minSide = Infinity;
    let maxSide = 0;
    for (let i = 0; i < n; i++) {
      const { crop, aug } = ds.next();
      const { resized, scale } = aug;
      expect(scale >= 0.8 && scale < 1.2).toBe(true);
      expect(resized).toEqual({ width: Math.trunc(512 * scale), height: Math.trunc(512 * scale) });
      const cover = crop.height / resized.height;
      expect(cover).toBeGreaterThanOrEqual(0.85 - 1 / resized.height);
      expect(cover).toBeLessThanOrEqual(1);
      expect(crop.width).toBe(crop.height); // aspect of the (square) source
      expect(aug.crop.x + crop.width).toBeLessThanOrEqual(resized.width);
      expect(aug.crop.y + crop.height).toBeLessThanOrEqual(resized.height);
      expect(aug.clamped).toBe(false);
      minSide = Math.min(minSide, crop.height);
      maxSide = Math.max(maxSide, crop.height);
      area += (crop.width * crop.height) / (512 * 512);
      if (aug.flip) flips++;
      if (aug.jitter) jitters++;
    }
    // Short side range for a 512 input: [int(int(512·0.8)·0.85), int(512·1.2)] = [347, 614].
    expect(minSide).toBeGreaterThanOrEqual(347);
    expect(maxSide).toBeLessThanOrEqual(614);
    expect(maxSide - minSide).toBeGreaterThan(150);
    expect(area / n).toBeGreaterThan(0.869 - 0.05);
    expect(area / n).toBeLessThan(0.869 + 0.05);
    expect(flips / n).toBeGreaterThan(0.35);
    expect(flips / n).toBeLessThan(0.65);
    expect(jitters / n).toBeLessThan(0.22);
  });

  it('a crop is exactly flip → PIL-bilinear rescale → crop of the source (no jitter)', () => {
    const ds = new InternalDataset(photo, { ...CFG, jitterP: 0 }, new Rng(9));
    for (let i = 0; i < 4; i++) {
      const s = ds.next();
      const { flip, resized, crop } = s.aug;
      const base = flip ? flipHorizontal(photo) : photo;
      const want = cropImage(
        resizeAntialiased(base, resized.width, resized.height),
        crop.x,
        crop.y,
        crop.width,
        crop.height,
      );
      expect(sameBytes(s.crop.data, want.data)).toBe(true);
      expect(sameBytes(s.cropTensor, toTensorData(want))).toBe(true);
    }
  });

  it('keeps the aspect of a non-square source; cover 1 means no crop', () => {
    const src = noise(300, 200, 2);
    const ds = new InternalDataset(src, CFG, new Rng(3), { skipTensor: true });
    for (let i = 0; i < 30; i++) {
      const { crop } = ds.next();
      expect(Math.abs(crop.width / crop.height - 1.5)).toBeLessThan(0.02);
    }
    const whole = new InternalDataset(src, { ...CFG, cropsMinCover: 1, flipP: 0, jitterP: 0 }, new Rng(3));
    const s = whole.next();
    expect([s.crop.width, s.crop.height]).toEqual([s.aug.resized.width, s.aug.resized.height]);
  });

  it("holds crops to the generator's minimum side, with a note in the sample", () => {
    const src = noise(140, 150, 4);
    const ds = new InternalDataset(src, CFG, new Rng(1), { minSide: 129, skipTensor: true });
    let clamped = 0;
    for (let i = 0; i < 40; i++) {
      const { crop, aug } = ds.next();
      expect(Math.min(crop.width, crop.height)).toBeGreaterThanOrEqual(129);
      if (aug.clamped) clamped++;
    }
    expect(clamped).toBeGreaterThan(0);
    // Default minimum: minInputSide of the config's generator (2^7 + 1).
    expect(new InternalDataset(noise(200, 200, 1), CFG, new Rng(1)).minSide).toBe(129);
    const small = validateConfig({ numScales: 3 });
    expect(new InternalDataset(noise(20, 20, 1), small, new Rng(1)).minSide).toBe(9);
    expect(() => new InternalDataset(noise(100, 300, 1), CFG, new Rng(1))).toThrow(/minimum of 129/);
  });

  it('centre-crops to multiples of dDivisibleCrops', () => {
    const cfg = validateConfig({ dDivisibleCrops: 8 });
    const ds = new InternalDataset(noise(203, 301, 6), cfg, new Rng(2), { skipTensor: true });
    expect([ds.fullImageRgba.width, ds.fullImageRgba.height]).toEqual([200, 296]);
    for (let i = 0; i < 10; i++) {
      const { crop } = ds.next();
      expect(crop.width % 8).toBe(0);
      expect(crop.height % 8).toBe(0);
    }
  });

  it('restores its step counter', () => {
    const ds = new InternalDataset(noise(200, 200, 1), CFG, new Rng(1), { skipTensor: true });
    ds.step = 74;
    const s = ds.next();
    expect(s.step).toBe(75);
    expect(s.fullImage).toBeDefined();
    expect(() => {
      ds.step = -2;
    }).toThrow(RangeError);
  });
});
