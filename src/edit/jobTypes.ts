/**
 * What an edit job reports, shared by the job (src/edit/job.ts), the worker protocol and the UI.
 * Plain data only: everything here crosses postMessage.
 */

/** 8-bit RGBA pixels, row-major (the layout of ImageData). */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

/**
 * The loss terms of one step (spec §A.8), unweighted, plus the weighted total. A term whose weight is 0 is not
 * computed and reads 0.
 */
export interface LossTerms {
  total: number;
  composition: number;
  direction: number;
  screen: number;
  structure: number;
  sparsityL0: number;
  sparsityL1: number;
  bootstrap: number;
}

export interface StepReport {
  /** 1-based index of the optimizer step just taken. */
  step: number;
  totalSteps: number;
  losses: LossTerms;
  /** Learning rate used by this step. */
  lr: number;
  /** Whether the un-augmented full image was part of this step (every `sourceImageEvery` steps). */
  fullImageStep: boolean;
}

/** The four renders of the edit (spec §A.5). `edit` carries the alpha in its A channel. */
export interface EditRenders {
  composite: RgbaImage;
  edit: RgbaImage;
  alpha: RgbaImage;
  greenscreen: RgbaImage;
}

export type RenderKind = keyof EditRenders;

export const RENDER_KINDS: readonly RenderKind[] = ['composite', 'edit', 'alpha', 'greenscreen'];
