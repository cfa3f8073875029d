/**
 * The coordinates of the layered atlas (VIDEO_ATLAS.md §2): a pixel centre (px, py) of a W×H frame maps to
 * x = (px + ½ − W/2)·2/W ∈ (−1, 1) and y = (py + ½ − H/2)·2/W ∈ (−H/W, H/W) (both normalised by the width, so a
 * pixel is square), and frame t of F to t' = 2t/(F − 1) − 1 ∈ [−1, 1]. The mappings are residual around
 * uv = S·(x, y) with S = ½, so the atlas [−1, 1]² has room for the content of every frame (a pan widens it).
 */

/** The identity scale of the mappings: uv = S·(x, y) + MLP(x, y, t). */
export const MAPPING_SCALE = 0.5;

export interface FrameGeometry {
  width: number;
  height: number;
  frames: number;
}

/** Normalised x of a pixel coordinate (px may be fractional: a pixel's centre is px + ½). */
export function normX(g: FrameGeometry, px: number): number {
  return ((px + 0.5 - g.width / 2) * 2) / g.width;
}

export function normY(g: FrameGeometry, py: number): number {
  return ((py + 0.5 - g.height / 2) * 2) / g.width;
}

export function normT(g: FrameGeometry, t: number): number {
  return g.frames > 1 ? (2 * t) / (g.frames - 1) - 1 : 0;
}

/** One frame pixel in normalised units (the same along x and y). */
export function pixelSize(g: FrameGeometry): number {
  return 2 / g.width;
}

/** uv distances in frame pixels: a pixel moves uv by S·2/W under the identity mapping. */
export function uvPerPixel(g: FrameGeometry): number {
  return MAPPING_SCALE * pixelSize(g);
}

/** The atlas texel (column, row; fractional) of uv on an R×R raster, texel centres at align_corners = false. */
export function uvToTexel(u: number, v: number, resolution: number): [number, number] {
  return [((u + 1) / 2) * resolution - 0.5, ((v + 1) / 2) * resolution - 0.5];
}
