/**
 * WGSL sampling helpers of the flow kernels: planes of h×w floats stored row-major at an offset `base` of a storage
 * array, addressed in index coordinates (pixel (x, y) is the sample at x, y; no half-pixel shift), borders clamped
 * (replicated): a tap outside the plane reads the nearest edge pixel. WGSL functions cannot take a storage array as
 * an argument, so the bilinear sampler is generated once per array name.
 */

/** WGSL: the flat index of pixel (x, y) of the plane at `base`, clamped into the plane. */
export const CLAMPED_INDEX_WGSL = /* wgsl */ `
fn clampedIndex(base: u32, x: i32, y: i32, w: u32, h: u32) -> u32 {
  return base + u32(clamp(y, 0, i32(h) - 1)) * w + u32(clamp(x, 0, i32(w) - 1));
}`;

/**
 * WGSL: `sample_<array>(base, sx, sy, w, h)`, the bilinear sample of the plane of `array` at `base` at the real
 * position (sx, sy), with the position clamped into [0, w − 1] × [0, h − 1] (clamp-to-edge).
 */
export function bilinearClampedWgsl(array: string): string {
  return /* wgsl */ `
fn sample_${array}(base: u32, sx: f32, sy: f32, w: u32, h: u32) -> f32 {
  let cx = clamp(sx, 0.0, f32(w - 1u));
  let cy = clamp(sy, 0.0, f32(h - 1u));
  let x0 = u32(cx);
  let y0 = u32(cy);
  let x1 = min(x0 + 1u, w - 1u);
  let y1 = min(y0 + 1u, h - 1u);
  let fx = cx - f32(x0);
  let fy = cy - f32(y0);
  let top = mix(${array}[base + y0 * w + x0], ${array}[base + y0 * w + x1], fx);
  let bottom = mix(${array}[base + y1 * w + x0], ${array}[base + y1 * w + x1], fx);
  return mix(top, bottom, fy);
}`;
}
