import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../nn/rng';
import {
  adjustBrightness8bit,
  adjustContrast8bit,
  adjustHue8bit,
  adjustSaturation8bit,
  applyColorJitter8bit,
  colorJitter8bit,
  createImage,
  cropCentreDivisible,
  cropImage,
  flipHorizontal,
  fromTensorData,
  hsvToRgb8,
  resizeAntialiased,
  resizeShortSide,
  resizeShortSideDims,
  rgbToHsv8,
  sampleColorJitter,
  toTensorData,
  type RgbaImage,
} from './image';
import { readImageFile } from './imageIO.node';

const PHOTO = fileURLToPath(new URL('../../../shared/data/images/dog-on-bench.png', import.meta.url));

/** An image from per-pixel RGB (alpha 255). */
function makeImage(width: number, height: number, f: (x: number, y: number) => [number, number, number]): RgbaImage {
  const img = createImage(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) img.data.set([...f(x, y), 255], (y * width + x) * 4);
  }
  return img;
}

function channel(img: RgbaImage, c: number): number[][] {
  const rows: number[][] = [];
  for (let y = 0; y < img.height; y++) {
    const row: number[] = [];
    for (let x = 0; x < img.width; x++) row.push(img.data[(y * img.width + x) * 4 + c]);
    rows.push(row);
  }
  return rows;
}

/** sha256 (first 16 hex digits) of the RGB bytes, the way the Pillow reference values were hashed. */
function rgbHash(img: RgbaImage): string {
  const n = img.width * img.height;
  const rgb = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    rgb[i * 3] = img.data[i * 4];
    rgb[i * 3 + 1] = img.data[i * 4 + 1];
    rgb[i * 3 + 2] = img.data[i * 4 + 2];
  }
  return createHash('sha256').update(rgb).digest('hex').slice(0, 16);
}

/*
 * Reference values below were produced once with Pillow 9.4.0 (Debian bookworm python3-pil), e.g.
 *   h = lambda im: hashlib.sha256(np.asarray(im.convert('RGB')).tobytes()).hexdigest()[:16]
 *   src = Image.open('dog-on-bench.png').convert('RGB'); h(src.resize((256, 256), Image.BILINEAR))
 *   ImageEnhance.Brightness/Contrast/Color(src).enhance(f); torchvision's PIL adjust_hue:
 *   h, s, v = img.convert('HSV').split(); h = np.array(h) + np.uint8(f * 255); merge, convert('RGB')
 */
const PIL_DECODE = 'cf438c0433f3a0ca';
const PIL_RESIZE: Array<[number, number, string]> = [
  [256, 256, 'e51a55ad29f1a6ed'],
  [341, 341, 'e874f771bd0b3718'],
  [300, 200, '53766a2cf625426d'],
  [600, 600, 'a7a0672538bcd029'],
  [409, 614, 'd5d3d3e000bff2ca'],
  [512, 345, 'd5200ecba8c0178a'],
];
const PIL_JITTER: Array<['b' | 'c' | 's' | 'h', number, string]> = [
  ['b', 1.07, '6694a502c6596aee'],
  ['b', 0.93, '224ef0b96dad9c02'],
  ['c', 1.09, 'bf4e1dca566c86d2'],
  ['c', 0.91, '80e9074d29fa43ca'],
  ['s', 1.08, '349ca71f915c8f4e'],
  ['s', 0.92, 'b314bb8030465c16'],
  ['h', 0.04, 'bc82c4cf23d5783a'],
  ['h', -0.06, '8e008e3351861c45'],
  ['h', 0.1, 'a76e1f4d5e0a10e9'],
  ['h', -0.1, 'ba26dd197b11d8d4'],
];

