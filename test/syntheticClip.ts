/**
 * A synthetic two-layer clip for video tests: a smooth textured background panning at a constant velocity and a
 * textured disc moving across it at another, with the disc's true mask and the true motion of every pixel. Small
 * enough for SwiftShader (e.g. 48×32, 8 frames), and everything is known, so flow, reconstruction, alpha and edit
 * propagation can be checked against the truth.
 */
import type { RgbaImage } from '../src/edit/jobTypes';
import { Rng } from '../src/nn/rng';

export interface SyntheticClipOptions {
  width?: number;
  height?: number;
  frames?: number;
  /** Background motion in px per frame (the content moves by this; a camera pan the other way). */
  background?: [number, number];
  /** Disc motion in px per frame, its radius in px and its centre in frame 0. */
  disc?: { velocity: [number, number]; radius: number; start: [number, number] };
  seed?: number;
}

export interface SyntheticClip {
  width: number;
  height: number;
  frames: RgbaImage[];
  /** 255 inside the disc. */
  masks: Uint8Array[];
  /** Where pixel (x, y) of frame t is in frame t + 1: the disc's motion inside the disc, the background's outside. */
  motion(t: number, x: number, y: number): [number, number];
  background: [number, number];
  discVelocity: [number, number];
  radius: number;
  discCentre(t: number): [number, number];
}

/** A smooth random RGB texture: a few sinusoids with random frequencies and phases per channel, in [0.1, 0.9]. */
function texture(rng: Rng, waves: number, maxFreq: number) {
  const terms = Array.from({ length: 3 }, () =>
    Array.from({ length: waves }, () => ({
      fx: rng.uniform(-maxFreq, maxFreq),
      fy: rng.uniform(-maxFreq, maxFreq),
      phase: rng.uniform(0, 2 * Math.PI),
    })),
  );
  return (x: number, y: number, c: number) => {
    let v = 0;
    for (const t of terms[c]) v += Math.sin(2 * Math.PI * (t.fx * x + t.fy * y) + t.phase);
    return 0.5 + (0.4 * v) / waves;
  };
}

export function syntheticClip(opts: SyntheticClipOptions = {}): SyntheticClip {
  const width = opts.width ?? 48;
  const height = opts.height ?? 32;
  const count = opts.frames ?? 8;
  const background = opts.background ?? [1.25, 0.5];
  const disc = opts.disc ?? { velocity: [-1.5, 0.75], radius: 7, start: [width * 0.62, height * 0.42] };
  const rng = new Rng(opts.seed ?? 7);
  const bg = texture(rng, 4, 0.08);
  const fg = texture(rng, 3, 0.15);
  const discCentre = (t: number): [number, number] => [
    disc.start[0] + disc.velocity[0] * t,
    disc.start[1] + disc.velocity[1] * t,
  ];
  const inDisc = (t: number, x: number, y: number) => {
    const [cx, cy] = discCentre(t);
    return (x - cx) ** 2 + (y - cy) ** 2 <= disc.radius ** 2;
  };
  const frames: RgbaImage[] = [];
  const masks: Uint8Array[] = [];
  for (let t = 0; t < count; t++) {
    const data = new Uint8ClampedArray(width * height * 4);
    const mask = new Uint8Array(width * height);
    const [cx, cy] = discCentre(t);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        // Pixel centres; the background content at (x, y) of frame t came from (x, y) − t·velocity.
        const px = x + 0.5;
        const py = y + 0.5;
        const inside = inDisc(t, px, py);
        const sample = inside
          ? (c: number) => fg(px - cx, py - cy, c)
          : (c: number) => bg(px - background[0] * t, py - background[1] * t, c);
        const k = y * width + x;
        for (let c = 0; c < 3; c++) data[4 * k + c] = Math.round(255 * sample(c));
        data[4 * k + 3] = 255;
        mask[k] = inside ? 255 : 0;
      }
    }
    frames.push({ width, height, data });
    masks.push(mask);
  }
  return {
    width,
    height,
    frames,
    masks,
    background,
    discVelocity: disc.velocity,
    radius: disc.radius,
    discCentre,
    motion: (t, x, y) => (inDisc(t, x + 0.5, y + 0.5) ? disc.velocity : background),
  };
}
