/**
 * 2-D convolution over NCHW tensors with square kernels, any stride and reflection / zero / no padding.
 *
 * Every pass is an implicit GEMM with workgroup tiles in workgroup memory; the padding is folded into
 * the index math, never materialised:
 *  - forward:         y[co, pix]  = Σ_{ci,ky,kx} W[co, (ci,ky,kx)] · im2col(x)[(ci,ky,kx), pix]
 *                     (M = Cout, N = output pixels over the batch, K = Cin·k·k), bias fused.
 *  - grad of x:       gx[ci, pix] = Σ_{co,ky,kx} W[co, ci, ky, kx] · G[(co,ky,kx), pix] where G gathers, for an input
 *                     pixel, every padded position that maps onto it (with reflection, pixels 1..pad and
 *                     n-1-pad..n-2 also receive their mirrored padded positions) and the output pixel that read it.
 *                     (M = Cin, N = input pixels over the batch, K = Cout·k·k.)
 *  - grad of weight:  gW[co, (ci,ky,kx)] = Σ_pix gy[co, pix] · im2col(x)[(ci,ky,kx), pix]
 *                     (M = Cout, N = Cin·k·k, reduced over all output pixels), split-K over pixel chunks into
 *                     partial sums, then a reduction kernel.
 *  - grad of bias:    one workgroup per channel, tree reduction.
 *
 * Two tile shapes: WIDE (64×64 outputs, K-step 16) and THIN (16×256 outputs, K-step 8) for GEMMs whose M is
 * at most 16 (RGB(A) input and output layers). Both use 16×16 threads with 16 accumulators each.
 * Shapes, kernel size, stride, padding and the bias flag are uniforms, so each kernel compiles once per tile
 * shape; the inner loops advance mixed-radix counters instead of dividing.
 */
import { EngineError, shapeStr } from '../gpu/errors';
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertSameEngine, paramsWgsl, perElementWgsl, storageWgsl, WG } from './common';

export type ConvPadding = 'reflect' | 'zeros' | 'none';

export interface Conv2dOptions {
  /** Default 1. */
  stride?: number;
  /** Default 'reflect' (PyTorch ReflectionPad2d((k-1)/2) before a valid convolution). */
  padding?: ConvPadding;
}

/**
 * Launch tuning of the weight-gradient split-K (exported for benchmarks and tests): the pixel reduction is
 * split into chunks until about `targetWorkgroups` workgroups run, with chunks of at least `minChunkPixels`.
 */
export const convTuning = { targetWorkgroups: 512, minChunkPixels: 128 };

const OP = 'conv2d';
const PADDINGS: readonly ConvPadding[] = ['reflect', 'zeros', 'none'];
/** Largest padded side: the gradient of x divides coordinates by the stride in f32, exact below 2^22. */
const MAX_SIDE = 1 << 21;

interface Tile {
  /** Rows of the output tile (the GEMM's M dimension). */
  bm: number;
  /** Columns of the output tile (the GEMM's N dimension). */
  bn: number;
  /** Reduction step held in workgroup memory. */
  bk: number;
}

const WIDE: Tile = { bm: 64, bn: 64, bk: 16 };
const THIN: Tile = { bm: 16, bn: 256, bk: 8 };
const THREADS = 256;

function tileFor(m: number): Tile {
  return m <= THIN.bm ? THIN : WIDE;
}

interface Geometry {
  k: number;
  stride: number;
  pad: number;
  mode: ConvPadding;
}

interface ConvShape extends Geometry {
  n: number;
  cin: number;
  h: number;
  w: number;
  cout: number;
  ho: number;
  wo: number;
}

// ------------------------------------------------------------------------------------------ validation

function isPositiveInt(v: number): boolean {
  return Number.isInteger(v) && v >= 1;
}