describe('resizeAntialiased (PIL BILINEAR)', () => {
  it('hand-derived 4→2 and 4→3 rows', () => {
    // 4→2: scale 2, support 2. Output 0: centre 1.0, taps x = 0,1,2 with tent((x+0.5−1)/2) = .75,.75,.25
    // → (0·.75 + 100·.75 + 200·.25)/1.75 = 71.43 → 71. Output 1: centre 3.0, taps 1,2,3 (4 clipped):
    // .25,.75,.75 → (25 + 150 + 37.5)/1.75 = 121.43 → 121.
    // 4→3: scale 4/3, support 4/3, taps [int(c − 4/3 + .5), int(c + 4/3 + .5)) clipped to the row, weights
    // tent((x + 0.5 − c)·3/4). Output 0: c = 2/3, taps 0,1: .875,.375 → 37.5/1.25 = 30. Output 1: c = 2,
    // taps 1,2: .625,.625 → 150. Output 2: c = 10/3, taps 2,3: .375,.875 → (75 + 43.75)/1.25 = 95.
    const row = makeImage(4, 1, (x) => {
      const v = [0, 100, 200, 50][x];
      return [v, v, v];
    });
    expect(channel(resizeAntialiased(row, 2, 1), 0)).toEqual([[71, 121]]);
    const three = channel(resizeAntialiased(row, 3, 1), 0)[0];
    expect(three).toEqual([30, 150, 95]);
  });

  it('matches Pillow 9.4 on a tiny 7×3 image (down, up, mixed)', () => {
    const vals = [10, 200, 30, 255, 0, 90, 120];
    const img = makeImage(7, 3, (x, y) => [vals[x], (vals[x] + 40 * y) % 256, (x * 37 + y * 11) % 256]);
    const r32 = resizeAntialiased(img, 3, 2);
    expect(channel(r32, 0)).toEqual([
      [96, 129, 81],
      [96, 129, 81],
    ]);
    expect(channel(r32, 1)).toEqual([
      [111, 105, 96],
      [92, 80, 146],
    ]);
    expect(channel(r32, 2)).toEqual([
      [36, 115, 194],
      [50, 129, 208],
    ]);
    const r21 = resizeAntialiased(img, 2, 1);
    expect([channel(r21, 0), channel(r21, 1), channel(r21, 2)]).toEqual([[[112, 96]], [[100, 106]], [[70, 174]]]);
    const r104 = resizeAntialiased(img, 10, 4);
    expect(channel(r104, 1)).toEqual([
      [10, 114, 158, 38, 176, 166, 4, 68, 104, 120],
      [35, 139, 183, 63, 97, 87, 29, 93, 129, 145],
      [65, 117, 141, 89, 65, 54, 59, 123, 159, 175],
      [90, 54, 46, 106, 90, 79, 84, 148, 184, 200],
    ]);
    expect(channel(r104, 2)[3]).toEqual([22, 42, 68, 94, 120, 146, 172, 198, 224, 244]);
    const r53 = resizeAntialiased(img, 5, 3);
    expect(channel(r53, 1)).toEqual([
      [73, 106, 168, 40, 110],
      [113, 146, 45, 80, 150],
      [68, 72, 85, 120, 190],
    ]);
  });

  it('keeps a constant image constant at any size', () => {
    const img = makeImage(37, 23, () => [7, 128, 250]);
    img.data.fill(255, 3, 4);
    for (const [w, h] of [
      [1, 1],
      [5, 3],
      [18, 11],
      [36, 23],
      [37, 40],
      [100, 61],
    ]) {
      const r = resizeAntialiased(img, w, h);
      let bad = 0;
      for (let i = 0; i < w * h; i++) {
        const d = r.data;
        if (d[i * 4] !== 7 || d[i * 4 + 1] !== 128 || d[i * 4 + 2] !== 250 || d[i * 4 + 3] !== 255) bad++;
      }
      expect(bad, `${w}×${h}`).toBe(0);
    }
  });

  it('upscaling equals plain bilinear with half-pixel centres and clamped borders (±1)', () => {
    const rng = new Rng(3);
    const img = makeImage(9, 7, () => [rng.int(0, 255), rng.int(0, 255), rng.int(0, 255)]);
    const W = 23;
    const H = 16;
    const r = resizeAntialiased(img, W, H);
    const at = (x: number, y: number, c: number) => img.data[(y * img.width + x) * 4 + c];
    let worst = 0;
    for (let y = 0; y < H; y++) {
      const sy = Math.max(0, ((y + 0.5) * img.height) / H - 0.5);
      const y0 = Math.min(Math.floor(sy), img.height - 1);
      const y1 = Math.min(y0 + 1, img.height - 1);
      const fy = sy - Math.floor(sy);
      for (let x = 0; x < W; x++) {
        const sx = Math.max(0, ((x + 0.5) * img.width) / W - 0.5);
        const x0 = Math.min(Math.floor(sx), img.width - 1);
        const x1 = Math.min(x0 + 1, img.width - 1);
        const fx = sx - Math.floor(sx);
        for (let c = 0; c < 3; c++) {
          const top = at(x0, y0, c) * (1 - fx) + at(x1, y0, c) * fx;
          const bot = at(x0, y1, c) * (1 - fx) + at(x1, y1, c) * fx;
          const want = top * (1 - fy) + bot * fy;
          worst = Math.max(worst, Math.abs(r.data[(y * W + x) * 4 + c] - want));
        }
      }
    }
    expect(worst).toBeLessThanOrEqual(1);
  });

  it('same size returns an equal copy; invalid sizes throw', () => {
    const img = makeImage(3, 2, (x, y) => [x, y, 9]);
    const r = resizeAntialiased(img, 3, 2);
    expect(r).not.toBe(img);
    expect(r.data).toEqual(img.data);
    expect(() => resizeAntialiased(img, 0, 2)).toThrow(RangeError);
    expect(() => resizeAntialiased(img, 2.5, 2)).toThrow(RangeError);
  });
});

