/**
 * The pair layout every flow kernel shares. With F frames there are n = F − 1 consecutive pairs; a batch of pairs
 * is either the n forward pairs alone (p < n: frame p → frame p + 1) or the forward pairs followed by the n backward
 * pairs (p = n + t: frame t + 1 → frame t). The *source* frame is the one the flow starts in (its pixel grid is the
 * flow's grid, I1 of the recipe); the *target* frame is the one it points into (I2). A forward pair and the backward
 * pair of the same two frames are *partners* (the forward–backward check compares them).
 */

/** WGSL: source frame, target frame and partner pair of pair p, with n = F − 1 forward pairs. */
export const PAIRS_WGSL = /* wgsl */ `
fn pairSource(p: u32, n: u32) -> u32 { return select(p - n + 1u, p, p < n); }
fn pairTarget(p: u32, n: u32) -> u32 { return select(p - n, p + 1u, p < n); }
fn pairPartner(p: u32, n: u32) -> u32 { return select(p - n, p + n, p < n); }`;

export interface PairFrames {
  /** The frame the flow starts in (its grid). */
  source: number;
  /** The frame the flow points into. */
  target: number;
}

/** The frames of pair p with n forward pairs (the TypeScript mirror of PAIRS_WGSL). */
export function pairFrames(p: number, n: number): PairFrames {
  return p < n ? { source: p, target: p + 1 } : { source: p - n + 1, target: p - n };
}

/** The partner of pair p (forward ↔ backward of the same two frames). */
export function pairPartner(p: number, n: number): number {
  return p < n ? p + n : p - n;
}