function geometry(h: number, w: number, k: number, stride: number, padding: ConvPadding, desc: string): Geometry {
  if (!PADDINGS.includes(padding)) {
    throw new EngineError(OP, `unknown padding '${String(padding)}' (expected ${PADDINGS.join(', ')}) for ${desc}`);
  }
  if (!isPositiveInt(stride)) throw new EngineError(OP, `stride must be a positive integer, got ${stride} for ${desc}`);
  if (!isPositiveInt(k)) throw new EngineError(OP, `kernel size must be a positive integer, got ${k} for ${desc}`);
  if (padding !== 'none' && k % 2 === 0) {
    throw new EngineError(OP, `'${padding}' padding needs an odd kernel size, got ${k}×${k} for ${desc}`);
  }
  const pad = padding === 'none' ? 0 : (k - 1) / 2;
  if (h + 2 * pad > MAX_SIDE || w + 2 * pad > MAX_SIDE) {
    throw new EngineError(OP, `padded spatial size ${h + 2 * pad}×${w + 2 * pad} exceeds ${MAX_SIDE} for ${desc}`);
  }
  if (padding === 'reflect' && (h < pad + 1 || w < pad + 1)) {
    throw new EngineError(
      OP,
      `reflection padding ${pad} needs each spatial side ≥ ${pad + 1}, got ${h}×${w} for ${desc}`,
    );
  }
  const ho = Math.floor((h + 2 * pad - k) / stride) + 1;
  const wo = Math.floor((w + 2 * pad - k) / stride) + 1;
  if (!(ho >= 1 && wo >= 1)) {
    throw new EngineError(
      OP,
      `output size ${ho}×${wo} < 1 for input ${h}×${w}, kernel ${k}, stride ${stride}, padding '${padding}' (${pad}) for ${desc}`,
    );
  }
  return { k, stride, pad, mode: padding };
}

/** Output [H, W] of conv2d on an H×W input; throws EngineError for invalid settings or an empty output. */
export function conv2dOutputSize(
  h: number,
  w: number,
  k: number,
  stride: number,
  padding: ConvPadding,
): [number, number] {
  const desc = `input ${h}×${w}`;
  if (!isPositiveInt(h) || !isPositiveInt(w)) throw new EngineError(OP, `invalid spatial size ${h}×${w}`);
  const g = geometry(h, w, k, stride, padding, desc);
  return [Math.floor((h + 2 * g.pad - k) / stride) + 1, Math.floor((w + 2 * g.pad - k) / stride) + 1];
}

function checkArgs(x: Tensor, weight: Tensor, bias: Tensor | null, opts: Conv2dOptions): ConvShape {
  const desc = `x ${shapeStr(x.shape)}, weight ${shapeStr(weight.shape)}, bias ${bias ? shapeStr(bias.shape) : 'null'}`;
  if (x.shape.length !== 4) throw new EngineError(OP, `x must have rank 4 [N,Cin,H,W]: ${desc}`);
  if (weight.shape.length !== 4) throw new EngineError(OP, `weight must have rank 4 [Cout,Cin,k,k]: ${desc}`);
  const [n, cin, h, w] = x.shape;
  const [cout, wcin, kh, kw] = weight.shape;
  if ([n, cin, h, w].some((d) => d < 1)) throw new EngineError(OP, `x has an empty dimension: ${desc}`);
  if ([cout, wcin, kh, kw].some((d) => d < 1)) throw new EngineError(OP, `weight has an empty dimension: ${desc}`);
  if (wcin !== cin) throw new EngineError(OP, `x has Cin = ${cin} channels but weight expects ${wcin}: ${desc}`);
  if (kh !== kw) throw new EngineError(OP, `only square kernels are supported, got ${kh}×${kw}: ${desc}`);
  if (bias) {
    if (bias.shape.length !== 1 || bias.shape[0] !== cout) {
      throw new EngineError(OP, `bias must have shape [${cout}] (Cout), got ${shapeStr(bias.shape)}: ${desc}`);
    }
    assertSameEngine(OP, x, weight, bias);
  } else assertSameEngine(OP, x, weight);
  const g = geometry(h, w, kh, opts.stride ?? 1, opts.padding ?? 'reflect', desc);
  const ho = Math.floor((h + 2 * g.pad - g.k) / g.stride) + 1;
  const wo = Math.floor((w + 2 * g.pad - g.k) / g.stride) + 1;
  return { ...g, n, cin, h, w, cout, ho, wo };
}

// ------------------------------------------------------------------------------------------ WGSL

/*
 * Geometry (kernel size, stride, padding, bias) is uniform data, so each kernel compiles once per tile
 * shape whatever the layer. The inner loops divide by nothing: the (channel, ky, kx) of the reduction
 * index a thread loads, and the (n, oy, ox) of the pixel it loads in the weight gradient, are mixed-radix
 * counters decoded once and advanced by the tile step (whose digits the host precomputes into d0..d2).
 */