describe('on a real photo', () => {
  let photo: RgbaImage;
  beforeAll(async () => {
    photo = await readImageFile(PHOTO);
  });

  it('decodes to the same pixels as Pillow', () => {
    expect([photo.width, photo.height]).toEqual([512, 512]);
    expect(rgbHash(photo)).toBe(PIL_DECODE);
  });

  it('resizes bit-exactly like Pillow 9.4 (down, up, anisotropic)', () => {
    for (const [w, h, want] of PIL_RESIZE) expect(rgbHash(resizeAntialiased(photo, w, h)), `${w}×${h}`).toBe(want);
  });

  it('half size: the 1-3-3-1 tent (±1), close to a 2×2 box average', () => {
    const half = resizeAntialiased(photo, 256, 256);
    // At exactly 2× PIL's bilinear is the separable tent [1,3,3,1]/8 over source pixels 2i−1..2i+2 (renormalised
    // at the borders), with an 8-bit rounding between the passes.
    const tap = (i: number, n: number) =>
      [2 * i - 1, 2 * i, 2 * i + 1, 2 * i + 2]
        .map((p, k) => [p, [1, 3, 3, 1][k]] as const)
        .filter(([p]) => p >= 0 && p < n);
    let worstTent = 0;
    let sumBoxDiff = 0;
    let sumHalf = 0;
    let sumBox = 0;
    for (let y = 0; y < 256; y++) {
      for (let x = 0; x < 256; x++) {
        for (let c = 0; c < 3; c++) {
          let acc = 0;
          let wsum = 0;
          for (const [py, wy] of tap(y, 512)) {
            for (const [px, wx] of tap(x, 512)) {
              acc += wy * wx * photo.data[(py * 512 + px) * 4 + c];
              wsum += wy * wx;
            }
          }
          const got = half.data[(y * 256 + x) * 4 + c];
          worstTent = Math.max(worstTent, Math.abs(got - acc / wsum));
          let box = 0;
          for (let dy = 0; dy < 2; dy++) {
            for (let dx = 0; dx < 2; dx++) box += photo.data[((2 * y + dy) * 512 + 2 * x + dx) * 4 + c];
          }
          box /= 4;
          sumBoxDiff += Math.abs(got - box);
          sumHalf += got;
          sumBox += box;
        }
      }
    }
    expect(worstTent).toBeLessThanOrEqual(1);
    const n = 256 * 256 * 3;
    // Per pixel the tent is wider than the box (edges differ by more than 1); on average they agree closely.
    expect(Math.abs(sumHalf / n - sumBox / n)).toBeLessThanOrEqual(1);
    expect(sumBoxDiff / n).toBeLessThan(4);
  });

  it('colour operations match Pillow 9.4 / torchvision PIL path bit-exactly', () => {
    const ops = { b: adjustBrightness8bit, c: adjustContrast8bit, s: adjustSaturation8bit, h: adjustHue8bit };
    for (const [k, f, want] of PIL_JITTER) expect(rgbHash(ops[k](photo, f)), `${k} ${f}`).toBe(want);
    // hue −0.03, saturation 1.05, brightness 0.95, contrast 1.02, in that order (torchvision fn_idx [3, 2, 0, 1]).
    const seq = applyColorJitter8bit(photo, {
      order: [3, 2, 0, 1],
      brightness: 0.95,
      contrast: 1.02,
      saturation: 1.05,
      hue: -0.03,
    });
    expect(rgbHash(seq)).toBe('953ab10de03ccfb9');
  });

  it('resizeShortSide to 512 is a no-op here and halves at 256', () => {
    expect(rgbHash(resizeShortSide(photo, 512))).toBe(PIL_DECODE);
    expect(rgbHash(resizeShortSide(photo, 256))).toBe(PIL_RESIZE[0][2]);
  });
});

