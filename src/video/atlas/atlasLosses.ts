/**
 * The losses of one fitting iteration (VIDEO_ATLAS.md §2, NLA's weights): reconstruction, rigidity (1 px, and over
 * ~48 px during the bootstrap), flow consistency of both mappings weighted by (1 − α) and α, alpha flow
 * consistency, foreground sparsity and the mask term (BCE: strong during the bootstrap, a weak prior after it).
 * Terms are scalars on the GPU; `values` gathers the unweighted ones for a single read-back when a log is due.
 */
import type { Tensor } from '../../gpu/tensor';
import { alphaComposite } from '../../ops/composite';
import { add, affine, mul } from '../../ops/elementwise';
import { bceLoss } from '../../ops/bce';
import { weightedAbsDifference, weightedPointDistance } from '../../ops/flowConsistency';
import { mse } from '../../ops/loss';
import { rigidityLoss } from '../../ops/rigidity';
import { concat, narrow, reshape, transpose } from '../../ops/shape';
import type { AtlasConfig } from './atlasConfig';
import type { AtlasModel } from './atlasModel';
import { MAPPING_SCALE, pixelSize, uvPerPixel, type FrameGeometry } from './coords';
import { flowTargets } from './flowTargets';
import type { PointBatch } from './pointBatch';

/** Order of the unweighted terms in AtlasLossResult.values. */
export const ATLAS_TERMS = ['rgb', 'rigidity', 'globalRigidity', 'flow', 'alphaFlow', 'sparsity', 'mask'] as const;
export type AtlasTerm = (typeof ATLAS_TERMS)[number];

/** The clip's flows on the GPU ([F−1, 2, H, W] and [F−1, 1, H, W]), as src/video/flow computes them. */
export interface ClipFlows {
  forward: Tensor;
  backward: Tensor;
  forwardValid: Tensor;
  backwardValid: Tensor;
}

export interface AtlasLossResult {
  total: Tensor;
  /** [ATLAS_TERMS.length] unweighted terms (0 for a term that is off). */
  values: Tensor;
  /** The reconstruction [N,3] of the batch (for the PSNR of the batch). */
  reconstruction: Tensor;
}

/** [N,3] → [1,3,1,N] and [N] → [1,1,1,N]: alphaComposite's image layout, the points along the width. */
function asImage(t: Tensor): Tensor {
  const n = t.shape[0];
  return t.shape.length === 1 ? reshape(t, [1, 1, 1, n]) : reshape(transpose(t, [1, 0]), [1, t.shape[1], 1, n]);
}

/** α·fg + (1 − α)·bg for point colours [N,3] and α [N]. */
export function blendPoints(fg: Tensor, alpha: Tensor, bg: Tensor | readonly [number, number, number]): Tensor {
  const out = alphaComposite(asImage(fg), asImage(alpha), Array.isArray(bg) ? bg : asImage(bg as Tensor));
  const n = fg.shape[0];
  return transpose(reshape(out, [3, n]), [1, 0]);
}

/** Σ over channels of squared differences, mean over points (NLA's ‖·‖² per point). */
function pointSquaredError(a: Tensor, b: Tensor): Tensor {
  return affine(mse(a, b), a.shape[1]);
}

/**
 * Every point a layer's mapping is evaluated at in one iteration, in one MLP pass (the dispatch count, not the
 * arithmetic, is what an iteration costs on a GPU): the batch, the rigidity points shifted by 1 px and by the global
 * step along x and y, and where the flow takes the flow points forward and backward. The rigidity and flow points
 * are the first R and M of the batch, so their own mapping is the batch's.
 */
interface PointSets {
  all: Tensor;
  /** [offset, length] of each set in `all`. */
  batch: [number, number];
  dx: [number, number];
  dy: [number, number];
  globalDx: [number, number];
  globalDy: [number, number];
  forward: [number, number];
  backward: [number, number];
}

function pointSets(batch: PointBatch, targets: Tensor[], globalOn: boolean): PointSets {
  const r = batch.rigidity;
  const parts: Tensor[] = [batch.coords];
  let at = batch.coords.shape[0];
  const put = (t: Tensor | null): [number, number] => {
    if (!t || t.shape[0] === 0) return [at, 0];
    parts.push(t);
    const span: [number, number] = [at, t.shape[0]];
    at += t.shape[0];
    return span;
  };
  const dx = put(r.dx);
  const dy = put(r.dy);
  const globalDx = put(globalOn ? r.globalDx : null);
  const globalDy = put(globalOn ? r.globalDy : null);
  const forward = put(targets[0] ?? null);
  const backward = put(targets[1] ?? null);
  const all = parts.length === 1 ? parts[0] : concat(parts, 0);
  return { all, batch: [0, batch.coords.shape[0]], dx, dy, globalDx, globalDy, forward, backward };
}

const slice = (t: Tensor, [start, length]: [number, number]) => narrow(t, 0, start, length);

