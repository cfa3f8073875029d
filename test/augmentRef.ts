/**
 * Float64 CPU references for the CLIP augmentation ops, written as literal ports of the PyTorch /
 * torchvision 0.11 tensor code (F.interpolate bilinear, _gen_affine_grid, _perspective_grid,
 * grid_sample, _apply_grid_transform, _blend, _rgb2hsv, _hsv2rgb, rgb_to_grayscale, Normalize).
 * Linear ops also return their sparse matrix so tests get the exact adjoint.
 */

/** An NCHW image batch in float64. */
export interface Img {
  shape: [number, number, number, number];
  data: Float64Array;
}

/** A sparse linear map: y[out[k]] += w[k]·x[inp[k]] (plus the op's constant part). */
export interface Taps {
  out: number[];
  inp: number[];
  w: number[];
}

export function img(shape: readonly number[], data: ArrayLike<number>): Img {
  return { shape: [shape[0], shape[1], shape[2], shape[3]], data: Float64Array.from(data) };
}

export function adjoint(taps: Taps, gy: ArrayLike<number>, nIn: number): Float64Array {
  const gx = new Float64Array(nIn);
  for (let k = 0; k < taps.out.length; k++) gx[taps.inp[k]] += taps.w[k] * gy[taps.out[k]];
  return gx;
}

/** Composes linear maps: the taps of b∘a (a applied first). */
export function composeTaps(a: Taps, b: Taps): Taps {
  const byOut = new Map<number, Array<[number, number]>>();
  for (let k = 0; k < a.out.length; k++) {
    const list = byOut.get(a.out[k]) ?? [];
    list.push([a.inp[k], a.w[k]]);
    byOut.set(a.out[k], list);
  }
  const res: Taps = { out: [], inp: [], w: [] };
  for (let k = 0; k < b.out.length; k++) {
    for (const [i, w] of byOut.get(b.inp[k]) ?? []) {
      res.out.push(b.out[k]);
      res.inp.push(i);
      res.w.push(b.w[k] * w);
    }
  }
  return res;
}

// ------------------------------------------------------------------ resize

export interface RefBox {
  src: number;
  top: number;
  left: number;
  height: number;
  width: number;
}

/** PyTorch upsample_bilinear2d taps (align_corners=False, size given: scale = float32(in/out)). */
function taps1d(o: number, len: number, out: number): Array<[number, number]> {
  const scale = Math.fround(len / out);
  const s = Math.max(scale * (o + 0.5) - 0.5, 0);
  const i0 = Math.min(Math.floor(s), len - 1);
  const i1 = i0 < len - 1 ? i0 + 1 : i0;
  const l = s - i0;
  return [
    [i0, 1 - l],
    [i1, l],
  ];
}

export function refCropResize(x: Img, boxes: RefBox[], oh: number, ow: number): { y: Img; taps: Taps } {
  const [, c, h, w] = x.shape;
  const y = new Float64Array(boxes.length * c * oh * ow);
  const taps: Taps = { out: [], inp: [], w: [] };
  boxes.forEach((b, bi) => {
    for (let ch = 0; ch < c; ch++) {
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          const o = ((bi * c + ch) * oh + i) * ow + j;
          for (const [r, wy] of taps1d(i, b.height, oh)) {
            for (const [q, wx] of taps1d(j, b.width, ow)) {
              const src = ((b.src * c + ch) * h + b.top + r) * w + b.left + q;
              y[o] += wy * wx * x.data[src];
              taps.out.push(o);
              taps.inp.push(src);
              taps.w.push(wy * wx);
            }
          }
        }
      }
    }
  });
  return { y: { shape: [boxes.length, c, oh, ow], data: y }, taps };
}

// ------------------------------------------------------------------ grid sample with mask/fill

/**
 * torchvision `_apply_grid_transform(img, grid, 'bilinear', fill)` for one image n of x, with grid
 * values given per output pixel as normalized (gx, gy): grid_sample(zeros, align_corners=False) of
 * cat(img, ones), then img·m + (1 − m)·fill.
 */