describe('RGB ↔ HSV (Pillow Convert.c)', () => {
  it('matches Pillow on single colours', () => {
    const cases: Array<[[number, number, number], [number, number, number], [number, number, number]]> = [
      [
        [255, 0, 0],
        [0, 255, 255],
        [255, 0, 0],
      ],
      [
        [10, 200, 30],
        [89, 242, 200],
        [10, 200, 28],
      ],
      [
        [0, 0, 0],
        [0, 0, 0],
        [0, 0, 0],
      ],
      [
        [128, 64, 200],
        [190, 173, 200],
        [128, 64, 200],
      ],
      [
        [250, 250, 249],
        [42, 1, 250],
        [250, 250, 249],
      ],
      [
        [3, 1, 2],
        [233, 170, 3],
        [3, 1, 2],
      ],
    ];
    for (const [rgb, hsv, back] of cases) {
      const o = [0, 0, 0];
      rgbToHsv8(...rgb, o);
      expect(o, `${rgb}`).toEqual(hsv);
      hsvToRgb8(...hsv, o);
      expect(o, `${hsv}`).toEqual(back);
    }
  });

  it('matches Pillow on a 52³ colour grid (both directions)', () => {
    // Pillow: r, g, b over arange(0, 256, 5) (ij order), as a (52·52)×52 RGB image; convert('HSV'), and back.
    const vals = Array.from({ length: 52 }, (_, i) => i * 5);
    const n = 52 ** 3;
    const hsv = new Uint8Array(n * 3);
    const back = new Uint8Array(n * 3);
    let i = 0;
    for (const r of vals) {
      for (const g of vals) {
        for (const b of vals) {
          rgbToHsv8(r, g, b, hsv, i * 3);
          hsvToRgb8(hsv[i * 3], hsv[i * 3 + 1], hsv[i * 3 + 2], back, i * 3);
          i++;
        }
      }
    }
    expect(createHash('sha256').update(hsv).digest('hex').slice(0, 16)).toBe('b9fb60d6a1391b50');
    expect(createHash('sha256').update(back).digest('hex').slice(0, 16)).toBe('21bcc2fc1f5fb4dd');
  });
});

