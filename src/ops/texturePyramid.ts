/**
 * The layered atlas's texture (VIDEO_ATLAS.md §2 design A): the SUM over levels of bilinear samples of learnable
 * textures of several resolutions, at per-point coordinates uv, with gradients to every level's texels and to uv.
 *
 * Convention (= F.grid_sample(level[None], uv[None, None], mode='bilinear', padding_mode='border',
 * align_corners=False) summed over levels): a level is [C, H, W] row-major; u (uv[:, 0]) runs along W (columns),
 * v (uv[:, 1]) along H (rows). u = −1 and +1 are the outer edges of the first and last texel column; texel
 * column j has its centre at u = (2j + 1)/W − 1, i.e. index coordinate x = ((u + 1)·W − 1)/2. Coordinates are
 * clamped to the outer texel centres [0, W − 1] (clamp-to-edge), so the half-texel border and anything outside
 * [−1, 1] read the edge texels and have zero gradient with respect to uv there (PyTorch's border padding:
 * x ≤ 0 or x ≥ W − 1 gives 0). A non-finite coordinate reads texel 0 with zero gradient.
 *
 * Kernels, one invocation per point: levels are bound in groups of up to min(8, storage-buffer limit − 3) per
 * dispatch (WebGPU guarantees a limit of 8, so ≥ 5 levels; half as many in the texel backward, which binds two words
 * per level), later groups accumulating into the output. Backward to uv: the spatial
 * derivative of each level's bilinear interpolant, summed over levels and weighted by the output gradient. Backward
 * to the texels: a scatter of gy·w into the four taps of each point, through deterministic 64-bit fixed-point integer
 * atomics (fixedPointSum.ts) whose low words are the gradient tensor itself; apart from the gradients the backward
 * allocates one scalar and one transient u32 per texel (the high words, released once converted).
 */
import type { Engine } from '../gpu/engine';
import { EngineError, shapeStr } from '../gpu/errors';
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertRank, assertSameEngine, perElementWgsl, WG } from './common';
import {
  FIXED_POINT_MAX_CONTRIBUTIONS,
  FIXED_POINT_WGSL,
  fixedPointAddWgsl,
  fixedPointBound,
  fixedPointToFloat,
} from './fixedPointSum';

/** Most levels bound in one dispatch (the adapter's storage-buffer limit may lower it). */
const MAX_LEVELS_PER_DISPATCH = 8;
/** Bindings besides the levels: uv, gy (or nothing) and the output; or uv, gy and the fixed-point bound. */
const OTHER_BINDINGS = 3;

/**
 * WGSL: `axisTap(t, size)`, the two taps along one axis of coordinate t ∈ [−1, 1] in a texture of `size` texels:
 * indices i0 ≤ i1, the weight f of i1, and d = ∂x/∂t (size/2 inside the clamp, 0 outside).
 */
const AXIS_TAP_WGSL = /* wgsl */ `
struct AxisTap { i0: u32, i1: u32, f: f32, d: f32 }
fn axisTap(t: f32, size: u32) -> AxisTap {
  let s = f32(size);
  let x = ((t + 1.0) * s - 1.0) * 0.5;
  let inside = x > 0.0 && x < s - 1.0;
  let xc = select(0.0, clamp(x, 0.0, s - 1.0), x == x);
  let i0 = min(u32(floor(xc)), size - 1u);
  let i1 = min(i0 + 1u, size - 1u);
  return AxisTap(i0, i1, xc - f32(i0), select(0.0, 0.5 * s, inside));
}`;

/** Uniform fields of a group of k levels after the point count: channels, accumulate flag, then w_l, h_l per level. */
function groupFields(k: number): string {
  const dims = Array.from({ length: k }, (_, l) => `w${l}: u32, h${l}: u32`).join(', ');
  return `c: u32, accumulate: u32, ${dims}`;
}

function groupParams(n: number, C: number, accumulate: boolean, levels: readonly Tensor[]): Params {
  const params = new Params()
    .u32(n)
    .u32(C)
    .u32(accumulate ? 1 : 0);
  for (const t of levels) params.u32(t.shape[2]).u32(t.shape[1]);
  return params;
}

/** WGSL: the taps of point i in every level of the group, as locals ax{l}, ay{l}. */
function tapsOfPoint(k: number): string {
  return Array.from(
    { length: k },
    (_, l) => `let ax${l} = axisTap(uv[2u * i], p.w${l});\n  let ay${l} = axisTap(uv[2u * i + 1u], p.h${l});`,
  ).join('\n  ');
}

/** WGSL per level l: the four tap offsets of channel c in the level's buffer. */
function tapOffsetsWgsl(l: number): string {
  return /* wgsl */ `
fn taps${l}(c: u32, x: AxisTap, y: AxisTap) -> vec4u {
  let r0 = (c * p.h${l} + y.i0) * p.w${l};
  let r1 = (c * p.h${l} + y.i1) * p.w${l};
  return vec4u(r0 + x.i0, r0 + x.i1, r1 + x.i0, r1 + x.i1);
}`;
}