function gridTransform(
  x: Img,
  n: number,
  grid: (i: number, j: number) => [number, number],
  fill: number,
  y: Float64Array,
  taps: Taps,
): void {
  const [, c, h, w] = x.shape;
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      const [gx, gy] = grid(i, j);
      const ix = ((gx + 1) * w - 1) / 2;
      const iy = ((gy + 1) * h - 1) / 2;
      const x0 = Math.floor(ix);
      const y0 = Math.floor(iy);
      const corners: Array<[number, number, number]> = [
        [y0, x0, (x0 + 1 - ix) * (y0 + 1 - iy)],
        [y0, x0 + 1, (ix - x0) * (y0 + 1 - iy)],
        [y0 + 1, x0, (x0 + 1 - ix) * (iy - y0)],
        [y0 + 1, x0 + 1, (ix - x0) * (iy - y0)],
      ];
      const valid = corners.filter(([r, q]) => r >= 0 && r < h && q >= 0 && q < w);
      const m = valid.reduce((s, [, , wt]) => s + wt, 0);
      for (let ch = 0; ch < c; ch++) {
        const o = ((n * c + ch) * h + i) * w + j;
        let v = 0;
        for (const [r, q, wt] of valid) {
          const src = ((n * c + ch) * h + r) * w + q;
          v += wt * x.data[src];
          taps.out.push(o);
          taps.inp.push(src);
          taps.w.push(wt * m);
        }
        y[o] = v * m + (1 - m) * fill;
      }
    }
  }
}

/** torchvision `_get_inverse_affine_matrix(center=[0,0], angle, translate, scale=1, shear=[0,0])`. */
function inverseAffine(angle: number, tx: number, ty: number): number[] {
  const rot = (angle * Math.PI) / 180;
  const [sx, sy] = [0, 0];
  const a = Math.cos(rot - sy) / Math.cos(sy);
  const b = (-Math.cos(rot - sy) * Math.tan(sx)) / Math.cos(sy) - Math.sin(rot);
  const c = Math.sin(rot - sy) / Math.cos(sy);
  const d = (-Math.sin(rot - sy) * Math.tan(sx)) / Math.cos(sy) + Math.cos(rot);
  const m = [d, -b, 0, -c, a, 0];
  m[2] += m[0] * -tx + m[1] * -ty;
  m[5] += m[3] * -tx + m[4] * -ty;
  return m;
}

export interface RefAffine {
  angle: number;
  tx: number;
  ty: number;
}

/** torchvision F.affine on tensors (bilinear, fill) per image; null = untouched. */
export function refAffine(x: Img, params: Array<RefAffine | null>, fill: number): { y: Img; taps: Taps } {
  const [n, c, h, w] = x.shape;
  const y = new Float64Array(x.data.length);
  const taps: Taps = { out: [], inp: [], w: [] };
  for (let k = 0; k < n; k++) {
    const p = params[k];
    if (!p) {
      copyImage(x, k, y, taps);
      continue;
    }
    const m = inverseAffine(p.angle, p.tx, p.ty);
    gridTransform(
      x,
      k,
      (i, j) => {
        const px = -w * 0.5 + 0.5 + j;
        const py = -h * 0.5 + 0.5 + i;
        return [(m[0] * px + m[1] * py + m[2]) / (0.5 * w), (m[3] * px + m[4] * py + m[5]) / (0.5 * h)];
      },
      fill,
      y,
      taps,
    );
  }
  void c;
  return { y: { shape: x.shape, data: y }, taps };
}

function copyImage(x: Img, k: number, y: Float64Array, taps: Taps): void {
  const per = x.shape[1] * x.shape[2] * x.shape[3];
  for (let i = k * per; i < (k + 1) * per; i++) {
    y[i] = x.data[i];
    taps.out.push(i);
    taps.inp.push(i);
    taps.w.push(1);
  }
}

