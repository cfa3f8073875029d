/**
 * How much texture a frame has at each pixel: the smaller eigenvalue of the grey image's structure tensor
 * J = G_σ * [Ix², IxIy; IxIy, Iy²] (central differences, grey = mean of RGB in [0, 1]). Where it is small the flow
 * is not measured but filled in by the smoothness term from the surroundings (the aperture problem): a plain road or
 * calm water next to a moving car takes the car's motion, so such pixels cannot seed an object.
 */

/** A normalised 1-D Gaussian of radius ⌈3σ⌉. */
function gaussian(sigma: number): Float64Array {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = Float64Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const s = k.reduce((a, b) => a + b, 0);
  return k.map((v) => v / s);
}

/** Blurs, in place, the `n` values of `f` at offset + step·i (borders replicated, through the scratch `pad`). */
function blurLine(
  f: Float64Array,
  offset: number,
  step: number,
  n: number,
  kernel: Float64Array,
  pad: Float64Array,
): void {
  const r = (kernel.length - 1) / 2;
  for (let i = 0; i < n + 2 * r; i++) pad[i] = f[offset + step * Math.min(n - 1, Math.max(0, i - r))];
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let j = 0; j < kernel.length; j++) v += kernel[j] * pad[i + j];
    f[offset + step * i] = v;
  }
}

/** Separable blur with replicated borders, in place. */
function blur(f: Float64Array, width: number, height: number, kernel: Float64Array): void {
  const pad = new Float64Array(Math.max(width, height) + kernel.length);
  for (let y = 0; y < height; y++) blurLine(f, y * width, 1, width, kernel, pad);
  for (let x = 0; x < width; x++) blurLine(f, x, width, height, kernel, pad);
}

/** λ_min of the structure tensor of one frame given as RGB planes [3, H, W] in [0, 1]. */
export function textureStrength(rgb: Float32Array, width: number, height: number, sigma = 2): Float32Array {
  const hw = width * height;
  const grey = new Float64Array(hw);
  for (let k = 0; k < hw; k++) grey[k] = (rgb[k] + rgb[hw + k] + rgb[2 * hw + k]) / 3;
  const xx = new Float64Array(hw);
  const xy = new Float64Array(hw);
  const yy = new Float64Array(hw);
  for (let y = 0; y < height; y++) {
    const up = Math.max(0, y - 1) * width;
    const down = Math.min(height - 1, y + 1) * width;
    for (let x = 0; x < width; x++) {
      const k = y * width + x;
      const ix = 0.5 * (grey[y * width + Math.min(width - 1, x + 1)] - grey[y * width + Math.max(0, x - 1)]);
      const iy = 0.5 * (grey[down + x] - grey[up + x]);
      xx[k] = ix * ix;
      xy[k] = ix * iy;
      yy[k] = iy * iy;
    }
  }
  const kernel = gaussian(sigma);
  for (const f of [xx, xy, yy]) blur(f, width, height, kernel);
  const out = new Float32Array(hw);
  for (let k = 0; k < hw; k++) {
    const half = 0.5 * (xx[k] + yy[k]);
    const det = xx[k] * yy[k] - xy[k] * xy[k];
    out[k] = half - Math.sqrt(Math.max(0, half * half - det));
  }
  return out;
}
