/** Optical flow for video: coarse-to-fine CLG flow of every consecutive pair, FB masks, quality figures. */
export { computeFlows, type FlowField } from './computeFlows';
export { FLOW_DEFAULTS, type FlowOptions, type ResolvedFlowOptions, resolveFlowOptions } from './options';
export { flowStats, type FlowStats } from './stats';
export { flowDispatchCount, flowFlopEstimate } from './cost';
export { pyramidLevelsFor } from './pyramid';
export { computeFlowsInBatches, flowPairsPerBatch, FLOW_BATCH_BYTES, FLOW_BYTES_PER_PAIR_PIXEL } from './batchedFlows';
