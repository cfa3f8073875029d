/**
 * Synthetic scenes with known motion for the optical-flow proofs: smooth random textures (sums of sinusoids, so any
 * sub-pixel position can be evaluated exactly, with no resampling error), moved by a known transform.
 */
import type { Engine } from '../src/gpu/engine';
import type { Tensor } from '../src/gpu/tensor';
import { type Planes, planes, shapeOf } from './flowReference';
import { rand } from './gpu';

/** A smooth RGB texture with values in (0.05, 0.95): tex(x, y) → [r, g, b]. */
export type Texture = (x: number, y: number) => [number, number, number];

/**
 * A smooth random texture with the contrast of natural images: a sum of `waves` sinusoids with random directions,
 * wavelengths in [minPeriod, maxPeriod] px and phases, shared by the channels (so the grey image keeps the
 * contrast), plus a weaker sum per channel for colour; squashed by tanh into (0.05, 0.95), which steepens the
 * gradients like edges do without losing smoothness.
 */
export function smoothTexture(seed: number, waves = 8, minPeriod = 6, maxPeriod = 20): Texture {
  const r = rand(waves * 4 * 4, seed, 0, 1);
  const comps = Array.from({ length: 4 * waves }, (_, k) => {
    const angle = 2 * Math.PI * r[4 * k];
    const period = minPeriod + (maxPeriod - minPeriod) * r[4 * k + 1];
    const freq = (2 * Math.PI) / period;
    return {
      kx: freq * Math.cos(angle),
      ky: freq * Math.sin(angle),
      phase: 2 * Math.PI * r[4 * k + 2],
      amp: 0.5 + r[4 * k + 3],
    };
  });
  const wave = (set: number, x: number, y: number) => {
    let s = 0;
    let norm = 0;
    for (let k = 0; k < waves; k++) {
      const w = comps[set * waves + k];
      s += w.amp * Math.sin(w.kx * x + w.ky * y + w.phase);
      norm += w.amp;
    }
    return s / norm;
  };
  return (x, y) => {
    const common = wave(0, x, y);
    const out: [number, number, number] = [0, 0, 0];
    for (let c = 0; c < 3; c++) out[c] = 0.5 + 0.45 * Math.tanh(3 * (common + 0.3 * wave(c + 1, x, y)));
    return out;
  };
}

/** An image [1,3,H,W] with pixel (x, y) = colour(x, y). */
export function render(h: number, w: number, colour: Texture): Planes {
  const img = planes(1, 3, h, w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const rgb = colour(x, y);
      for (let c = 0; c < 3; c++) img.data[(c * h + y) * w + x] = rgb[c];
    }
  }
  return img;
}

/** Frames stacked into one [F,3,H,W] array. */
export function stack(frames: readonly Planes[]): Planes {
  const [, c, h, w] = shapeOf(frames[0]);
  const out = planes(frames.length, c, h, w);
  frames.forEach((f, k) => out.data.set(f.data, k * c * h * w));
  return out;
}

/** A rigid motion x ↦ c + R(θ)(x − c) + d of the image plane. */
export interface Rigid {
  dx: number;
  dy: number;
  /** Degrees, counter-clockwise in (x right, y down) coordinates as a rotation matrix [[cos, −sin], [sin, cos]]. */
  angle: number;
  cx: number;
  cy: number;
}

export function applyRigid(m: Rigid, x: number, y: number): [number, number] {
  const t = (m.angle * Math.PI) / 180;
  const [px, py] = [x - m.cx, y - m.cy];
  return [m.cx + Math.cos(t) * px - Math.sin(t) * py + m.dx, m.cy + Math.sin(t) * px + Math.cos(t) * py + m.dy];
}

export function invertRigid(m: Rigid, x: number, y: number): [number, number] {
  const t = (-m.angle * Math.PI) / 180;
  const [px, py] = [x - m.dx - m.cx, y - m.dy - m.cy];
  return [m.cx + Math.cos(t) * px - Math.sin(t) * py, m.cy + Math.sin(t) * px + Math.cos(t) * py];
}

export function toTensor(e: Engine, p: Planes): Tensor {
  return e.fromArray(shapeOf(p), p.data);
}

export async function toPlanes(t: Tensor): Promise<Planes> {
  const [n, c, h, w] = t.shape;
  return planes(n, c, h, w, await t.read());
}

/** Uploads `inputs`, runs fn on them and reads its output back (everything released afterwards). */
export async function runOnGpu(e: Engine, inputs: readonly Planes[], fn: (...ts: Tensor[]) => Tensor): Promise<Planes> {
  const out = e.tidy(() => fn(...inputs.map((p) => toTensor(e, p))));
  try {
    return await toPlanes(out);
  } finally {
    out.release();
  }
}
