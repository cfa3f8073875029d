/** The flow's settings: the recipe's values (VIDEO_ATLAS.md §1) as defaults, validated before any GPU work. */
import { EngineError } from '../../gpu/errors';
import { type ConsistencyTolerance, DEFAULT_CONSISTENCY } from './consistency';
import { pyramidLevelsFor, pyramidSizes } from './pyramid';

export interface FlowOptions {
  /** Pyramid levels; default pyramidLevelsFor(H, W): 4 at 384×216, 5 at 768×432. */
  levels?: number;
  /** λ, the smoothness weight, for grey values in [0, 1] (default 0.01). */
  lambda?: number;
  /** ρ, the σ in pixels of the structure tensor's Gaussian at every level (default 1; 0: plain Horn–Schunck). */
  rho?: number;
  /** σ in pixels of the Gaussian applied before each 2× pooling of the pyramid (default 0.8). */
  pyramidSigma?: number;
  /** Warps (re-linearisations) per level (default 3). */
  warps?: number;
  /** Jacobi iterations per warp (default 30). */
  jacobiIterations?: number;
  /** A 3×3 median filter of the flow after each warp (default true). */
  median?: boolean;
  /** The forward–backward check: tolerances (default α = 0.01, β = 0.5 px²), motion-boundary test (default off). */
  consistency?: Partial<ConsistencyTolerance>;
}

export type ResolvedFlowOptions = Required<Omit<FlowOptions, 'consistency'>> & { consistency: ConsistencyTolerance };

export const FLOW_DEFAULTS = Object.freeze({
  lambda: 0.01,
  rho: 1,
  pyramidSigma: 0.8,
  warps: 3,
  jacobiIterations: 30,
  median: true,
});

function check(ok: boolean, message: string): void {
  if (!ok) throw new EngineError('computeFlows', message);
}

/** The options for H×W frames with every default filled in; throws an EngineError naming a bad value. */
export function resolveFlowOptions(h: number, w: number, opts: FlowOptions = {}): ResolvedFlowOptions {
  const r: ResolvedFlowOptions = {
    levels: opts.levels ?? pyramidLevelsFor(h, w),
    lambda: opts.lambda ?? FLOW_DEFAULTS.lambda,
    rho: opts.rho ?? FLOW_DEFAULTS.rho,
    pyramidSigma: opts.pyramidSigma ?? FLOW_DEFAULTS.pyramidSigma,
    warps: opts.warps ?? FLOW_DEFAULTS.warps,
    jacobiIterations: opts.jacobiIterations ?? FLOW_DEFAULTS.jacobiIterations,
    median: opts.median ?? FLOW_DEFAULTS.median,
    consistency: { ...DEFAULT_CONSISTENCY, ...opts.consistency },
  };
  check(Number.isInteger(r.levels) && r.levels >= 1, `levels must be a positive integer, got ${r.levels}`);
  check(r.lambda > 0 && Number.isFinite(r.lambda), `λ must be a positive number, got ${r.lambda}`);
  check(r.rho >= 0 && Number.isFinite(r.rho), `ρ must be ≥ 0, got ${r.rho}`);
  check(r.pyramidSigma > 0 && Number.isFinite(r.pyramidSigma), `pyramidSigma must be > 0, got ${r.pyramidSigma}`);
  check(Number.isInteger(r.warps) && r.warps >= 1, `warps must be a positive integer, got ${r.warps}`);
  check(
    Number.isInteger(r.jacobiIterations) && r.jacobiIterations >= 0,
    `jacobiIterations must be a non-negative integer, got ${r.jacobiIterations}`,
  );
  const { relative, absolute } = r.consistency;
  check(typeof r.consistency.motionBoundaries === 'boolean', 'consistency.motionBoundaries must be true or false');
  check(relative >= 0 && absolute >= 0, `consistency tolerances must be ≥ 0, got α ${relative}, β ${absolute}`);
  pyramidSizes(h, w, r.levels);
  return r;
}