/** WGSL per level l: the bilinear sample of channel c and its gradient with respect to (u, v). */
function levelReadWgsl(l: number): string {
  return /* wgsl */ `${tapOffsetsWgsl(l)}
fn corners${l}(c: u32, x: AxisTap, y: AxisTap) -> vec4f {
  let o = taps${l}(c, x, y);
  return vec4f(t${l}[o.x], t${l}[o.y], t${l}[o.z], t${l}[o.w]);
}
fn sample${l}(c: u32, x: AxisTap, y: AxisTap) -> f32 {
  let v = corners${l}(c, x, y);
  return (1.0 - y.f) * ((1.0 - x.f) * v.x + x.f * v.y) + y.f * ((1.0 - x.f) * v.z + x.f * v.w);
}
fn slope${l}(c: u32, x: AxisTap, y: AxisTap) -> vec2f {
  let v = corners${l}(c, x, y);
  return vec2f(x.d * ((1.0 - y.f) * (v.y - v.x) + y.f * (v.w - v.z)),
               y.d * ((1.0 - x.f) * (v.z - v.x) + x.f * (v.w - v.y)));
}`;
}

/** Caches a WGSL builder by level count (the same source string every call: the pipeline cache hashes it once). */
function byLevelCount(build: (k: number) => string): (k: number) => string {
  const built = new Map<number, string>();
  return (k) => {
    let code = built.get(k);
    if (code === undefined) {
      code = build(k);
      built.set(k, code);
    }
    return code;
  };
}

/** out[i, c] (+)= Σ_l sample_l(c). */
const forwardWgsl = byLevelCount((k) => {
  const levels = Array.from({ length: k }, (_, l) => l);
  return perElementWgsl({
    fields: groupFields(k),
    read: ['uv', ...levels.map((l) => `t${l}`)],
    write: ['out'],
    helpers: AXIS_TAP_WGSL + levels.map(levelReadWgsl).join(''),
    body: `
  ${tapsOfPoint(k)}
  for (var c = 0u; c < p.c; c++) {
    let o = i * p.c + c;
    var acc = 0.0;
    if (p.accumulate != 0u) { acc = out[o]; }
    ${levels.map((l) => `acc += sample${l}(c, ax${l}, ay${l});`).join('\n    ')}
    out[o] = acc;
  }`,
  });
});

/** guv[i] (+)= Σ_c gy[i, c] · Σ_l ∂sample_l(c)/∂(u, v). */
const uvBackwardWgsl = byLevelCount((k) => {
  const levels = Array.from({ length: k }, (_, l) => l);
  return perElementWgsl({
    fields: groupFields(k),
    read: ['uv', 'gy', ...levels.map((l) => `t${l}`)],
    write: ['guv'],
    helpers: AXIS_TAP_WGSL + levels.map(levelReadWgsl).join(''),
    body: `
  ${tapsOfPoint(k)}
  var g = vec2f(0.0);
  if (p.accumulate != 0u) { g = vec2f(guv[2u * i], guv[2u * i + 1u]); }
  for (var c = 0u; c < p.c; c++) {
    let gc = gy[i * p.c + c];
    ${levels.map((l) => `g += gc * slope${l}(c, ax${l}, ay${l});`).join('\n    ')}
  }
  guv[2u * i] = g.x;
  guv[2u * i + 1u] = g.y;`,
  });
});

/** WGSL per level l: adds the fixed-point value of the scaled gradient s·w to each of the four taps of channel c. */
function levelDepositWgsl(l: number): string {
  return /* wgsl */ `${tapOffsetsWgsl(l)}
${fixedPointAddWgsl(`add${l}`, `lo${l}`, `hi${l}`)}
fn deposit${l}(c: u32, s: f32, x: AxisTap, y: AxisTap) {
  let o = taps${l}(c, x, y);
  add${l}(o.x, s * (1.0 - x.f) * (1.0 - y.f));
  add${l}(o.y, s * x.f * (1.0 - y.f));
  add${l}(o.z, s * (1.0 - x.f) * y.f);
  add${l}(o.w, s * x.f * y.f);
}`;
}

/**
 * (lo_l, hi_l)[taps of i, c] += round(gy[i, c] · w · scale) for every level of the group, as 64-bit fixed point
 * (accumulators zeroed before).
 */
