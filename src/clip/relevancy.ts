/**
 * Relevancy maps (Chefer et al.; spec §A.9): which image regions make CLIP match a text. From the
 * gradient of the image–text logit with respect to the attention probabilities P of the last blocks:
 * cam_b = mean over heads of max(∂logit/∂P ⊙ P, 0); R = I, then R ← R + cam_b·R for each selected block
 * in order; the class-token row R[0, 1:] over the patch grid, bilinearly upsampled to the image and
 * min–max normalized. With one block (the reference's setting) this is cam[0, 1:]. The logit's scale
 * (100 in the reference) cancels in the normalization.
 *
 * Everything stays on the GPU (the training step uses the map as a loss target without a readback); the
 * map is a constant, so the post-processing kernels here record no gradient.
 */
import type { Engine } from '../gpu/engine';
import { EngineError } from '../gpu/errors';
import { Params } from '../gpu/params';
import { Tape } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { cosineSimilarityRows } from '../ops/clipLoss';
import { LINEAR_INDEX_WGSL, WG } from '../ops/common';
import { add, scale } from '../ops/elementwise';
import { matmul } from '../ops/matmul';
import { resizeBilinear } from '../ops/resize';
import { narrow, reshape } from '../ops/shape';
import type { ClipVisionTower } from './vision';

export interface RelevancyOptions {
  /** How many of the last attention blocks contribute (the reference: 1, i.e. blocks with index > 10 of 12). */
  blocks?: number;
}

export interface RelevancyMap {
  /** [height, width] in [0, 1], row-major. */
  map: Float32Array;
  width: number;
  height: number;
  /** The class-token relevancy over the patch grid before upsampling and normalization, [hp, wp]. */
  grid: Float32Array;
  hp: number;
  wp: number;
}

/** cam[i] = Σ_h max(G[h,i]·P[h,i], 0) / heads over [heads, N, N] → [N, N]. */
const CAM_WGSL = /* wgsl */ `
struct P { n: u32, heads: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> probs: array<f32>;
@group(0) @binding(2) var<storage, read> grads: array<f32>;
@group(0) @binding(3) var<storage, read_write> cam: array<f32>;
${LINEAR_INDEX_WGSL}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = linearIndex(gid, nwg);
  if (i >= p.n) { return; }
  var acc = 0.0;
  for (var h = 0u; h < p.heads; h++) { acc += max(grads[h * p.n + i] * probs[h * p.n + i], 0.0); }
  cam[i] = acc / f32(p.heads);
}`;

/** Workgroup size of the one-workgroup min–max normalization (maps are at most a few hundred thousand values). */
const MINMAX_WG = 256;

/** out = (x − min x)/(max x − min x), or 0 everywhere for a constant map; one workgroup. */
const MINMAX_WGSL = /* wgsl */ `
struct P { n: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
var<workgroup> lo: array<f32, ${MINMAX_WG}>;
var<workgroup> hi: array<f32, ${MINMAX_WG}>;
@compute @workgroup_size(${MINMAX_WG})
fn main(@builtin(local_invocation_id) lid: vec3u) {
  var a = 3.0e38;
  var b = -3.0e38;
  for (var i = lid.x; i < p.n; i += ${MINMAX_WG}u) { a = min(a, x[i]); b = max(b, x[i]); }
  lo[lid.x] = a;
  hi[lid.x] = b;
  workgroupBarrier();
  for (var s = ${MINMAX_WG / 2}u; s > 0u; s >>= 1u) {
    if (lid.x < s) {
      lo[lid.x] = min(lo[lid.x], lo[lid.x + s]);
      hi[lid.x] = max(hi[lid.x], hi[lid.x + s]);
    }
    workgroupBarrier();
  }
  let low = lo[0];
  let range = hi[0] - low;
  for (var i = lid.x; i < p.n; i += ${MINMAX_WG}u) { out[i] = select(0.0, (x[i] - low) / range, range > 0.0); }
}`;

function headMeanCam(engine: Engine, probs: Tensor, grads: Tensor, heads: number, n: number): Tensor {
  const cam = engine.empty([n, n], 'relevancy-cam');
  engine.run({
    name: 'relevancy-cam',
    code: CAM_WGSL,
    params: new Params().u32(n * n).u32(heads),
    read: [probs, grads],
    write: [cam],
    workgroups: engine.grid(n * n, WG),
  });
  return cam;
}

