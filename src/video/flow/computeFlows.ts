/**
 * Coarse-to-fine CLG optical flow (Bruhn et al. 2005) for every consecutive pair of a clip, both directions, with
 * the forward–backward validity masks: the recipe of VIDEO_ATLAS.md §1. All 2(F − 1) pairs are one batch in every
 * dispatch, so the dispatch count depends on the settings and not on the frame count (cost.ts).
 *
 * Per level, coarsest first, starting from zero flow: `warps` times { warp each target frame onto its source with
 * the current flow, build the motion tensor there (structureTensor), run `jacobiIterations` Jacobi iterations from
 * the current flow, 3×3 median }; then upsample the flow (values ×2) to the next finer level. Finally the
 * forward–backward check.
 */
import type { Engine } from '../../gpu/engine';
import { EngineError, shapeStr } from '../../gpu/errors';
import type { Tensor } from '../../gpu/tensor';
import { dims4 } from './checks';
import { forwardBackwardValid } from './consistency';
import { rgbToGrey } from './grey';
import { jacobiStep } from './jacobi';
import { median3x3 } from './median';
import { structureTensor } from './motionTensor';
import { type FlowOptions, type ResolvedFlowOptions, resolveFlowOptions } from './options';
import { buildPyramid } from './pyramid';
import { upsampleFlow } from './upsample';
import { warpTargets } from './warp';

/**
 * Flows between consecutive frames, in pixels: pixel (x, y) of frame t moves to (x + u, y + v) in frame t + 1
 * (forward), resp. pixel (x, y) of frame t + 1 to (x + u, y + v) in frame t (backward). Channel 0 is u
 * (horizontal), channel 1 is v (vertical).
 */
export interface FlowField {
  /** [F − 1, 2, H, W]: frame t → t + 1. */
  forward: Tensor;
  /** [F − 1, 2, H, W]: frame t + 1 → t. */
  backward: Tensor;
  /** [F − 1, 1, H, W]: 1 where the forward flow passes the forward–backward check and x + f is inside, else 0. */
  forwardValid: Tensor;
  /** [F − 1, 1, H, W]: likewise for the backward flow. */
  backwardValid: Tensor;
}

/** One warp at one level: re-linearise at `flow`, iterate, filter. Returns the new flow (`flow` is kept). */
function refine(engine: Engine, grey: Tensor, flow: Tensor, o: ResolvedFlowOptions): Tensor {
  return engine.tidy(() => {
    const warped = warpTargets(grey, flow);
    const tensor = structureTensor(grey, warped, o.rho);
    warped.release();
    let current = flow;
    for (let k = 0; k < o.jacobiIterations; k++) {
      const next = jacobiStep(tensor, flow, current, o.lambda);
      if (current !== flow) current.release();
      current = next;
    }
    if (o.median) {
      const filtered = median3x3(current);
      if (current !== flow) current.release();
      current = filtered;
    }
    return current;
  });
}

/** Pairs [from, from + count) of `all` [P,C,H,W] as a new tensor (a buffer copy, no dispatch). */
function slicePairs(engine: Engine, all: Tensor, from: number, count: number, label: string): Tensor {
  const [, c, h, w] = all.shape;
  const out = engine.empty([count, c, h, w], label);
  const bytes = c * h * w * 4;
  engine.copy(all, out, count * bytes, from * bytes, 0);
  return out;
}

/**
 * The forward and backward flows of every consecutive pair of `frames` [F,3,H,W] (RGB in [0, 1], F ≥ 2) with their
 * validity masks. The returned tensors belong to the caller's scope (release them, or call inside engine.tidy).
 */
export function computeFlows(engine: Engine, frames: Tensor, opts: FlowOptions = {}): FlowField {
  const op = 'computeFlows';
  const [f, , h, w] = dims4(op, frames, 'frames', 3);
  if (f < 2) throw new EngineError(op, `needs at least two frames, got ${shapeStr(frames.shape)}`);
  if (frames.engine !== engine) throw new EngineError(op, 'frames belong to another engine');
  const o = resolveFlowOptions(h, w, opts);
  const n = f - 1;
  return engine.noGrad(() =>
    engine.tidy(() => {
      const pyramid = buildPyramid(rgbToGrey(frames), o.levels, o.pyramidSigma);
      let flow: Tensor | null = null;
      for (let l = o.levels - 1; l >= 0; l--) {
        const [lh, lw] = pyramid[l].shape.slice(2);
        let levelFlow: Tensor = flow ? upsampleFlow(flow, lh, lw) : engine.zeros([2 * n, 2, lh, lw], 'flow-zero');
        flow?.release();
        for (let k = 0; k < o.warps; k++) {
          const next = refine(engine, pyramid[l], levelFlow, o);
          if (next !== levelFlow) levelFlow.release();
          levelFlow = next;
        }
        pyramid[l].release();
        flow = levelFlow;
      }
      const all = flow!;
      const valid = forwardBackwardValid(all, o.consistency);
      return {
        forward: slicePairs(engine, all, 0, n, 'flow-forward'),
        backward: slicePairs(engine, all, n, n, 'flow-backward'),
        forwardValid: slicePairs(engine, valid, 0, n, 'flow-forward-valid'),
        backwardValid: slicePairs(engine, valid, n, n, 'flow-backward-valid'),
      };
    }),
  );
}
