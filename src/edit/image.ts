/**
 * CPU image utilities on 8-bit RGBA pixels (the layout of ImageData), reproducing what the reference's
 * dataset does on 8-bit PIL images (spec §A.2, §A.3): PIL's BILINEAR resample (antialiased when
 * downscaling), torchvision's resize / centre-crop size rules, horizontal flip, and torchvision's
 * ColorJitter on the PIL path (Pillow's ImageEnhance and its RGB↔HSV conversion).
 *
 * The reference converts its input to RGB (`Image.convert("RGB")`), so only the colour channels matter.
 * These functions still carry an alpha channel through: resizes filter it like any other channel (no
 * premultiplication: Pillow would premultiply for an RGBA image, but the reference never has one), the colour
 * operations keep it unchanged.
 *
 * Exactness: `resizeAntialiased` and the four colour operations were checked bit for bit against Pillow 9.4
 * (see image.test.ts). No npm package reproduces PIL's bilinear filter (pica offers box/Hamming/Lanczos/MKS;
 * jimp's bilinear does not widen its support when downscaling), so it is written here (~60 lines).
 */
import type { Rng } from '../nn/rng';
import type { RgbaImage } from './jobTypes';

export type { RgbaImage } from './jobTypes';

export function createImage(width: number, height: number): RgbaImage {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
    throw new RangeError(`createImage: invalid size ${width}×${height}`);
  }
  return { width, height, data: new Uint8ClampedArray(width * height * 4) };
}

export function cloneImage(img: RgbaImage): RgbaImage {
  return { width: img.width, height: img.height, data: new Uint8ClampedArray(img.data) };
}