const texelBackwardWgsl = byLevelCount((k) => {
  const levels = Array.from({ length: k }, (_, l) => l);
  return perElementWgsl({
    fields: groupFields(k),
    read: ['uv', 'gy', 'bound'],
    write: levels.flatMap((l) => [`lo${l}: atomic<u32>`, `hi${l}: atomic<u32>`]),
    helpers: AXIS_TAP_WGSL + FIXED_POINT_WGSL + levels.map(levelDepositWgsl).join(''),
    body: `
  ${tapsOfPoint(k)}
  let scale = fixedPointScale(bound[0]);
  for (var c = 0u; c < p.c; c++) {
    let s = gy[i * p.c + c] * scale;
    if (s == 0.0) { continue; }
    ${levels.map((l) => `deposit${l}(c, s, ax${l}, ay${l});`).join('\n    ')}
  }`,
  });
});

/**
 * Splits items into dispatch groups of as many levels as fit the adapter's storage-buffer limit, each level taking
 * `perLevel` bindings besides the OTHER_BINDINGS.
 */
function levelGroups<T>(engine: Engine, items: readonly T[], perLevel = 1): T[][] {
  const limit = Number(engine.limits.maxStorageBuffersPerShaderStage);
  const size = Math.max(1, Math.min(MAX_LEVELS_PER_DISPATCH, Math.floor((limit - OTHER_BINDINGS) / perLevel)));
  const groups: T[][] = [];
  for (let s = 0; s < items.length; s += size) groups.push(items.slice(s, s + size));
  return groups;
}

function checkInputs(op: string, levels: readonly Tensor[], uv: Tensor): number {
  if (levels.length === 0) throw new EngineError(op, 'needs at least one texture level');
  assertSameEngine(op, uv, ...levels);
  assertRank(op, uv, 2, 'uv');
  if (uv.shape[1] !== 2) throw new EngineError(op, `uv must be [N,2], got ${shapeStr(uv.shape)}`);
  levels.forEach((t, l) => assertRank(op, t, 3, `level ${l}`));
  const C = levels[0].shape[0];
  const bad = levels.find((t) => t.shape[0] !== C || t.shape[1] === 0 || t.shape[2] === 0);
  if (bad || C === 0) {
    throw new EngineError(
      op,
      `levels must be non-empty [C,H,W] with one C: ${levels.map((t) => shapeStr(t.shape)).join(', ')}`,
    );
  }
  if (4 * uv.shape[0] * C > FIXED_POINT_MAX_CONTRIBUTIONS) {
    throw new EngineError(op, `${uv.shape[0]} points × ${C} channels exceed one fixed-point scatter`);
  }
  return C;
}

/**
 * Σ_l bilinear(levels[l], uv) → [N, C]. levels: [C, H_l, W_l] each (learnable); uv: [N, 2] in [−1, 1] (learnable).
 * See the file comment for the coordinate convention.
 */
export function texturePyramidSample(levels: readonly Tensor[], uv: Tensor): Tensor {
  const op = 'texturePyramidSample';
  const C = checkInputs(op, levels, uv);
  const N = uv.shape[0];
  const e = uv.engine;
  const groups = levelGroups(e, levels);
  const out = e.empty([N, C], op);
  groups.forEach((group, g) => {
    e.run({
      name: op,
      code: forwardWgsl(group.length),
      params: groupParams(N, C, g > 0, group),
      read: [uv, ...group],
      write: [out],
      workgroups: e.grid(N, WG),
    });
  });
  return record(op, [...levels, uv], out, (gy) => {
    const texelGrads = levels.map((t) => (t.requiresGrad ? e.zeros(t.shape, `${op}-texel-grad`) : null));
    const learnable = levels.flatMap((_, l) => (texelGrads[l] ? [l] : []));
    if (learnable.length > 0) {
      const bound = fixedPointBound(gy, op);
      // The gradient tensors hold the low words; the high words live only until the conversion.
      const highWords = learnable.map((l) => e.zeros(levels[l].shape, `${op}-texel-grad-high`));
      for (const group of levelGroups(e, [...learnable.keys()], 2)) {
        e.run({
          name: `${op}-texel-backward`,
          code: texelBackwardWgsl(group.length),
          params: groupParams(
            N,
            C,
            false,
            group.map((j) => levels[learnable[j]]),
          ),
          read: [uv, gy, bound],
          write: group.flatMap((j) => [texelGrads[learnable[j]] as Tensor, highWords[j]]),
          workgroups: e.grid(N, WG),
        });
      }
      learnable.forEach((l, j) => {
        fixedPointToFloat(texelGrads[l] as Tensor, highWords[j], bound, op);
        highWords[j].release();
      });
      bound.release();
    }
    let uvGrad: Tensor | null = null;
    if (uv.requiresGrad) {
      const guv = e.empty([N, 2], `${op}-uv-grad`);
      groups.forEach((group, g) => {
        e.run({
          name: `${op}-uv-backward`,
          code: uvBackwardWgsl(group.length),
          params: groupParams(N, C, g > 0, group),
          read: [uv, gy, ...group],
          write: [guv],
          workgroups: e.grid(N, WG),
        });
      });
      uvGrad = guv;
    }
    return [...texelGrads, uvGrad];
  });
}
