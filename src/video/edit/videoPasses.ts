/**
 * The generator passes of one video step (spec §B.5): the atlas crop's edit warped into three frames, the direct
 * pass over one frame window, and on whole-atlas steps the whole atlas. Each is a GeneratorPass of the image job,
 * so the losses, CLIP views, accumulation and backward are the image job's own (accumulatePassGradients).
 *
 * Warping samples the rendered atlas (composite, green-screen composite, alpha) at each window's grid, bilinear with
 * clamp-to-edge (texturePyramidSample with one level; gradients flow to the atlas texels). The reference's clamp to
 * [0, 1] after grid_sample is the identity here: bilinear weights are non-negative and sum to 1, so samples of values
 * in [0, 1] stay in [0, 1]. In foreground mode every warped output is multiplied by the frame's α (the green screen
 * shows through where α is 0), while the loss input stays unmultiplied (the §B.6 quirk).
 */
import { renderOutput, type GeneratorPass } from '../../edit/job';
import type { LossItem } from '../../edit/losses';
import type { Tensor } from '../../gpu/tensor';
import { GREEN_SCREEN, alphaComposite } from '../../ops/composite';
import { mul } from '../../ops/elementwise';
import { concat, narrow, reshape, transpose } from '../../ops/shape';
import { texturePyramidSample } from '../../ops/texturePyramid';
import type { EditLayer } from './layerData';

const BLACK: readonly [number, number, number] = [0, 0, 0];

/** image [1,C,H,W] sampled at grid [h·w, 2] (normalised, align_corners = false) → [1,C,h,w]; differentiable in image. */
export function sampleAtGrid(image: Tensor, grid: Tensor, h: number, w: number): Tensor {
  const [n, c, H, W] = image.shape;
  if (n !== 1 || grid.shape[0] !== h * w || grid.shape[1] !== 2) {
    throw new Error(`sampleAtGrid: needs one image and a [${h * w},2] grid, got [${image.shape}] and [${grid.shape}]`);
  }
  const points = texturePyramidSample([reshape(image, [c, H, W])], grid);
  return reshape(transpose(points, [1, 0]), [1, c, h, w]);
}

/** One frame window of a step, on the GPU. */
export interface WindowTensors {
  /** [h·w, 2] the window's grid into the atlas crop. */
  grid: Tensor;
  /** [1,1,h,w] α in the window. */
  alpha: Tensor;
  /** [1,3,h,w] the layer input in the window (jittered). */
  input: Tensor;
}

/** The atlas crop's pass: G(crop), rendered over the crop, warped into each window. */
export function atlasCropPass(layer: EditLayer, crop: Tensor, windows: readonly WindowTensors[]): GeneratorPass {
  return {
    items: windows.length,
    run(generator) {
      const r = renderOutput(generator.forward(crop), crop);
      // One sampling pass for the three rendered keys (7 channels).
      const rendered = concat([r.composite, r.greenscreen, r.alpha], 1);
      return windows.map((win): LossItem => {
        const [, , h, w] = win.alpha.shape;
        const warped = sampleAtGrid(rendered, win.grid, h, w);
        let composite = narrow(warped, 1, 0, 3);
        let greenscreen = narrow(warped, 1, 3, 3);
        let alpha = narrow(warped, 1, 6, 1);
        if (layer === 'foreground') {
          composite = alphaComposite(composite, win.alpha, BLACK);
          greenscreen = alphaComposite(greenscreen, win.alpha, GREEN_SCREEN);
          alpha = mul(alpha, win.alpha);
        }
        const input = crop.engine.noGrad(() => sampleAtGrid(crop, win.grid, h, w));
        return { input, composite, greenscreen, alpha };
      });
    },
  };
}

/** The direct pass over one frame window: G(input), confined by α in foreground mode, composited over the input. */
export function framePass(layer: EditLayer, win: Pick<WindowTensors, 'alpha' | 'input'>): GeneratorPass {
  return {
    items: 1,
    run(generator) {
      const out = generator.forward(win.input);
      let edit = narrow(out, 1, 0, 3);
      let alpha = narrow(out, 1, 3, 1);
      if (layer === 'foreground') {
        edit = alphaComposite(edit, win.alpha, BLACK);
        alpha = mul(alpha, win.alpha);
      }
      return [
        {
          input: win.input,
          composite: alphaComposite(edit, alpha, win.input),
          greenscreen: alphaComposite(edit, alpha, GREEN_SCREEN),
          alpha,
        },
      ];
    },
  };
}