/** torchvision `_get_perspective_coeffs` solved independently (Cramer-free: normal equations by elimination). */
export function refPerspectiveCoeffs(start: number[][], end: number[][]): number[] {
  const A: number[][] = [];
  const b: number[] = [];
  for (let i = 0; i < 4; i++) {
    const [x, y] = end[i];
    const [u, v] = start[i];
    A.push([x, y, 1, 0, 0, 0, -u * x, -u * y]);
    A.push([0, 0, 0, x, y, 1, -v * x, -v * y]);
    b.push(u, v);
  }
  // Gauss–Jordan on the square system.
  const M = A.map((r, i) => [...r, b[i]]);
  for (let col = 0; col < 8; col++) {
    let piv = col;
    for (let r = col; r < 8; r++) if (Math.abs(M[r][col]) > Math.abs(M[piv][col])) piv = r;
    [M[col], M[piv]] = [M[piv], M[col]];
    const d = M[col][col];
    for (let k = 0; k <= 8; k++) M[col][k] /= d;
    for (let r = 0; r < 8; r++) {
      if (r === col) continue;
      const f = M[r][col];
      for (let k = 0; k <= 8; k++) M[r][k] -= f * M[col][k];
    }
  }
  return M.map((r) => r[8]);
}

/** torchvision F.perspective on tensors (bilinear, fill) per image with the given endpoints; null = untouched. */
export function refPerspective(x: Img, endpoints: Array<number[][] | null>, fill: number): { y: Img; taps: Taps } {
  const [n, , h, w] = x.shape;
  const y = new Float64Array(x.data.length);
  const taps: Taps = { out: [], inp: [], w: [] };
  const start = [
    [0, 0],
    [w - 1, 0],
    [w - 1, h - 1],
    [0, h - 1],
  ];
  for (let k = 0; k < n; k++) {
    const end = endpoints[k];
    if (!end) {
      copyImage(x, k, y, taps);
      continue;
    }
    const co = refPerspectiveCoeffs(start, end);
    gridTransform(
      x,
      k,
      (i, j) => {
        const [px, py] = [j + 0.5, i + 0.5];
        const den = co[6] * px + co[7] * py + 1;
        return [
          (co[0] * px + co[1] * py + co[2]) / (0.5 * w) / den - 1,
          (co[3] * px + co[4] * py + co[5]) / (0.5 * h) / den - 1,
        ];
      },
      fill,
      y,
      taps,
    );
  }
  return { y: { shape: x.shape, data: y }, taps };
}

export function refFlip(x: Img, which: boolean[]): { y: Img; taps: Taps } {
  const [n, c, h, w] = x.shape;
  const y = new Float64Array(x.data.length);
  const taps: Taps = { out: [], inp: [], w: [] };
  for (let k = 0; k < n; k++) {
    for (let p = 0; p < c * h; p++) {
      for (let j = 0; j < w; j++) {
        const o = (k * c * h + p) * w + j;
        const src = (k * c * h + p) * w + (which[k] ? w - 1 - j : j);
        y[o] = x.data[src];
        taps.out.push(o);
        taps.inp.push(src);
        taps.w.push(1);
      }
    }
  }
  return { y: { shape: x.shape, data: y }, taps };
}

// ------------------------------------------------------------------ colour

export type RefColorOp = 'none' | 'brightness' | 'contrast' | 'saturation' | 'hue' | 'grayscale';

const clamp01 = (v: number) => Math.min(Math.max(v, 0), 1);
const gray = (r: number, g: number, b: number) => 0.2989 * r + 0.587 * g + 0.114 * b;