function minMaxNormalize(engine: Engine, x: Tensor): Tensor {
  const out = engine.empty(x.shape, 'relevancy-map');
  engine.run({
    name: 'relevancy-minmax',
    code: MINMAX_WGSL,
    params: new Params().u32(x.size),
    read: [x],
    write: [out],
    workgroups: [1, 1, 1],
  });
  return out;
}

export interface RelevancyTensors {
  /** [1, 1, H, W] in [0, 1]: the map at the image's size. */
  map: Tensor;
  /** [hp, wp]: the class-token relevancy over the patch grid, before upsampling and normalization. */
  grid: Tensor;
}

/**
 * Relevancy of one normalized image [1, 3, H, W] for a text embedding (raw text_embeds row), on the GPU.
 * Returns new tensors owned by the caller (kept outside any tidy scope of the caller's: call release()).
 */
export function relevancyTensors(
  tower: ClipVisionTower,
  pixels: Tensor,
  textEmbedding: Float32Array,
  opts: RelevancyOptions = {},
): RelevancyTensors {
  const engine = tower.engine;
  const layers = tower.config.numHiddenLayers;
  const blocks = opts.blocks ?? 1;
  if (!Number.isInteger(blocks) || blocks < 1 || blocks > layers) {
    throw new EngineError('relevancyMap', `blocks must be an integer in [1, ${layers}], got ${blocks}`);
  }
  if (pixels.shape[0] !== 1) throw new EngineError('relevancyMap', 'expects one image (batch 1)');
  const [, , h, w] = pixels.shape;
  const selected = Array.from({ length: blocks }, (_, i) => layers - blocks + i);
  const heads = tower.config.numAttentionHeads;

  const out = engine.tidy(() => {
    // The gradient path must reach the attention probabilities: let the pixels "require" grad.
    const x = engine.empty(pixels.shape, 'relevancy-pixels');
    engine.copy(pixels, x, pixels.byteSize);
    x.requiresGrad = true;
    const tape = Tape.start(engine);
    let fwd;
    let g;
    try {
      fwd = tower.forward(x, { attentionOf: selected });
      const text = engine.fromArray([1, textEmbedding.length], textEmbedding, 'relevancy-text');
      const logit = scale(cosineSimilarityRows(fwd.embeds!, text), 100);
      g = tape.backward(logit, undefined, [...fwd.attention.values()]);
    } finally {
      if (engine.activeTape === tape) engine.activeTape = null;
    }
    const { hp, wp } = fwd.grid;
    const n = 1 + hp * wp;
    return engine.noGrad(() => {
      // R = I, then R ← R + cam·R per block in order.
      let r = engine.fromArray([n, n], identity(n), 'relevancy-R');
      for (const i of selected) {
        const p = fwd.attention.get(i)!;
        r = add(r, matmul(headMeanCam(engine, p, g.get(p)!, heads, n), r));
      }
      const grid = reshape(narrow(narrow(r, 0, 0, 1), 1, 1, n - 1), [hp, wp]);
      const map = minMaxNormalize(engine, resizeBilinear(reshape(grid, [1, 1, hp, wp]), h, w));
      return { map, grid };
    });
  });
  return out;
}

function identity(n: number): Float32Array {
  const m = new Float32Array(n * n);
  for (let i = 0; i < n; i++) m[i * n + i] = 1;
  return m;
}

/**
 * Relevancy of one normalized image [1, 3, H, W] for a text embedding, read back to the host (for
 * display and tests; the training step uses relevancyTensors).
 */
export async function relevancyMap(
  tower: ClipVisionTower,
  pixels: Tensor,
  textEmbedding: Float32Array,
  opts: RelevancyOptions = {},
): Promise<RelevancyMap> {
  const t = relevancyTensors(tower, pixels, textEmbedding, opts);
  const [map, grid] = await Promise.all([t.map.read(), t.grid.read()]);
  const [hp, wp] = t.grid.shape;
  const [, , height, width] = t.map.shape;
  t.map.release();
  t.grid.release();
  return { map, width, height, grid, hp, wp };
}
