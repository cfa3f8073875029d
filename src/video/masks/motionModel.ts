/**
 * The background (camera) motion models of a frame pair: maps of the image plane, pixel (x, y) of frame t to its
 * place in frame t + 1, in the flow's pixel-centre coordinates. An affine map (6 parameters) covers pans, zooms and
 * in-plane rotation; a homography (8 parameters, h33 = 1) is the exact image motion of a plane, or of any scene
 * under a pure camera rotation.
 */

export type MotionModelKind = 'affine' | 'homography';

/** A 3×3 row-major matrix acting on (x, y, 1); the last row is (0, 0, 1) for an affine map. */
export type Matrix3 = Float64Array;

export const IDENTITY3: Readonly<Matrix3> = Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);

/** How many free parameters a model has. */
export function parameterCount(kind: MotionModelKind): number {
  return kind === 'affine' ? 6 : 8;
}

/** The model's parameters: [a11 a12 a13 a21 a22 a23] (affine) or [h11 … h32] (homography, h33 = 1). */
export function matrixParams(kind: MotionModelKind, m: Matrix3): number[] {
  return Array.from(m.subarray(0, parameterCount(kind)));
}

/** The matrix of a parameter vector (the inverse of matrixParams). */
export function paramsMatrix(kind: MotionModelKind, params: readonly number[]): Matrix3 {
  const m = Float64Array.from(IDENTITY3);
  for (let i = 0; i < parameterCount(kind); i++) m[i] = params[i];
  return m;
}

/** Where (x, y) goes: [x', y']. A point mapped to infinity (w ≈ 0) comes back as NaN. */
export function applyMatrix(m: Matrix3, x: number, y: number): [number, number] {
  const w = m[6] * x + m[7] * y + m[8];
  if (Math.abs(w) < 1e-12) return [NaN, NaN];
  return [(m[0] * x + m[1] * y + m[2]) / w, (m[3] * x + m[4] * y + m[5]) / w];
}

export function multiply3(a: Matrix3, b: Matrix3): Matrix3 {
  const out = new Float64Array(9);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += a[r * 3 + k] * b[k * 3 + c];
      out[r * 3 + c] = s;
    }
  }
  return out;
}

/** The inverse, scaled so that its m33 is 1 (null for a singular matrix or one whose m33 would be 0). */
export function invert3(m: Matrix3): Matrix3 | null {
  const [a, b, c, d, e, f, g, h, i] = m;
  const co = [e * i - f * h, c * h - b * i, b * f - c * e, f * g - d * i, a * i - c * g, c * d - a * f];
  const co2 = [d * h - e * g, b * g - a * h, a * e - b * d];
  const det = a * co[0] + b * co[3] + c * co2[0];
  if (!Number.isFinite(det) || Math.abs(det) < 1e-15) return null;
  const inv = Float64Array.of(co[0], co[1], co[2], co[3], co[4], co[5], co2[0], co2[1], co2[2]);
  if (Math.abs(inv[8]) < 1e-15) return null;
  const s = 1 / inv[8];
  for (let k = 0; k < 9; k++) inv[k] *= s;
  return inv;
}
