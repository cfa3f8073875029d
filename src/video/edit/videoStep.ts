/**
 * One video step's gradients (spec §B.4–B.6): the sample's arrays uploaded, the colour jitter applied on the GPU, and
 * the passes (atlas crop warped into three frames, the direct frame pass, the whole atlas on whole-atlas steps) run
 * through the image job's accumulatePassGradients, whose losses use the video configuration (§B.1: λ_struct 3,
 * n_aug 6, fill 0, …). Items in order: the three warps, the direct pass, then the whole atlas; the bootstrap term
 * judges the last of them, as the reference's loss module does.
 */
import { jitterImages } from '../../edit/clipViews';
import { accumulatePassGradients, imagePass, type GeneratorPass } from '../../edit/job';
import { drawStep, type LossContext, type StepPlan } from '../../edit/losses';
import type { Engine } from '../../gpu/engine';
import type { Tensor } from '../../gpu/tensor';
import type { SkipGenerator } from '../../nn/skip';
import { cropRaster, type StepSample } from './stepSample';
import type { LayerData } from './layerData';
import { atlasCropPass, framePass, type WindowTensors } from './videoPasses';

/** The reference's entire_atlas_every. */
export const WHOLE_ATLAS_EVERY = 75;

/** Whether step `step` (0-based) adds the whole atlas: (step + 1) % 75 == 0. */
export function isWholeAtlasStep(step: number, every = WHOLE_ATLAS_EVERY): boolean {
  return every > 0 && (step + 1) % every === 0;
}

/** The step's tensors: the jittered atlas crop and the three windows. */
export interface StepTensors {
  crop: Tensor;
  windows: WindowTensors[];
}

export function uploadStep(engine: Engine, data: LayerData, sample: StepSample): StepTensors {
  const { crop: box, flip } = sample;
  const cw = box.u1 - box.u0;
  const ch = box.v1 - box.v0;
  return engine.noGrad(() => {
    const raw = engine.fromArray([1, 3, ch, cw], cropRaster(data, box, flip), 'video-atlas-crop');
    const crop = jitterImages(raw, [sample.atlasJitter]);
    const windows = sample.windows.map((win, i): WindowTensors => {
      const input = engine.fromArray([1, 3, win.h, win.w], sample.inputs[i], 'video-window-input');
      return {
        grid: engine.fromArray([win.h * win.w, 2], sample.grids[i], 'video-window-grid'),
        alpha: engine.fromArray([1, 1, win.h, win.w], sample.alphas[i], 'video-window-alpha'),
        input: jitterImages(input, [sample.inputJitters[i]]),
      };
    });
    return { crop, windows };
  });
}

/** The passes of a step, in item order. `whole` is the whole-atlas input on whole-atlas steps, else null. */
export function stepPasses(
  layer: LayerData['layer'],
  t: StepTensors,
  direct: number,
  whole: Tensor | null,
): GeneratorPass[] {
  const passes = [atlasCropPass(layer, t.crop, t.windows), framePass(layer, t.windows[direct])];
  if (whole) passes.push(imagePass(whole));
  return passes;
}

/**
 * The gradients of step `step` (left in the generator's `.grad`), its loss terms and their weights. `relevancyOf`
 * gives the bootstrap target of the last item (or null). Call it inside a scope (engine.tidy) that also runs the
 * optimizer: the uploaded sample and the gradients live until that scope ends.
 */
export function accumulateVideoStep(
  ctx: LossContext,
  generator: SkipGenerator,
  data: LayerData,
  sample: StepSample,
  step: number,
  whole: Tensor | null,
  relevancyOf: ((last: Tensor, plan: Omit<StepPlan, 'relevancy'>) => Tensor | null) | null = null,
): { values: Tensor; weights: number[] } {
  const engine = ctx.engine;
  const t = uploadStep(engine, data, sample);
  const last = whole ?? t.windows[sample.direct].input;
  const draws = drawStep(ctx, step, [last.shape[2], last.shape[3]]);
  const relevancy = relevancyOf ? relevancyOf(last, { step, draws }) : null;
  return accumulatePassGradients(ctx, generator, stepPasses(data.layer, t, sample.direct, whole), {
    step,
    draws,
    relevancy,
  });
}
