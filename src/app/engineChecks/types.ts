/** What an engine check is and what it reports; shared by the checks in this folder and the page (engineCheck.ts). */
import type { Engine } from '../../gpu/engine';

/** What a check measured. */
export interface CheckOutcome {
  /** The headline error: the largest of `errors` (or, where a check says so, its main one), compared with `tolerance`. */
  maxError: number;
  tolerance: number;
  /** Every measured error by case, e.g. `{ 'mul: grad of input 0': 2e-7 }`. */
  errors: Record<string, number>;
  /** Per-error tolerances where they differ from `tolerance` (e.g. an absolute output error next to relative gradient errors). */
  tolerances?: Record<string, number>;
  /** Rules the check found broken besides an error above its tolerance; any entry fails the check. */
  failures?: string[];
  /** Facts to report with the result, e.g. the name of the worst parameter. */
  notes?: Record<string, string | number>;
  /** A one-line summary to show instead of the default "Max error … (tolerance …)". */
  summary?: string;
}

/** Options a check may take, from `window.__engineCheck.run(name, options)`, e.g. `{ fixture: '/my/fixture.safetensors' }`. */
export type CheckOptions = Record<string, string | undefined>;

export interface EngineCheck {
  title: string;
  description: string;
  run(engine: Engine, options: CheckOptions): Promise<CheckOutcome>;
}

/** The tolerance of one error of an outcome. */
export function toleranceOf(o: CheckOutcome, key: string): number {
  return o.tolerances?.[key] ?? o.tolerance;
}

/** The verdict: no failures, at least one error, every error (NaN fails) within its tolerance, and the headline too. */
export function passes(o: CheckOutcome): boolean {
  const entries = Object.entries(o.errors);
  if (o.failures?.length || entries.length === 0) return false;
  return o.maxError <= o.tolerance && entries.every(([k, v]) => v <= toleranceOf(o, k));
}

/** An outcome whose headline is the largest error, all under one tolerance. */
export function outcome(errors: Record<string, number>, tolerance: number): CheckOutcome {
  const values = Object.values(errors);
  // NaN must fail, and Math.max propagates it.
  return { maxError: values.length ? Math.max(...values) : NaN, tolerance, errors };
}
