/** Masks for the atlas's alpha bootstrap when the user gives none: motion masks, relevancy refinement, layer choice. */
export { motionMasks, motionMasksFromHost, type BackgroundMotionFits, type MotionMasks } from './motionMasks';
export { type MotionMaskOptions, resolveMotionMaskOptions } from './maskOptions';
export { RESIDUAL_THRESHOLD_DEFAULTS, type ResidualThresholdOptions } from './residualThreshold';
export { readFlowsToHost, type HostFlows } from './hostFlows';
export { refineMasksWithRelevancy, type RelevancyRefineOptions, type RelevancyRefinement } from './relevancyRefine';
export { combineWithRelevancy, type RelevancyCombineMode } from './relevancyCombine';
export {
  chooseLayers,
  NO_OBJECT_REASON,
  type LayerChoice,
  type LayerChoiceInput,
  type LayerMode,
} from './chooseLayers';
export { clipIou, coverage, iou } from './maskMetrics';
export type { MotionModelKind } from './motionModel';
