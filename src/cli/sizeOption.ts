/**
 * A `--size WIDTHxHEIGHT` option (the bench commands and `text2live atlas`): "384x216" or "384×216", both sides
 * whole numbers in [min, max]. Each command throws its own usage error with `sizeOptionMessage`.
 */
import type { SizeBound } from './atlasClip';

export interface SizeLimits {
  min: number;
  max: number;
}

/** The size, or null when `raw` is not WIDTHxHEIGHT within the limits. */
export function parseSizeText(raw: string, { min, max }: SizeLimits): SizeBound | null {
  const m = /^(\d+)[x×](\d+)$/.exec(raw.trim());
  if (!m) return null;
  const size = { width: Number(m[1]), height: Number(m[2]) };
  const ok = (v: number) => v >= min && v <= max;
  return ok(size.width) && ok(size.height) ? size : null;
}

export function sizeOptionMessage(name: string, raw: string, { min, max }: SizeLimits): string {
  return `--${name} must be WIDTHxHEIGHT with both sides in ${min}..${max} (e.g. 384x216), got "${raw}"`;
}