function checkImage(img: RgbaImage, what: string): void {
  if (img.data.length !== img.width * img.height * 4) {
    throw new RangeError(
      `${what}: image data has ${img.data.length} bytes, expected ${img.width}×${img.height}×4 = ${img.width * img.height * 4}`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------------
// PIL BILINEAR resample (Pillow src/libImaging/Resample.c, 8 bits per channel)
// ---------------------------------------------------------------------------------------------------------------

/** Fixed-point precision of Pillow's 8-bit resample kernels: 32 − 8 − 2. */
const PRECISION_BITS = 22;

interface Coeffs {
  ksize: number;
  /** [xmin, count] per output pixel. */
  bounds: Int32Array;
  /** Integer (fixed-point) weights, ksize per output pixel. */
  kk: Int32Array;
}

function bilinearFilter(x: number): number {
  if (x < 0) x = -x;
  return x < 1 ? 1 - x : 0;
}

/** Pillow's `precompute_coeffs` for the bilinear filter (support 1) and `normalize_coeffs_8bpc`. */
function precomputeCoeffs(inSize: number, outSize: number): Coeffs {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = 1 * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) truncates toward zero; negative values are clamped to 0 right after.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const w = bilinearFilter((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < ksize; x++) {
      let w = x < xmax ? k[x] : 0;
      if (x < xmax && ww !== 0) w /= ww;
      // Round half away from zero into the fixed-point grid.
      kk[xx * ksize + x] =
        w < 0 ? Math.trunc(-0.5 + w * (1 << PRECISION_BITS)) : Math.trunc(0.5 + w * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

/** Pillow's clip8: fixed-point accumulator → 0..255 (truncating, the ½ was added up front). */
function clip8(v: number): number {
  if (v >= 256 * 2 ** PRECISION_BITS) return 255;
  if (v <= 0) return 0;
  return Math.floor(v / 2 ** PRECISION_BITS);
}

/**
 * Resize with PIL's BILINEAR filter (`Image.resize(size, Image.BILINEAR)`): a triangle filter whose support
 * is widened by the downscale factor (so downscaling averages over the covered area, i.e. antialiases), pixel
 * centres at +0.5, weights renormalised at the borders, separable: a horizontal pass into an 8-bit
 * intermediate (rows limited to those the vertical pass needs), then a vertical pass. Fixed-point arithmetic
 * as Pillow's 8-bit path (22 fractional bits, round half up, clamp to 0..255). Same size → copy.
 * Upscaling reduces to plain bilinear interpolation with half-pixel centres and clamped borders.
 */
export function resizeAntialiased(img: RgbaImage, width: number, height: number): RgbaImage {
  checkImage(img, 'resizeAntialiased');
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`resizeAntialiased: invalid output size ${width}×${height}`);
  }
  if (img.width < 1 || img.height < 1) throw new RangeError('resizeAntialiased: empty input image');
  if (width === img.width && height === img.height) return cloneImage(img);

  const needH = width !== img.width;
  const needV = height !== img.height;
  const horiz = precomputeCoeffs(img.width, width);
  const vert = precomputeCoeffs(img.height, height);
  const half = 2 ** (PRECISION_BITS - 1);

  let src = img;
  let vBounds = vert.bounds;
  if (needH) {
    // Only rows [yFirst, yLast) of the source are read by the vertical pass.
    const yFirst = needV ? vert.bounds[0] : 0;
    const yLast = needV ? vert.bounds[(height - 1) * 2] + vert.bounds[(height - 1) * 2 + 1] : img.height;
    if (needV) {
      vBounds = new Int32Array(vert.bounds);
      for (let i = 0; i < height; i++) vBounds[i * 2] -= yFirst;
    }
    const rows = yLast - yFirst;
    const tmp = createImage(width, rows);
    const { ksize, bounds, kk } = horiz;
    const s = img.data;
    const d = tmp.data;
    for (let yy = 0; yy < rows; yy++) {
      const rowIn = (yy + yFirst) * img.width * 4;
      const rowOut = yy * width * 4;
      for (let xx = 0; xx < width; xx++) {
        const xmin = bounds[xx * 2];
        const n = bounds[xx * 2 + 1];
        const kOff = xx * ksize;
        let s0 = half;
        let s1 = half;
        let s2 = half;
        let s3 = half;
        for (let x = 0; x < n; x++) {
          const w = kk[kOff + x];
          const p = rowIn + (x + xmin) * 4;
          s0 += s[p] * w;
          s1 += s[p + 1] * w;
          s2 += s[p + 2] * w;
          s3 += s[p + 3] * w;
        }
        const o = rowOut + xx * 4;
        d[o] = clip8(s0);
        d[o + 1] = clip8(s1);
        d[o + 2] = clip8(s2);
        d[o + 3] = clip8(s3);
      }
    }
    src = tmp;
  }
  if (!needV) return src;

  const out = createImage(src.width, height);
  const { ksize, kk } = vert;
  const s = src.data;
  const d = out.data;
  const stride = src.width * 4;
  for (let yy = 0; yy < height; yy++) {
    const ymin = vBounds[yy * 2];
    const n = vBounds[yy * 2 + 1];
    const kOff = yy * ksize;
    const rowOut = yy * stride;
    for (let xx = 0; xx < src.width; xx++) {
      let s0 = half;
      let s1 = half;
      let s2 = half;
      let s3 = half;
      for (let y = 0; y < n; y++) {
        const w = kk[kOff + y];
        const p = (y + ymin) * stride + xx * 4;
        s0 += s[p] * w;
        s1 += s[p + 1] * w;
        s2 += s[p + 2] * w;
        s3 += s[p + 3] * w;
      }
      const o = rowOut + xx * 4;
      d[o] = clip8(s0);
      d[o + 1] = clip8(s1);
      d[o + 2] = clip8(s2);
      d[o + 3] = clip8(s3);
    }
  }
  return out;
}

/**
 * torchvision `Resize(size)` with an int size (spec §A.2): the shorter side becomes `size` and the longer one
 * `int(size·long/short)` (truncated); an image whose shorter side already equals `size` is returned unchanged
 * (a copy). `size ≤ 0` keeps the image as is (the reference resizes only when `resize_input > 0`).
 */
export function resizeShortSideDims(width: number, height: number, size: number): { width: number; height: number } {
  if (size <= 0) return { width, height };
  if (width <= height) {
    if (width === size) return { width, height };
    return { width: size, height: Math.trunc((size * height) / width) };
  }
  if (height === size) return { width, height };
  return { width: Math.trunc((size * width) / height), height: size };
}

export function resizeShortSide(img: RgbaImage, size: number): RgbaImage {
  const dims = resizeShortSideDims(img.width, img.height, size);
  return resizeAntialiased(img, dims.width, dims.height);
}

/** A copy of the rectangle at (x, y) of size w×h, which must lie inside the image. */
export function cropImage(img: RgbaImage, x: number, y: number, w: number, h: number): RgbaImage {
  checkImage(img, 'cropImage');
  if (![x, y, w, h].every(Number.isInteger) || x < 0 || y < 0 || w < 0 || h < 0) {
    throw new RangeError(`cropImage: invalid rectangle (${x}, ${y}, ${w}×${h})`);
  }
  if (x + w > img.width || y + h > img.height) {
    throw new RangeError(`cropImage: rectangle (${x}, ${y}, ${w}×${h}) exceeds the ${img.width}×${img.height} image`);
  }
  const out = createImage(w, h);
  for (let r = 0; r < h; r++) {
    const from = ((y + r) * img.width + x) * 4;
    out.data.set(img.data.subarray(from, from + w * 4), r * w * 4);
  }
  return out;
}

/** Python's round(): half to even. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const diff = v - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * The reference's `DivisibleCrop(d)`: torchvision `CenterCrop((h − h mod d, w − w mod d))`, whose offsets are
 * `int(round((H − h)/2))` with Python's half-to-even rounding. d = 1 is a no-op (a copy).
 */
export function cropCentreDivisible(img: RgbaImage, d: number): RgbaImage {
  if (!Number.isInteger(d) || d < 1) throw new RangeError(`cropCentreDivisible: d must be an integer ≥ 1, got ${d}`);
  const h = img.height - (img.height % d);
  const w = img.width - (img.width % d);
  const top = roundHalfEven((img.height - h) / 2);
  const left = roundHalfEven((img.width - w) / 2);
  return cropImage(img, left, top, w, h);
}

export function flipHorizontal(img: RgbaImage): RgbaImage {
  checkImage(img, 'flipHorizontal');
  const out = createImage(img.width, img.height);
  const s = new Uint32Array(img.data.buffer, img.data.byteOffset, img.width * img.height);
  const d = new Uint32Array(out.data.buffer, 0, img.width * img.height);
  if (img.data.byteOffset % 4 !== 0) {
    // Unaligned view: fall back to a byte copy.
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) {
        const a = (y * img.width + x) * 4;
        const b = (y * img.width + (img.width - 1 - x)) * 4;
        for (let c = 0; c < 4; c++) out.data[b + c] = img.data[a + c];
      }
    }
    return out;
  }
  for (let y = 0; y < img.height; y++) {
    const row = y * img.width;
    for (let x = 0; x < img.width; x++) d[row + img.width - 1 - x] = s[row + x];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Colour jitter: torchvision ColorJitter on PIL images (Pillow ImageEnhance + torchvision's adjust_hue)
// ---------------------------------------------------------------------------------------------------------------

/** Pillow `convert("L")` of one pixel: ITU-R 601-2 luma in 16-bit fixed point, rounded. */
function luma(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16;
}

/**
 * Pillow `Image.blend(degenerate, img, alpha)` for one channel value: `(UINT8)(d + alpha·(v − d))` in float32,
 * truncated; for alpha outside [0, 1] clipped to 0..255 first.
 */
function blend(d: number, v: number, alpha: number): number {
  const t = Math.fround(d + Math.fround(alpha * (v - d)));
  if (alpha >= 0 && alpha <= 1) return Math.trunc(t);
  if (t <= 0) return 0;
  if (t >= 255) return 255;
  return Math.trunc(t);
}

/** `ImageEnhance.Brightness(img).enhance(f)`: blend with black. */
export function adjustBrightness8bit(img: RgbaImage, factor: number): RgbaImage {
  checkImage(img, 'adjustBrightness8bit');
  const a = Math.fround(factor);
  const out = cloneImage(img);
  const d = out.data;
  for (let i = 0; i < d.length; i += 4) {
    d[i] = blend(0, d[i], a);
    d[i + 1] = blend(0, d[i + 1], a);
    d[i + 2] = blend(0, d[i + 2], a);
  }
  return out;
}

/** `ImageEnhance.Contrast(img).enhance(f)`: blend with a flat grey of the rounded mean luma. */
export function adjustContrast8bit(img: RgbaImage, factor: number): RgbaImage {
  checkImage(img, 'adjustContrast8bit');
  const s = img.data;
  let sum = 0;
  const n = img.width * img.height;
  for (let i = 0; i < s.length; i += 4) sum += luma(s[i], s[i + 1], s[i + 2]);
  const mean = n > 0 ? Math.trunc(sum / n + 0.5) : 0;
  const a = Math.fround(factor);
  const out = cloneImage(img);
  const d = out.data;
  for (let i = 0; i < d.length; i += 4) {
    d[i] = blend(mean, d[i], a);
    d[i + 1] = blend(mean, d[i + 1], a);
    d[i + 2] = blend(mean, d[i + 2], a);
  }
  return out;
}

/** `ImageEnhance.Color(img).enhance(f)`: blend with the image's own luma (per pixel). */
export function adjustSaturation8bit(img: RgbaImage, factor: number): RgbaImage {
  checkImage(img, 'adjustSaturation8bit');
  const a = Math.fround(factor);
  const out = cloneImage(img);
  const d = out.data;
  for (let i = 0; i < d.length; i += 4) {
    const l = luma(d[i], d[i + 1], d[i + 2]);
    d[i] = blend(l, d[i], a);
    d[i + 1] = blend(l, d[i + 1], a);
    d[i + 2] = blend(l, d[i + 2], a);
  }
  return out;
}

/** Pillow's `rgb2hsv_row` (Convert.c, after colorsys): 8-bit H, S, V, float32 intermediates, truncation. */
export function rgbToHsv8(r: number, g: number, b: number, out: Uint8Array | number[], o = 0): void {
  const maxc = Math.max(r, g, b);
  const minc = Math.min(r, g, b);
  if (maxc === minc) {
    out[o] = 0;
    out[o + 1] = 0;
    out[o + 2] = maxc;
    return;
  }
  const f = Math.fround;
  const cr = maxc - minc;
  const s = f(cr / maxc);
  const rc = f((maxc - r) / cr);
  const gc = f((maxc - g) / cr);
  const bc = f((maxc - b) / cr);
  let h: number;
  if (r === maxc) h = f(bc - gc);
  else if (g === maxc) h = f(2.0 + rc - bc);
  else h = f(4.0 + gc - rc);
  h = f((h / 6.0 + 1.0) % 1.0);
  out[o] = Math.min(255, Math.max(0, Math.trunc(h * 255.0)));
  out[o + 1] = Math.min(255, Math.max(0, Math.trunc(s * 255.0)));
  out[o + 2] = maxc;
}

/** C's round(): half away from zero. */
function roundAway(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}

/** Pillow's `hsv2rgb` (Convert.c). */
export function hsvToRgb8(
  h: number,
  s: number,
  v: number,
  out: Uint8Array | Uint8ClampedArray | number[],
  o = 0,
): void {
  if (s === 0) {
    out[o] = v;
    out[o + 1] = v;
    out[o + 2] = v;
    return;
  }
  const f = Math.fround;
  const hf = f(h);
  const i = Math.floor((hf * 6.0) / 255.0);
  const fr = f((hf * 6.0) / 255.0 - i);
  const fs = f(f(s) / 255.0);
  const clip = (x: number) => Math.min(255, Math.max(0, x));
  const p = clip(roundAway(v * (1.0 - fs)));
  const q = clip(roundAway(v * (1.0 - fs * fr)));
  const t = clip(roundAway(v * (1.0 - fs * (1.0 - fr))));
  switch (i % 6) {
    case 0:
      out[o] = v;
      out[o + 1] = t;
      out[o + 2] = p;
      break;
    case 1:
      out[o] = q;
      out[o + 1] = v;
      out[o + 2] = p;
      break;
    case 2:
      out[o] = p;
      out[o + 1] = v;
      out[o + 2] = t;
      break;
    case 3:
      out[o] = p;
      out[o + 1] = q;
      out[o + 2] = v;
      break;
    case 4:
      out[o] = t;
      out[o + 1] = p;
      out[o + 2] = v;
      break;
    default:
      out[o] = v;
      out[o + 1] = p;
      out[o + 2] = q;
  }
}

/**
 * torchvision `adjust_hue` on a PIL image: convert to HSV (8 bit), add `uint8(hue·255)` to H with wrap-around,
 * convert back. `np.uint8` of a negative float wraps in NumPy 1.x (e.g. −0.06·255 = −15.3 → 241): reproduced
 * as `trunc(hue·255) mod 256`. Hue ∈ [−0.5, 0.5].
 */
export function adjustHue8bit(img: RgbaImage, hue: number): RgbaImage {
  checkImage(img, 'adjustHue8bit');
  if (!(hue >= -0.5 && hue <= 0.5)) throw new RangeError(`adjustHue8bit: hue must be in [-0.5, 0.5], got ${hue}`);
  const shift = (((Math.trunc(hue * 255) % 256) + 256) % 256) | 0;
  const out = cloneImage(img);
  const d = out.data;
  const hsv = new Uint8Array(3);
  for (let i = 0; i < d.length; i += 4) {
    rgbToHsv8(d[i], d[i + 1], d[i + 2], hsv);
    hsvToRgb8((hsv[0] + shift) & 255, hsv[1], hsv[2], d, i);
  }
  return out;
}

/** Ranges of ColorJitter as torchvision takes them: a number b means U(max(0, 1−b), 1+b) (hue: U(−b, b)). */
export interface ColorJitterRanges {
  brightness: number;
  contrast: number;
  saturation: number;
  hue: number;
}

/** One draw of ColorJitter: the order of the four operations (0 = brightness, 1 = contrast, 2 = saturation,
 *  3 = hue, torchvision's `fn_idx`) and the factors; a null factor is skipped (a range of 0). */
export interface ColorJitterParams {
  order: [number, number, number, number];
  brightness: number | null;
  contrast: number | null;
  saturation: number | null;
  hue: number | null;
}

/**
 * torchvision `ColorJitter.get_params`: a random permutation of the four operations, then one uniform factor
 * per operation with a non-zero range, drawn in the order brightness, contrast, saturation, hue.
 */
export function sampleColorJitter(ranges: ColorJitterRanges, rng: Rng): ColorJitterParams {
  for (const [k, v] of Object.entries(ranges)) {
    if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`colour jitter: ${k} must be a number ≥ 0, got ${v}`);
  }
  if (ranges.hue > 0.5) throw new RangeError(`colour jitter: hue must be ≤ 0.5, got ${ranges.hue}`);
  const order: [number, number, number, number] = [0, 1, 2, 3];
  for (let i = 3; i > 0; i--) {
    const j = rng.int(0, i);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const factor = (b: number) => (b > 0 ? rng.uniform(Math.max(0, 1 - b), 1 + b) : null);
  const brightness = factor(ranges.brightness);
  const contrast = factor(ranges.contrast);
  const saturation = factor(ranges.saturation);
  const hue = ranges.hue > 0 ? rng.uniform(-ranges.hue, ranges.hue) : null;
  return { order, brightness, contrast, saturation, hue };
}

/** Applies a drawn ColorJitter (the operations in `params.order`, each on the 8-bit result of the previous). */
export function applyColorJitter8bit(img: RgbaImage, params: ColorJitterParams): RgbaImage {
  let out = img;
  for (const op of params.order) {
    if (op === 0 && params.brightness !== null) out = adjustBrightness8bit(out, params.brightness);
    else if (op === 1 && params.contrast !== null) out = adjustContrast8bit(out, params.contrast);
    else if (op === 2 && params.saturation !== null) out = adjustSaturation8bit(out, params.saturation);
    else if (op === 3 && params.hue !== null) out = adjustHue8bit(out, params.hue);
  }
  return out === img ? cloneImage(img) : out;
}

/**
 * torchvision `ColorJitter(brightness, contrast, saturation, hue)(pil_image)`: draws the parameters with `rng`
 * and applies them with Pillow's 8-bit arithmetic.
 *
 * Deviations from the reference: the random numbers come from our `Rng`, not torch's generator (same laws,
 * different streams); `np.uint8(negative float)` is taken to wrap as in NumPy 1.x (NumPy ≥ 2 may differ);
 * Pillow ≥ 10's change of `ImageEnhance.Contrast` to a float mean is not followed (the reference era used
 * Pillow 8–9: `int(mean(L) + 0.5)`).
 */
export function colorJitter8bit(img: RgbaImage, ranges: ColorJitterRanges, rng: Rng): RgbaImage {
  return applyColorJitter8bit(img, sampleColorJitter(ranges, rng));
}

// ---------------------------------------------------------------------------------------------------------------
// Tensor conversion
// ---------------------------------------------------------------------------------------------------------------

/** v / 255 rounded to float32 for every byte (what torch's `float().div(255)` gives). */
const BYTE_TO_UNIT = Float32Array.from({ length: 256 }, (_, v) => v / 255);

/** torchvision `ToTensor`: the RGB channels as float32 `[3, H, W]` in [0, 1] (v / 255). Alpha is dropped. */
export function toTensorData(img: RgbaImage): Float32Array {
  checkImage(img, 'toTensorData');
  const n = img.width * img.height;
  const out = new Float32Array(3 * n);
  const s = img.data;
  const lut = BYTE_TO_UNIT;
  for (let i = 0; i < n; i++) {
    out[i] = lut[s[i * 4]];
    out[n + i] = lut[s[i * 4 + 1]];
    out[2 * n + i] = lut[s[i * 4 + 2]];
  }
  return out;
}

/**
 * The inverse of `toTensorData` for display and saving: `[3, H, W]` (or `[4, H, W]` with alpha) floats in [0, 1]
 * → 8-bit RGBA, `round(clamp(v)·255)`; alpha 255 when only three channels are given.
 */
export function fromTensorData(data: Float32Array, width: number, height: number): RgbaImage {
  const n = width * height;
  const channels = data.length / n;
  if (channels !== 3 && channels !== 4) {
    throw new RangeError(`fromTensorData: ${data.length} values is not 3 or 4 channels of ${width}×${height}`);
  }
  const out = createImage(width, height);
  const d = out.data;
  const q = (v: number) => Math.round(Math.min(1, Math.max(0, Number.isNaN(v) ? 0 : v)) * 255);
  for (let i = 0; i < n; i++) {
    d[i * 4] = q(data[i]);
    d[i * 4 + 1] = q(data[n + i]);
    d[i * 4 + 2] = q(data[2 * n + i]);
    d[i * 4 + 3] = channels === 4 ? q(data[3 * n + i]) : 255;
  }
  return out;
}