describe('colour jitter sampling', () => {
  it('draws a permutation and factors in the torchvision ranges, deterministically', () => {
    const ranges = { brightness: 0.1, contrast: 0.1, saturation: 0.1, hue: 0.1 };
    const a = new Rng(11);
    const b = new Rng(11);
    for (let k = 0; k < 200; k++) {
      const p = sampleColorJitter(ranges, a);
      expect(sampleColorJitter(ranges, b)).toEqual(p);
      expect([...p.order].sort()).toEqual([0, 1, 2, 3]);
      for (const f of [p.brightness!, p.contrast!, p.saturation!]) expect(f >= 0.9 && f < 1.1).toBe(true);
      expect(p.hue! >= -0.1 && p.hue! < 0.1).toBe(true);
    }
  });

  it('zero ranges are skipped (identity copy); alpha is kept', () => {
    const img = makeImage(4, 4, (x, y) => [x * 60, y * 60, 100]);
    img.data[3] = 7;
    const out = colorJitter8bit(img, { brightness: 0, contrast: 0, saturation: 0, hue: 0 }, new Rng(1));
    expect(out).not.toBe(img);
    expect(out.data).toEqual(img.data);
    expect(adjustHue8bit(img, 0.2).data[3]).toBe(7);
    expect(() => sampleColorJitter({ brightness: 0, contrast: 0, saturation: 0, hue: 0.6 }, new Rng(1))).toThrow();
  });
});

describe('geometry and tensors', () => {
  it('resizeShortSide dims follow torchvision Resize(int)', () => {
    expect(resizeShortSideDims(1000, 750, 512)).toEqual({ width: 682, height: 512 });
    expect(resizeShortSideDims(300, 400, 512)).toEqual({ width: 512, height: 682 });
    expect(resizeShortSideDims(768, 512, 512)).toEqual({ width: 768, height: 512 });
    expect(resizeShortSideDims(4032, 3024, 512)).toEqual({ width: 682, height: 512 });
    expect(resizeShortSideDims(640, 480, 0)).toEqual({ width: 640, height: 480 });
  });

  it('cropCentreDivisible uses half-to-even offsets, d = 1 is a copy', () => {
    const img = makeImage(10, 7, (x, y) => [x, y, 0]);
    const c = cropCentreDivisible(img, 4); // 8×4 at left = round(1) = 1, top = round(1.5) = 2
    expect([c.width, c.height, c.data[0], c.data[1]]).toEqual([8, 4, 1, 2]);
    const c2 = cropCentreDivisible(img, 2); // 10×6, top = round(0.5) = 0
    expect([c2.width, c2.height, c2.data[1]]).toEqual([10, 6, 0]);
    expect(cropCentreDivisible(img, 1).data).toEqual(img.data);
    expect(() => cropImage(img, 5, 0, 6, 1)).toThrow(RangeError);
  });

  it('flipHorizontal mirrors columns and is an involution', () => {
    const img = makeImage(5, 3, (x, y) => [x, y, x * y]);
    const f = flipHorizontal(img);
    expect(channel(f, 0)[1]).toEqual([4, 3, 2, 1, 0]);
    expect(flipHorizontal(f).data).toEqual(img.data);
  });

  it('toTensorData is [3,H,W] in [0,1]; fromTensorData inverts it', () => {
    const img = makeImage(3, 2, (x, y) => [255, x * 100, y * 51]);
    const t = toTensorData(img);
    expect(t.length).toBe(18);
    expect(t[0]).toBe(1);
    expect(t[6 + 2]).toBeCloseTo(200 / 255, 6);
    expect(t[12 + 3]).toBeCloseTo(51 / 255, 6);
    expect(fromTensorData(t, 3, 2).data).toEqual(img.data);
  });
});