const PARAMS_WGSL = /* wgsl */ `
struct P {
  n: u32, cin: u32, h: u32, w: u32,
  cout: u32, ho: u32, wo: u32, k: u32,
  stride: u32, pad: u32, reflect: u32, hasBias: u32,
  chunk: u32, d0: u32, d1: u32, d2: u32,
  invStride: f32,
}
@group(0) @binding(0) var<uniform> p: P;

// v as digits (hi, mid, lo) of radices (∞, r1, r0).
fn decode3(v: u32, r1: u32, r0: u32) -> vec3u {
  let t = v / r0;
  return vec3u(t / r1, t % r1, v % r0);
}

// Adds the digits d to the mixed-radix counter s (each digit of d below its radix).
fn step3(s: vec3u, d: vec3u, r1: u32, r0: u32) -> vec3u {
  var lo = s.z + d.z;
  let c0 = lo >= r0;
  lo = select(lo, lo - r0, c0);
  var mid = s.y + d.y + u32(c0);
  let c1 = mid >= r1;
  mid = select(mid, mid - r1, c1);
  return vec3u(s.x + d.x + u32(c1), mid, lo);
}`;

/** x at padded-frame coordinates (iy, ix) (already offset by -pad): reflected, or zero outside. */
const X_AT_WGSL = /* wgsl */ `
// Mirror without repeating the edge (-1 → 1, n → n-2); valid for an overhang below n.
fn refl(i: i32, n: i32) -> i32 {
  let j = abs(i);
  return select(j, 2 * n - 2 - j, j >= n);
}

fn xAt(plane: u32, iy: i32, ix: i32) -> f32 {
  let h = i32(p.h);
  let w = i32(p.w);
  if (p.reflect != 0u) { return x[plane + u32(refl(iy, h)) * p.w + u32(refl(ix, w))]; }
  if (iy < 0 || iy >= h || ix < 0 || ix >= w) { return 0.0; }
  return x[plane + u32(iy) * p.w + u32(ix)];
}`;

function tileConstsWgsl(t: Tile): string {
  return /* wgsl */ `
const BM = ${t.bm}u;
const BN = ${t.bn}u;
const BK = ${t.bk}u;`;
}

/**
 * The register-blocked product of one reduction step: thread (tx, ty) owns rows ty + 16·i and columns
 * tx + 16·j of the tile; As is [BK][aStride] (rows contiguous), Bs is [BK][bStride].
 */
function innerProductWgsl(t: Tile, aStride: string, bStride: string): string {
  const rm = t.bm / 16;
  const rn = t.bn / 16;
  const lines: string[] = [];
  lines.push(`for (var kl = 0u; kl < BK; kl++) {`);
  lines.push(`  let ao = kl * ${aStride} + ty;`);
  lines.push(`  let bo = kl * ${bStride} + tx;`);
  for (let i = 0; i < rm; i++) lines.push(`  let a${i} = As[ao + ${16 * i}u];`);
  for (let j = 0; j < rn; j++) lines.push(`  let b${j} = Bs[bo + ${16 * j}u];`);
  for (let i = 0; i < rm; i++) {
    for (let j = 0; j < rn; j++) lines.push(`  acc[${i * rn + j}] = fma(a${i}, b${j}, acc[${i * rn + j}]);`);
  }
  lines.push(`}`);
  return lines.join('\n    ');
}

/** Stores the accumulators: `colDecl` runs once per column `col`, `store` once per (m, col), $ACC the value. */
function writeAccWgsl(t: Tile, colDim: string, mDim: string, colDecl: string, store: string): string {
  const rm = t.bm / 16;
  const rn = t.bn / 16;
  const out: string[] = [];
  for (let j = 0; j < rn; j++) {
    const rows: string[] = [];
    for (let i = 0; i < rm; i++) {
      rows.push(`{
        let m = m0 + ty + ${16 * i}u;
        if (m < ${mDim}) { ${store.replace('$ACC', `acc[${i * rn + j}]`)} }
      }`);
    }
    out.push(`{
    let col = c0 + tx + ${16 * j}u;
    if (col < ${colDim}) {
      ${colDecl}
      ${rows.join('\n      ')}
    }
  }`);
  }
  return out.join('\n  ');
}

/** Slots of a thread in a [BK][BM] A-tile load: element lid + 256·i, at (kl, ml) = (idx % BK, idx / BK). */
function aSlots(t: Tile): Array<{ i: number; guard: boolean }> {
  const total = t.bk * t.bm;
  return Array.from({ length: Math.ceil(total / THREADS) }, (_, i) => ({ i, guard: (i + 1) * THREADS > total }));
}

