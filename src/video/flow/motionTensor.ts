/**
 * The CLG data term's motion tensor per pair (Bruhn et al. 2005). Derivatives are taken at the flow of the warp's
 * start: Ix, Iy are the 5-tap central differences (−1, 8, 0, −8, 1)/12 (Sun et al.) averaged over the source
 * frame I1 and the warped target I2w, and It = I2w − I1 (borders replicated). The products
 * [Ix², IxIy, Iy², IxIt, IyIt] are then smoothed with G_ρ: J = G_ρ ∗ products (the "local" part of
 * Combined Local-Global), channels 0..4 = J11, J12, J22, J13, J23.
 */
import { Params } from '../../gpu/params';
import type { Tensor } from '../../gpu/tensor';
import { perElementOutput, perElementWgsl, UNRAVEL_WGSL } from '../../ops/common';
import { dims4, expectShape, forwardPairs } from './checks';
import { blurAxis } from './gaussian';
import { PAIRS_WGSL } from './pairs';
import { CLAMPED_INDEX_WGSL } from './sampling';

/** Channels of the motion tensor: J11, J12, J22, J13, J23. */
export const MOTION_TENSOR_CHANNELS = 5;

/** The 5-tap derivative's weights at offsets −2..2 (exact for polynomials up to degree 4). */
export const DERIVATIVE_TAPS = [1 / 12, -8 / 12, 0, 8 / 12, -1 / 12] as const;

const PRODUCTS_WGSL = perElementWgsl({
  fields: 'h: u32, w: u32, pairs: u32',
  read: ['images', 'warped'],
  write: ['products'],
  helpers: `${UNRAVEL_WGSL}${PAIRS_WGSL}${CLAMPED_INDEX_WGSL}
/** images at plane a plus warped at plane b, pixel (x, y) clamped into the plane. */
fn bothAt(a: u32, b: u32, x: i32, y: i32, w: u32, h: u32) -> f32 {
  return images[clampedIndex(a, x, y, w, h)] + warped[clampedIndex(b, x, y, w, h)];
}
/** The 5-tap derivative of (plane a of images + plane b of warped) along (dx, dy) at (x, y). */
fn derivativeSum(a: u32, b: u32, x: i32, y: i32, dx: i32, dy: i32, w: u32, h: u32) -> f32 {
  let m2 = bothAt(a, b, x - 2 * dx, y - 2 * dy, w, h);
  let m1 = bothAt(a, b, x - dx, y - dy, w, h);
  let p1 = bothAt(a, b, x + dx, y + dy, w, h);
  let p2 = bothAt(a, b, x + 2 * dx, y + 2 * dy, w, h);
  return (m2 - 8.0 * m1 + 8.0 * p1 - p2) / 12.0;
}`,
  body: `
  let at = unravel3(i, p.h, p.w);
  let hw = p.h * p.w;
  let a = pairSource(at.x, p.pairs) * hw;
  let b = at.x * hw;
  let x = i32(at.z);
  let y = i32(at.y);
  let pix = at.y * p.w + at.z;
  let ix = 0.5 * derivativeSum(a, b, x, y, 1, 0, p.w, p.h);
  let iy = 0.5 * derivativeSum(a, b, x, y, 0, 1, p.w, p.h);
  let it = warped[b + pix] - images[a + pix];
  let o = at.x * ${MOTION_TENSOR_CHANNELS}u * hw + pix;
  products[o] = ix * ix;
  products[o + hw] = ix * iy;
  products[o + 2u * hw] = iy * iy;
  products[o + 3u * hw] = ix * it;
  products[o + 4u * hw] = iy * it;`,
});

/**
 * The unsmoothed products [Ix², IxIy, Iy², IxIt, IyIt] per pair: images [F,1,H,W] (the grey frames of one level),
 * warped [P,1,H,W] (each pair's target warped onto its source, warpTargets) → [P,5,H,W].
 */
export function motionProducts(images: Tensor, warped: Tensor): Tensor {
  const op = 'motionProducts';
  const [f, , h, w] = dims4(op, images, 'images', 1);
  const pairs = warped.shape[0];
  expectShape(op, warped, 'warped', [pairs, 1, h, w]);
  const n = forwardPairs(op, f, pairs);
  return perElementOutput({
    name: 'flow-motion-products',
    code: PRODUCTS_WGSL,
    params: new Params()
      .u32(pairs * h * w)
      .u32(h)
      .u32(w)
      .u32(n),
    read: [images, warped],
    shape: [pairs, MOTION_TENSOR_CHANNELS, h, w],
    count: pairs * h * w,
  });
}

/**
 * J = G_ρ ∗ motionProducts(images, warped), [P,5,H,W]; ρ = 0 leaves the products unsmoothed (Horn–Schunck). Each
 * intermediate is released as soon as the next pass has read it, so at most two [P,5,H,W] tensors are live.
 */
export function structureTensor(images: Tensor, warped: Tensor, rho: number): Tensor {
  const products = motionProducts(images, warped);
  if (rho <= 0) return products;
  const alongX = blurAxis(products, rho, 'x');
  products.release();
  const j = blurAxis(alongX, rho, 'y');
  alongX.release();
  return j;
}