/** torchvision _rgb2hsv → h shift → _hsv2rgb on one pixel. */
export function refHue(r: number, g: number, b: number, delta: number): [number, number, number] {
  const maxc = Math.max(r, g, b);
  const minc = Math.min(r, g, b);
  const eqc = maxc === minc;
  const cr = maxc - minc;
  const s = cr / (eqc ? 1 : maxc);
  const crd = eqc ? 1 : cr;
  const rc = (maxc - r) / crd;
  const gc = (maxc - g) / crd;
  const bc = (maxc - b) / crd;
  const hr = maxc === r ? bc - gc : 0;
  const hg = maxc === g && maxc !== r ? 2 + rc - bc : 0;
  const hb = maxc !== g && maxc !== r ? 4 + gc - rc : 0;
  const hh = hr + hg + hb;
  let h = (hh / 6 + 1) % 1;
  h = (((h + delta) % 1) + 1) % 1;
  const v = maxc;
  const i0 = Math.floor(h * 6);
  const f = h * 6 - i0;
  const i = ((i0 % 6) + 6) % 6;
  const p = clamp01(v * (1 - s));
  const q = clamp01(v * (1 - s * f));
  const t = clamp01(v * (1 - s * (1 - f)));
  const table: Array<[number, number, number]> = [
    [v, t, p],
    [q, v, p],
    [p, v, t],
    [p, q, v],
    [t, p, v],
    [v, p, q],
  ];
  return table[i];
}

/** Applies ops[k] with factors[k] to image k (torchvision tensor semantics). */
export function refColor(x: Img, ops: RefColorOp[], factors: number[]): Img {
  const [n, c, h, w] = x.shape;
  if (c !== 3) throw new Error('RGB only');
  const hw = h * w;
  const y = new Float64Array(x.data.length);
  for (let k = 0; k < n; k++) {
    const base = k * 3 * hw;
    const f = factors[k];
    let mean = 0;
    for (let s = 0; s < hw; s++) mean += gray(x.data[base + s], x.data[base + hw + s], x.data[base + 2 * hw + s]);
    mean /= hw;
    for (let s = 0; s < hw; s++) {
      const rgb = [x.data[base + s], x.data[base + hw + s], x.data[base + 2 * hw + s]];
      const gr = gray(rgb[0], rgb[1], rgb[2]);
      let o: number[];
      switch (ops[k]) {
        case 'brightness':
          o = rgb.map((v) => clamp01(f * v));
          break;
        case 'contrast':
          o = rgb.map((v) => clamp01(f * v + (1 - f) * mean));
          break;
        case 'saturation':
          o = rgb.map((v) => clamp01(f * v + (1 - f) * gr));
          break;
        case 'hue':
          o = refHue(rgb[0], rgb[1], rgb[2], f);
          break;
        case 'grayscale':
          o = [gr, gr, gr];
          break;
        default:
          o = rgb;
      }
      for (let ch = 0; ch < 3; ch++) y[base + ch * hw + s] = o[ch];
    }
  }
  return { shape: x.shape, data: y };
}

export function refNormalize(x: Img, mean: readonly number[], std: readonly number[]): Img {
  const [, c, h, w] = x.shape;
  const hw = h * w;
  return {
    shape: x.shape,
    data: x.data.map((v, i) => (v - mean[Math.floor(i / hw) % c]) / std[Math.floor(i / hw) % c]),
  };
}

/** Σ_k (f(x + εe_k) − f(x − εe_k))/(2ε)·gy, in float64, for the listed k (default all): Jᵀ·gy. */
export function fdAdjoint(
  f: (x: Float64Array) => Float64Array,
  x: Float64Array,
  gy: ArrayLike<number>,
  eps = 1e-6,
  indices?: number[],
): Float64Array {
  const gx = new Float64Array(x.length);
  const dot = (v: Float64Array) => {
    let s = 0;
    for (let i = 0; i < v.length; i++) s += v[i] * gy[i];
    return s;
  };
  for (const k of indices ?? [...x.keys()]) {
    const xp = x.slice();
    const xm = x.slice();
    xp[k] += eps;
    xm[k] -= eps;
    gx[k] = (dot(f(xp)) - dot(f(xm))) / (2 * eps);
  }
  return gx;
}