export function atlasLosses(
  model: AtlasModel,
  batch: PointBatch,
  flows: ClipFlows | null,
  geometry: FrameGeometry,
  iteration: number,
): AtlasLossResult {
  const cfg: AtlasConfig = model.config;
  const w = cfg.weights;
  const engine = batch.coords.engine;
  const zero = () => engine.zeros([1], 'atlas-zero');
  const bg = model.background;
  const fg = model.foreground;
  const bootstrap = iteration < cfg.bootstrapIterations;
  const terms: Record<AtlasTerm, Tensor | null> = {
    rgb: null,
    rigidity: null,
    globalRigidity: null,
    flow: null,
    alphaFlow: null,
    sparsity: null,
    mask: null,
  };
  const weightOf: Record<AtlasTerm, number> = {
    rgb: w.rgb,
    rigidity: w.rigidity,
    // One term for both layers: their weights differ, so the foreground's ratio is folded in below.
    globalRigidity: bootstrap ? w.globalRigidityBackground : 0,
    flow: w.flow,
    alphaFlow: fg ? w.alphaFlow : 0,
    sparsity: fg ? w.sparsity : 0,
    mask: fg && batch.mask ? (bootstrap ? w.maskBootstrap : w.maskPrior) : 0,
  };

  // Where the flow takes the flow points (data, not differentiated).
  const m = flows ? batch.flowCoords.shape[0] : 0;
  const moved =
    m > 0 && flows
      ? [
          flowTargets(flows.forward, flows.forwardValid, batch.forwardIndex, batch.flowCoords, geometry.frames, 1),
          flowTargets(flows.backward, flows.backwardValid, batch.backwardIndex, batch.flowCoords, geometry.frames, -1),
        ]
      : [];
  const sets = pointSets(
    batch,
    moved.map((t) => t.moved),
    weightOf.globalRigidity > 0,
  );
  const uvB = model.map(bg, sets.all);
  const uvF = fg ? model.map(fg, sets.all) : null;
  // α at the batch and at the flow targets (the rigidity points need none).
  const n = batch.coords.shape[0];
  const alphaPoints = m > 0 ? concat([batch.coords, ...moved.map((t) => t.moved)], 0) : batch.coords;
  const alphaAll = fg ? model.alphaOf(alphaPoints) : null;

  // Reconstruction.
  const colourB = model.colour(bg, slice(uvB, sets.batch));
  let reconstruction = colourB;
  if (fg && uvF && alphaAll) {
    const colourF = model.colour(fg, slice(uvF, sets.batch));
    const alpha = slice(alphaAll, [0, n]);
    reconstruction = blendPoints(colourF, alpha, colourB);
    // Sparsity: the foreground where α says background, ‖A_f·(1 − α)‖² (blendPoints with opacity 1 − α over black).
    if (weightOf.sparsity)
      terms.sparsity = pointSquaredError(blendPoints(colourF, affine(alpha, -1, 1), [0, 0, 0]), zeroLike(colourF));
    if (weightOf.mask) terms.mask = bceLoss(alpha, batch.mask!);
  }
  terms.rgb = pointSquaredError(reconstruction, batch.rgb);

  // Rigidity at 1 px, and over the global step during the bootstrap.
  const r = batch.rigidity.coords.shape[0];
  if (r > 0) {
    const px = pixelSize(geometry);
    const rig = (uv: Tensor, dx: [number, number], dy: [number, number], step: number) =>
      rigidityLoss(slice(uv, [0, r]), slice(uv, dx), slice(uv, dy), step * px, MAPPING_SCALE);
    terms.rigidity = rig(uvB, sets.dx, sets.dy, 1);
    if (uvF) terms.rigidity = add(terms.rigidity, rig(uvF, sets.dx, sets.dy, 1));
    if (sets.globalDx[1] > 0) {
      const gp = cfg.globalRigidityPixels;
      terms.globalRigidity = rig(uvB, sets.globalDx, sets.globalDy, gp);
      if (uvF) {
        const f = rig(uvF, sets.globalDx, sets.globalDy, gp);
        terms.globalRigidity = add(
          terms.globalRigidity,
          affine(f, w.globalRigidityForeground / w.globalRigidityBackground),
        );
      }
    }
  }

  // Flow consistency, forward and backward, on the forward–backward-consistent points (weights: (1 − α) for the
  // background, α for the foreground, the FB mask for both; distances in frame pixels).
  if (m > 0) {
    const toPixels = 1 / uvPerPixel(geometry);
    const a0 = alphaAll ? slice(alphaAll, [0, m]) : null;
    moved.forEach(({ ok }, k) => {
      const span = k === 0 ? sets.forward : sets.backward;
      const weightB = a0 ? mul(affine(a0, -1, 1), ok) : ok;
      let f = affine(weightedPointDistance(slice(uvB, [0, m]), slice(uvB, span), weightB), toPixels);
      if (uvF && a0 && alphaAll) {
        f = add(f, affine(weightedPointDistance(slice(uvF, [0, m]), slice(uvF, span), mul(a0, ok)), toPixels));
        const af = weightedAbsDifference(a0, slice(alphaAll, [n + k * m, m]), ok);
        terms.alphaFlow = terms.alphaFlow ? add(terms.alphaFlow, af) : af;
      }
      terms.flow = terms.flow ? add(terms.flow, f) : f;
    });
  }

  let total: Tensor | null = null;
  for (const k of ATLAS_TERMS) {
    const t = terms[k];
    if (!t || weightOf[k] === 0) continue;
    const weighted = affine(t, weightOf[k]);
    total = total ? add(total, weighted) : weighted;
  }
  const values = engine.noGrad(() =>
    concat(
      ATLAS_TERMS.map((k) => (terms[k] ? reshape(terms[k]!, [1]) : zero())),
      0,
    ),
  );
  return { total: total!, values, reconstruction };
}

function zeroLike(t: Tensor): Tensor {
  return t.engine.zeros(t.shape, 'atlas-zeros');
}