/** Number of B-tile slots of a thread: rows lid / BN + i·(256 / BN) of a [BK][BN] tile. */
function bSlotCount(t: Tile): number {
  return (t.bk * t.bn) / THREADS;
}

const codeCache = new Map<string, string>();

function cached(key: string, make: () => string): string {
  let c = codeCache.get(key);
  if (c === undefined) {
    c = make();
    codeCache.set(key, c);
  }
  return c;
}

function tileKey(t: Tile): string {
  return `${t.bm}x${t.bn}x${t.bk}`;
}

function forwardWgsl(t: Tile): string {
  return cached(`fwd|${tileKey(t)}`, () => {
    const slots = bSlotCount(t);
    const init: string[] = [];
    const loads: string[] = [];
    const steps: string[] = [];
    for (let i = 0; i < slots; i++) {
      init.push(`let kl${i} = lid / BN + ${(i * THREADS) / t.bn}u;`);
      init.push(`var s${i} = decode3(kl${i}, p.k, p.k);`);
      loads.push(`{
      var v = 0.0;
      if (colOk && k0 + kl${i} < kdim) { v = xAt(xn + s${i}.x * hw, iy0 + i32(s${i}.y), ix0 + i32(s${i}.z)); }
      Bs[kl${i} * BN + cl] = v;
    }`);
      steps.push(`s${i} = step3(s${i}, dk, p.k, p.k);`);
    }
    const aLoads = aSlots(t).map(
      ({ i, guard }) => `{
      let idx = lid + ${i * THREADS}u;
      ${guard ? `if (idx < BK * BM) {` : '{'}
        let kl = idx % BK;
        let ml = idx / BK;
        var v = 0.0;
        if (m0 + ml < p.cout && k0 + kl < kdim) { v = wt[(m0 + ml) * kdim + k0 + kl]; }
        As[kl * (BM + 1u) + ml] = v;
      }
    }`,
    );
    return /* wgsl */ `${PARAMS_WGSL}
${storageWgsl(['x', 'wt', 'bias'], ['y'])}
${X_AT_WGSL}
${tileConstsWgsl(t)}
var<workgroup> As: array<f32, ${t.bk * (t.bm + 1)}>;
var<workgroup> Bs: array<f32, ${t.bk * t.bn}>;

// y[n, co, pix] = bias[co] + Σ_kk W[co, kk] · im2col(x)[kk, (n, pix)]: one BM×BN tile per workgroup.
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let hw = p.h * p.w;
  let hwo = p.ho * p.wo;
  let ncol = p.n * hwo;
  let kdim = p.cin * p.k * p.k;
  let c0 = (wid.x + wid.z * nwg.x) * BN;
  if (c0 >= ncol) { return; }
  let m0 = wid.y * BM;
  let tx = lid % 16u;
  let ty = lid / 16u;
  // The output pixel whose receptive field this thread loads into Bs, and its (ci, ky, kx) slots.
  let cl = lid % BN;
  let colOk = c0 + cl < ncol;
  let o = decode3(min(c0 + cl, ncol - 1u), p.ho, p.wo);
  let iy0 = i32(o.y * p.stride) - i32(p.pad);
  let ix0 = i32(o.z * p.stride) - i32(p.pad);
  let xn = o.x * p.cin * hw;
  let dk = vec3u(p.d0, p.d1, p.d2);
  ${init.join('\n  ')}
  var acc: array<f32, 16>;
  for (var k0 = 0u; k0 < kdim; k0 += BK) {
    ${aLoads.join('\n    ')}
    ${loads.join('\n    ')}
    workgroupBarrier();
    ${innerProductWgsl(t, '(BM + 1u)', 'BN')}
    workgroupBarrier();
    ${steps.join('\n    ')}
  }
  ${writeAccWgsl(
    t,
    'ncol',
    'p.cout',
    'let n = col / hwo; let ob = n * p.cout * hwo + (col - n * hwo);',
    'y[ob + m * hwo] = $ACC + select(0.0, bias[m], p.hasBias != 0u);',
  )}
}`;
  });
}

function backwardInputWgsl(t: Tile): string {
  return cached(`bwdx|${tileKey(t)}`, () => {
    const slots = bSlotCount(t);
    const init: string[] = [];
    const loads: string[] = [];
    const steps: string[] = [];
    const full: string[] = [];
    for (let a = 0; a < 3; a++) full.push(`let oy${a} = opos(qy${a} - ky, ho);`);
    for (let b = 0; b < 3; b++) full.push(`let ox${b} = opos(qx${b} - kx, wo);`);
    for (let a = 0; a < 3; a++) {
      for (let b = 0; b < 3; b++) {
        full.push(`if (oy${a} >= 0 && ox${b} >= 0) { v += gy[plane + u32(oy${a}) * p.wo + u32(ox${b})]; }`);
      }
    }
    for (let i = 0; i < slots; i++) {
      init.push(`let kl${i} = lid / BN + ${(i * THREADS) / t.bn}u;`);
      init.push(`var s${i} = decode3(kl${i}, p.k, p.k);`);
      loads.push(`{
      var v = 0.0;
      if (colOk && k0 + kl${i} < kdim) {
        let plane = gyn + s${i}.x * hwo;
        let ky = i32(s${i}.y);
        let kx = i32(s${i}.z);
        if (interior) {
          let oy = opos(qy0 - ky, ho);
          let ox = opos(qx0 - kx, wo);
          if (oy >= 0 && ox >= 0) { v = gy[plane + u32(oy) * p.wo + u32(ox)]; }
        } else {
          ${full.join('\n          ')}
        }
      }
      Bs[kl${i} * BN + cl] = v;
    }`);
      steps.push(`s${i} = step3(s${i}, dk, p.k, p.k);`);
    }
    // A-tile slots: element lid + 256·i sits at column kl = lid % BK (BK divides 256) of row am_i; one
    // (co, ky, kx) counter serves all of them.
    const aInit: string[] = ['let akl = lid % BK;', 'var aq = decode3(akl, p.k, p.k);'];
    const aLoads: string[] = [];
    for (const { i, guard } of aSlots(t)) {
      aInit.push(`let am${i} = lid / BK + ${i * (THREADS / t.bk)}u;`);
      aLoads.push(`{
      ${guard ? `if (am${i} < BM) {` : '{'}
        var v = 0.0;
        if (m0 + am${i} < p.cin && k0 + akl < kdim) {
          v = wt[((aq.x * p.cin + m0 + am${i}) * p.k + aq.y) * p.k + aq.z];
        }
        As[akl * (BM + 1u) + am${i}] = v;
      }
    }`);
    }
    const aSteps = ['aq = step3(aq, dk, p.k, p.k);'];
    return /* wgsl */ `${PARAMS_WGSL}
${storageWgsl(['gy', 'wt'], ['gx'])}
${tileConstsWgsl(t)}
const NONE = -1048576i;
var<workgroup> As: array<f32, ${t.bk * (t.bm + 1)}>;
var<workgroup> Bs: array<f32, ${t.bk * t.bn}>;

// The output coordinate whose tap reads padded position q when the tap offset is q - t, or -1.
// t / stride through f32 is exact for t < 2^22 (sizes are checked on the host).
fn opos(t: i32, lim: i32) -> i32 {
  if (t < 0) { return -1; }
  let o = i32((f32(t) + 0.5) * p.invStride);
  return select(-1, o, o * i32(p.stride) == t && o < lim);
}

// gx[n, ci, pix] = Σ_{co,ky,kx} W[co, ci, ky, kx] · G[(co,ky,kx), (n, pix)], G gathering gy over every
// padded position that maps onto the input pixel: one BM×BN tile per workgroup.
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let hw = p.h * p.w;
  let hwo = p.ho * p.wo;
  let ncol = p.n * hw;
  let kdim = p.cout * p.k * p.k;
  let c0 = (wid.x + wid.z * nwg.x) * BN;
  if (c0 >= ncol) { return; }
  let m0 = wid.y * BM;
  let tx = lid % 16u;
  let ty = lid / 16u;
  let h = i32(p.h);
  let w = i32(p.w);
  let pad = i32(p.pad);
  let ho = i32(p.ho);
  let wo = i32(p.wo);
  // The input pixel whose gradient taps this thread gathers into Bs.
  let cl = lid % BN;
  let colOk = c0 + cl < ncol;
  let c = decode3(min(c0 + cl, ncol - 1u), p.h, p.w);
  let iy = i32(c.y);
  let ix = i32(c.z);
  // Padded positions that map onto it: itself, and with reflection the mirrored positions of pixels
  // 1..pad and n-1-pad..n-2.
  let rf = p.reflect != 0u;
  let qy0 = iy + pad;
  let qy1 = select(NONE, pad - iy, rf && iy >= 1 && iy <= pad);
  let qy2 = select(NONE, 2 * (h - 1) - iy + pad, rf && iy >= h - 1 - pad && iy <= h - 2);
  let qx0 = ix + pad;
  let qx1 = select(NONE, pad - ix, rf && ix >= 1 && ix <= pad);
  let qx2 = select(NONE, 2 * (w - 1) - ix + pad, rf && ix >= w - 1 - pad && ix <= w - 2);
  let interior = qy1 == NONE && qy2 == NONE && qx1 == NONE && qx2 == NONE;
  let gyn = c.x * p.cout * hwo;
  let dk = vec3u(p.d0, p.d1, p.d2);
  ${aInit.join('\n  ')}
  ${init.join('\n  ')}
  var acc: array<f32, 16>;
  for (var k0 = 0u; k0 < kdim; k0 += BK) {
    ${aLoads.join('\n    ')}
    ${loads.join('\n    ')}
    workgroupBarrier();
    ${innerProductWgsl(t, '(BM + 1u)', 'BN')}
    workgroupBarrier();
    ${aSteps.join('\n    ')}
    ${steps.join('\n    ')}
  }
  ${writeAccWgsl(
    t,
    'ncol',
    'p.cin',
    'let n = col / hw; let ob = n * p.cin * hw + (col - n * hw);',
    'gx[ob + m * hw] = $ACC;',
  )}
}`;
  });
}

function backwardWeightWgsl(t: Tile): string {
  return cached(`bwdw|${tileKey(t)}`, () => {
    const aTotal = t.bk * t.bm;
    const rowsPerLoad = THREADS / t.bk;
    const aInit: string[] = [];
    const aLines: string[] = [];
    for (let i = 0; i < Math.ceil(aTotal / THREADS); i++) {
      const guard = (i + 1) * THREADS > aTotal;
      aInit.push(`let ml${i} = lid / BK + ${i * rowsPerLoad}u;`);
      aLines.push(`{
      ${guard ? `if (ml${i} < BM) {` : '{'}
        var v = 0.0;
        if (pixOk && m0 + ml${i} < p.cout) { v = gy[(q.x * p.cout + m0 + ml${i}) * hwo + pix]; }
        As[pl * (BM + 1u) + ml${i}] = v;
      }
    }`);
    }
    const bInit: string[] = [];
    const bLines: string[] = [];
    for (let i = 0; i < bSlotCount(t); i++) {
      bInit.push(`let kl${i} = lid / BK + ${i * rowsPerLoad}u;`);
      bInit.push(`let kok${i} = c0 + kl${i} < kdim;`);
      bInit.push(`let s${i} = decode3(c0 + kl${i}, p.k, p.k);`);
      bLines.push(`{
      var v = 0.0;
      if (pixOk && kok${i}) { v = xAt((q.x * p.cin + s${i}.x) * hw, iy0 + i32(s${i}.y), ix0 + i32(s${i}.z)); }
      Bs[pl * (BN + 1u) + kl${i}] = v;
    }`);
    }
    return /* wgsl */ `${PARAMS_WGSL}
${storageWgsl(['gy', 'x'], ['part'])}
${X_AT_WGSL}
${tileConstsWgsl(t)}
var<workgroup> As: array<f32, ${t.bk * (t.bm + 1)}>;
var<workgroup> Bs: array<f32, ${t.bk * (t.bn + 1)}>;

// One BM×BN tile of gW = gy · im2col(x)ᵀ over the pixel chunk wid.z, into part[wid.z].
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let hw = p.h * p.w;
  let hwo = p.ho * p.wo;
  let total = p.n * hwo;
  let kdim = p.cin * p.k * p.k;
  let c0 = wid.x * BN;
  let m0 = wid.y * BM;
  let tx = lid % 16u;
  let ty = lid / 16u;
  let pstart = wid.z * p.chunk;
  let pend = min(total, pstart + p.chunk);
  // This thread loads pixel p0 + pl of each step (a counter (n, oy, ox)) for its rows and columns.
  let pl = lid % BK;
  var q = decode3(pstart + pl, p.ho, p.wo);
  let dp = vec3u(p.d0, p.d1, p.d2);
  ${aInit.join('\n  ')}
  ${bInit.join('\n  ')}
  var acc: array<f32, 16>;
  for (var p0 = pstart; p0 < pend; p0 += BK) {
    let pixOk = p0 + pl < pend;
    let pix = q.y * p.wo + q.z;
    let iy0 = i32(q.y * p.stride) - i32(p.pad);
    let ix0 = i32(q.z * p.stride) - i32(p.pad);
    ${aLines.join('\n    ')}
    ${bLines.join('\n    ')}
    workgroupBarrier();
    ${innerProductWgsl(t, '(BM + 1u)', '(BN + 1u)')}
    workgroupBarrier();
    q = step3(q, dp, p.ho, p.wo);
  }
  let ob = wid.z * p.cout * kdim;
  ${writeAccWgsl(t, 'kdim', 'p.cout', '', 'part[ob + m * kdim + col] = $ACC;')}
}`;
  });
}

/** out[i] = Σ_z part[z, i] over the split-K partials (p.n = the weight's size). */
const SPLITK_REDUCE_WGSL = perElementWgsl({
  fields: 'parts: u32',
  read: ['part'],
  write: ['out'],
  body: `
  var s = 0.0;
  for (var z = 0u; z < p.parts; z++) { s += part[z * p.n + i]; }
  out[i] = s;`,
});

const BIAS_GRAD_WGSL = /* wgsl */ `${paramsWgsl('n: u32, c: u32, hw: u32')}
${storageWgsl(['gy'], ['gb'])}
var<workgroup> red: array<f32, 256>;
// One workgroup per channel: gb[c] = Σ_{n,pix} gy[n, c, pix].
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let c = wid.x + wid.y * nwg.x;
  if (c >= p.c) { return; }
  var s = 0.0;
  for (var n = 0u; n < p.n; n++) {
    let base = (n * p.c + c) * p.hw;
    for (var i = lid; i < p.hw; i += 256u) { s += gy[base + i]; }
  }
  red[lid] = s;
  workgroupBarrier();
  for (var off = 128u; off > 0u; off >>= 1u) {
    if (lid < off) { red[lid] += red[lid + off]; }
    workgroupBarrier();
  }
  if (lid == 0u) { gb[c] = red[0]; }
}`;

/** Uniforms of the GEMM kernels; d = the step as digits (hi, mid, lo) of radices (∞, r1, r0). */
function shapeParams(s: ConvShape, hasBias: boolean, step: number, r1: number, r0: number, chunk = 0): Params {
  const lo = step % r0;
  const mid = Math.floor(step / r0) % r1;
  const hi = Math.floor(step / (r0 * r1));
  return new Params()
    .u32(s.n)
    .u32(s.cin)
    .u32(s.h)
    .u32(s.w)
    .u32(s.cout)
    .u32(s.ho)
    .u32(s.wo)
    .u32(s.k)
    .u32(s.stride)
    .u32(s.pad)
    .u32(s.mode === 'reflect' ? 1 : 0)
    .u32(hasBias ? 1 : 0)
    .u32(chunk)
    .u32(hi)
    .u32(mid)
    .u32(lo)
    .f32(1 / s.stride);
}

// ------------------------------------------------------------------------------------------ launches

function ceilDiv(a: number, b: number): number {
  return Math.ceil(a / b);
}

/** Workgroups for a GEMM with `cols` columns split over x and z, and `rows` rows over y. */
function gemmGrid(x: Tensor, t: Tile, rows: number, cols: number): [number, number, number] {
  const [gx, gz] = x.engine.grid(ceilDiv(cols, t.bn), 1);
  return [gx, ceilDiv(rows, t.bm), gz];
}

function forward(x: Tensor, weight: Tensor, bias: Tensor | null, s: ConvShape): Tensor {
  const e = x.engine;
  const y = e.empty([s.n, s.cout, s.ho, s.wo], OP);
  const t = tileFor(s.cout);
  e.run({
    name: 'conv2d-forward',
    code: forwardWgsl(t),
    params: shapeParams(s, !!bias, t.bk, s.k, s.k),
    // Without a bias the weight stands in for the binding; the kernel does not read it.
    read: [x, weight, bias ?? weight],
    write: [y],
    workgroups: gemmGrid(x, t, s.cout, s.n * s.ho * s.wo),
  });
  return y;
}

function gradInput(gy: Tensor, weight: Tensor, s: ConvShape): Tensor {
  const e = gy.engine;
  const gx = e.empty([s.n, s.cin, s.h, s.w], 'conv2d-grad-x');
  const t = tileFor(s.cin);
  e.run({
    name: 'conv2d-grad-x',
    code: backwardInputWgsl(t),
    params: shapeParams(s, false, t.bk, s.k, s.k),
    read: [gy, weight],
    write: [gx],
    workgroups: gemmGrid(gy, t, s.cin, s.n * s.h * s.w),
  });
  return gx;
}

/** Pixel chunk length (a multiple of the tile's step) and chunk count of the weight-gradient split-K. */
function splitK(cout: number, kdim: number, pixels: number, tile: Tile): { chunk: number; parts: number } {
  const tiles = ceilDiv(cout, tile.bm) * ceilDiv(kdim, tile.bn);
  const want = Math.min(
    ceilDiv(convTuning.targetWorkgroups, tiles),
    Math.floor(pixels / Math.max(1, convTuning.minChunkPixels)),
    65535,
  );
  const parts0 = Math.max(1, want);
  const chunk = ceilDiv(ceilDiv(pixels, parts0), tile.bk) * tile.bk;
  return { chunk, parts: ceilDiv(pixels, chunk) };
}

function gradWeight(gy: Tensor, x: Tensor, s: ConvShape): Tensor {
  const e = gy.engine;
  const kdim = s.cin * s.k * s.k;
  const t = tileFor(s.cout);
  const { chunk, parts } = splitK(s.cout, kdim, s.n * s.ho * s.wo, t);
  const gw = e.empty([s.cout, s.cin, s.k, s.k], 'conv2d-grad-w');
  const part = parts > 1 ? e.empty([parts, s.cout, kdim], 'conv2d-grad-w-partial') : gw;
  e.run({
    name: 'conv2d-grad-w',
    code: backwardWeightWgsl(t),
    params: shapeParams(s, false, t.bk, s.ho, s.wo, chunk),
    read: [gy, x],
    write: [part],
    workgroups: [ceilDiv(kdim, t.bn), ceilDiv(s.cout, t.bm), parts],
  });
  if (part !== gw) {
    e.run({
      name: 'conv2d-grad-w-reduce',
      code: SPLITK_REDUCE_WGSL,
      params: new Params().u32(gw.size).u32(parts),
      read: [part],
      write: [gw],
      workgroups: e.grid(gw.size, WG),
    });
    // Released into the pool after encoding: later users of the buffer run after this reduction.
    part.release();
  }
  return gw;
}

function gradBias(gy: Tensor, s: ConvShape): Tensor {
  const e = gy.engine;
  const gb = e.empty([s.cout], 'conv2d-grad-b');
  e.run({
    name: 'conv2d-grad-b',
    code: BIAS_GRAD_WGSL,
    params: new Params()
      .u32(s.n)
      .u32(s.cout)
      .u32(s.ho * s.wo),
    read: [gy],
    write: [gb],
    workgroups: e.grid(s.cout * 256, 256),
  });
  return gb;
}

/**
 * 2-D convolution: x [N, Cin, H, W] ⊛ weight [Cout, Cin, k, k] (+ bias [Cout]) → [N, Cout, Ho, Wo], with
 * Ho = floor((H + 2·pad − k) / stride) + 1 and pad = (k−1)/2 ('reflect', 'zeros') or 0 ('none').
 */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const s = conv2dShape(x, weight, bias, opts);
  const y = forward(x, weight, bias, s);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record(OP, inputs, y, (gy) => {
    const grads: Array<Tensor | null> = [
      x.requiresGrad ? gradInput(gy, weight, s) : null,
      weight.requiresGrad ? gradWeight(gy, x, s) : null,
    ];
    if (bias) grads.push(bias.requiresGrad ? gradBias(gy, s) : null);
    return grads;
  });
}

/** conv2d's checked geometry (opaque outside this module), for units that run its kernels themselves. */
export type Conv2dShape = Readonly<ConvShape>;

/** Checks conv2d's arguments and returns the geometry the kernel helpers below take. */
export function conv2dShape(x: Tensor, weight: Tensor, bias: Tensor | null, opts: Conv2dOptions = {}): Conv2dShape {
  return checkArgs(x, weight, bias, opts);
}

/**
 * conv2d's kernels without a tape, for fused units (e.g. batchNormConv2d, which recomputes its conv input in
 * the backward): the forward, and the gradients of x, of the weight (from gy and x) and of the bias.
 */
export const conv2dKernels = { forward, gradInput, gradWeight, gradBias } as const;
