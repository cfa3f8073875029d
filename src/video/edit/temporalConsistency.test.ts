import { describe, expect, it } from 'vitest';
import { testEngine } from '../../../test/gpu';
import { createClipModel } from '../../clip/clipModel';
import { loadModelFromDirectory } from '../../clip/modelDirectory';
import { createImage, resizeAntialiased } from '../../edit/image';
import { readImageFile } from '../../edit/imageIO.node.js';
import type { RgbaImage } from '../../edit/jobTypes';
import type { Engine } from '../../gpu/engine';
import { atlasConfig } from '../atlas/atlasConfig';
import { AtlasModel } from '../atlas/atlasModel';
import { framesTensor } from '../atlas/clipData';
import type { FrameGeometry } from '../atlas/coords';
import { computeFlows } from '../flow';
import { layerData } from './layerData';
import {
  alphaAgreement,
  errorRatio,
  framePairs,
  layerAlpha,
  temporalConsistency,
  warpError,
  type PairFlow,
} from './temporalConsistency';
import { resolveVideoConfig } from './videoConfig';
import { VideoEditJob } from './videoJob';

/** An image from a function of (x, y) → [r, g, b] (0–255). */
function image(w: number, h: number, f: (x: number, y: number) => [number, number, number]): RgbaImage {
  const img = createImage(w, h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [r, g, b] = f(x, y);
      img.data.set([r, g, b, 255], 4 * (y * w + x));
    }
  }
  return img;
}

/** A constant flow (u, v) over w×h, valid where x + u, y + v lie inside the frame. */
function constantFlow(w: number, h: number, u: number, v: number): { flow: Float32Array; valid: Float32Array } {
  const n = w * h;
  const flow = new Float32Array(2 * n);
  const valid = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    flow[k] = u;
    flow[n + k] = v;
    const [x, y] = [(k % w) + u, Math.floor(k / w) + v];
    valid[k] = x >= 0 && x <= w - 1 && y >= 0 && y <= h - 1 ? 1 : 0;
  }
  return { flow, valid };
}

const texture = (x: number, y: number): [number, number, number] => [
  (37 * x + 11 * y) % 256,
  (90 + 53 * y + 7 * x * x) % 256,
  (200 + 17 * x * y) % 256,
];

describe('warpError and temporalConsistency on known answers', () => {
  it('is zero for an exact translation, the offset for a brightened frame, half the slope for a half-pixel flow', () => {
    const [w, h] = [12, 8];
    // b shows a's content moved by (+2, +1): a(x) = b(x + (2, 1)).
    const a = image(w, h, (x, y) => texture(x, y));
    const b = image(w, h, (x, y) => texture(x - 2, y - 1));
    const { flow, valid } = constantFlow(w, h, 2, 1);
    expect(warpError(a, b, flow, valid)).toEqual({ sum: 0, count: (w - 2) * (h - 1) });
    // Everything 10 brighter in b (no value near 255 clips: colours of texture + 10 ≤ 255 are kept below).
    const dim = image(w, h, (x, y) => texture(x, y).map((c) => Math.min(c, 240)) as [number, number, number]);
    const brighter = image(
      w,
      h,
      (x, y) => texture(x - 2, y - 1).map((c) => Math.min(c, 240) + 10) as [number, number, number],
    );
    const r = warpError(dim, brighter, flow, valid);
    expect(r.count).toBe((w - 2) * (h - 1));
    expect(r.sum / r.count).toBeCloseTo(10, 10);
    // A horizontal ramp 10·x with a flow of half a pixel: 5 everywhere the sample stays inside.
    const ramp = image(w, h, (x) => [10 * x, 10 * x, 10 * x]);
    const half = constantFlow(w, h, 0.5, 0);
    const s = warpError(ramp, ramp, half.flow, half.valid);
    expect(s.count).toBe((w - 1) * h);
    expect(s.sum / s.count).toBeCloseTo(5, 10);
    // Invalid pixels are skipped: nothing valid, nothing counted.
    expect(warpError(a, b, flow, new Float32Array(w * h))).toEqual({ sum: 0, count: 0 });
    expect(() => warpError(a, b, flow.subarray(1), valid)).toThrow(RangeError);
  });

  it('gives per-pair and overall errors and ratios, both directions', () => {
    const [w, h] = [10, 6];
    // Three input frames panning by one pixel per frame; edits: the input +4 (pair 0) and +12 (pair 1) brighter on
    // the later frame, so the edited error is the input's plus a known offset.
    const frames = [0, 1, 2].map((t) =>
      image(w, h, (x, y) => texture(x - t, y).map((c) => 20 + (c % 200)) as [number, number, number]),
    );
    const offsets = [0, 4, 16];
    const edited = frames.map((f, t) => ({ ...f, data: f.data.map((v, i) => (i % 4 === 3 ? v : v + offsets[t])) }));
    const fw = constantFlow(w, h, 1, 0);
    const bw = constantFlow(w, h, -1, 0);
    const flows: PairFlow[] = [0, 1].map(() => ({
      forward: fw.flow,
      forwardValid: fw.valid,
      backward: bw.flow,
      backwardValid: bw.valid,
    }));
    // The inputs warp exactly (error 0): give them a known error by brightening input frame 2 by 3.
    const inputs = frames.map((f, t) =>
      t === 2 ? { ...f, data: f.data.map((v, i) => (i % 4 === 3 ? v : v + 3)) } : f,
    );
    const r = temporalConsistency(inputs, edited, flows);
    const valid = 2 * (w - 1) * h; // both directions
    expect(r.pairs.map((p) => p.validPixels)).toEqual([valid, valid]);
    expect(r.pairs[0].inputError).toBe(0);
    expect(r.pairs[0].editedError).toBeCloseTo(4, 10);
    expect(r.pairs[0].ratio).toBe(Infinity);
    expect(r.pairs[1].inputError).toBeCloseTo(3, 10);
    expect(r.pairs[1].editedError).toBeCloseTo(12, 10);
    expect(r.pairs[1].ratio).toBeCloseTo(4, 10);
    expect(r.inputError).toBeCloseTo(1.5, 10);
    expect(r.editedError).toBeCloseTo(8, 10);
    expect(r.ratio).toBeCloseTo(16 / 3, 10);
    expect(r.worstRatio).toBe(Infinity);
    // Forward only: half the pixels, the same means.
    const fwOnly = temporalConsistency(
      inputs,
      edited,
      flows.map((f) => ({ forward: f.forward, forwardValid: f.forwardValid })),
    );
    expect(fwOnly.validPixels).toBe(r.validPixels / 2);
    expect(fwOnly.ratio).toBeCloseTo(16 / 3, 10);
    expect(errorRatio(0, 0)).toBe(1);
    expect(() => temporalConsistency(inputs, edited.slice(1), flows)).toThrow(RangeError);
  });
});

describe('alphaAgreement on known answers', () => {
  it('pairs pixels at the same texel within the tolerance and reports |Δα|', () => {
    // Frame 0: 4 pixels at texels (0,0), (1,0), (2,0), (3,0); frame 1: the same texels shifted by one pixel, one
    // of them off by 0.01 (matched, not exact), one off by 0.2 (not matched).
    const c0 = new Float32Array([0, 0, 1, 0, 2, 0, 3, 0]);
    const c1 = new Float32Array([1, 0, 2.01, 0, 3, 0.2, 9, 9]);
    const a0 = [0.1, 0.2, 0.3, 0.4];
    const a1 = [0.25, 0.5, 0.9, 0.0];
    const r = alphaAgreement([c0, c1], [a0, a1]);
    expect(r.matches).toBe(2); // (1,0) exact and (2,0) within 0.01
    expect(r.exactMatches).toBe(1);
    expect(r.exactMaxDiff).toBeCloseTo(0.05, 6); // 0.2 vs 0.25
    expect(r.maxDiff).toBeCloseTo(0.2, 6); // 0.3 vs 0.5
    expect(r.meanDiff).toBeCloseTo(0.125, 6);
    // A tolerance of 0.3 also takes (3, 0) ~ (3, 0.2), and (2, 0) ~ (2.01, 0).
    const loose = alphaAgreement([c0, c1], [a0, a1], { tolerance: 0.3 });
    expect(loose.matches).toBe(3);
    expect(loose.maxDiff).toBeCloseTo(0.5, 6);
    // include() restricts the pixels.
    expect(alphaAgreement([c0, c1], [a0, a1], { include: (_t, k) => k !== 1 && k !== 0 }).matches).toBe(0);
    expect(framePairs(3)).toEqual([
      [0, 1],
      [1, 2],
    ]);
    expect(framePairs(3, 'all')).toEqual([
      [0, 1],
      [0, 2],
      [1, 2],
    ]);
    const la = layerAlpha({ width: 2, height: 1, data: new Uint8ClampedArray([0, 0, 0, 255, 9, 9, 9, 51]) });
    expect(la[0]).toBe(1);
    expect(la[1]).toBeCloseTo(0.2, 7);
    expect(() => alphaAgreement([c0], [a0, a1])).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// A real (tiny) edit of a synthetic panning clip
// ---------------------------------------------------------------------------------------------------------------

const FRAMES = new URL('../../../../shared/data/video/blackswan/frames/', import.meta.url).pathname;
/** 64×32, 5 frames: normalised coordinates and frame times are dyadic, so the baked coordinates are exact. */
const G: FrameGeometry = { width: 64, height: 32, frames: 5 };
/** The camera pans by (2, 1) px per frame: frame t shows the texture from (2t, t). */
const PAN = [2, 1] as const;

/** The blackswan frame as a texture, large enough for the whole pan. */
async function panTexture(): Promise<RgbaImage> {
  const src = await readImageFile(`${FRAMES}00000.jpg`);
  return resizeAntialiased(src, G.width + PAN[0] * (G.frames - 1), G.height + PAN[1] * (G.frames - 1));
}

function panFrames(tex: RgbaImage): RgbaImage[] {
  return Array.from({ length: G.frames }, (_, t) => {
    const f = createImage(G.width, G.height);
    for (let y = 0; y < G.height; y++) {
      for (let x = 0; x < G.width; x++) {
        const s = 4 * ((y + PAN[1] * t) * tex.width + x + PAN[0] * t);
        f.data.set(tex.data.subarray(s, s + 4), 4 * (y * G.width + x));
      }
    }
    return f;
  });
}

/**
 * A background-only decomposition that is exactly the pan: uv = ½·(x, y) + a·(t' + 1) with a = pan·(F − 1)/(2W)
 * (one ReLU unit carries t' + 1 ≥ 0), and the finest texture level holding the texture where uv points to it.
 */
async function panModel(engine: Engine, tex: RgbaImage): Promise<AtlasModel> {
  const model = AtlasModel.create(
    engine,
    atlasConfig(G.width, { mappingWidth: 4, hiddenLayers: 1, backgroundOnly: true, seed: 1 }),
  );
  const [hidden, out] = model.background.mapping.layers;
  engine.upload(hidden.weight.value.buffer, new Float32Array([0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
  engine.upload(hidden.bias.value.buffer, new Float32Array([1, 0, 0, 0]));
  const a = PAN.map((p) => (p * (G.frames - 1)) / (2 * G.width));
  engine.upload(out.weight.value.buffer, new Float32Array([a[0], 0, 0, 0, a[1], 0, 0, 0]));
  engine.upload(out.bias.value.buffer, new Float32Array([0, 0]));
  const levels = model.background.levels;
  for (const l of levels.slice(0, -1)) engine.upload(l.value.buffer, new Float32Array(l.value.size));
  const finest = levels[levels.length - 1].value;
  const r = finest.shape[1];
  const data = new Float32Array(3 * r * r);
  for (let row = 0; row < r; row++) {
    for (let col = 0; col < r; col++) {
      // Texel centre → uv → frame-0 pixel (uv = ½·normX(x): x = W·u + W/2 − ½) = texture pixel.
      const u = ((col + 0.5) / r) * 2 - 1;
      const v = ((row + 0.5) / r) * 2 - 1;
      const x = Math.min(tex.width - 1, Math.max(0, Math.round(G.width * u + G.width / 2 - 0.5)));
      const y = Math.min(tex.height - 1, Math.max(0, Math.round(G.width * v + G.height / 2 - 0.5)));
      for (let c = 0; c < 3; c++) data[(c * r + row) * r + col] = tex.data[4 * (y * tex.width + x) + c] / 255;
    }
  }
  engine.upload(finest.buffer, data);
  return model;
}

async function planarToPairs(t: { read(): Promise<Float32Array> }, pairs: number, perPair: number) {
  const all = await t.read();
  return Array.from({ length: pairs }, (_, p) => all.slice(p * perPair, (p + 1) * perPair));
}

describe('temporal consistency of a real edit (tiny CLIP, a panning clip, flows from computeFlows)', () => {
  it('keeps the edited warp error within 1.5× the input’s and the α identical at identical texels', async () => {
    const engine = await testEngine();
    const clip = await createClipModel(engine, await loadModelFromDirectory('models/tiny-clip'));
    const tex = await panTexture();
    const frames = panFrames(tex);
    const model = await panModel(engine, tex);
    const data = await layerData(model, G, frames, 'background', 0.5);
    model.dispose();
    const n = G.width * G.height;

    // The decomposition is the pan: pixel x of frame t and x − pan of frame t + 1 have bitwise the same coordinates.
    for (let t = 0; t + 1 < G.frames; t++) {
      const k = 10 * G.width + 20;
      const j = k - PAN[1] * G.width - PAN[0];
      expect([data.coords[t + 1][2 * j], data.coords[t + 1][2 * j + 1]]).toEqual([
        data.coords[t][2 * k],
        data.coords[t][2 * k + 1],
      ]);
    }

    // The flows, measured (not the known pan): CLG on the synthetic frames, forward–backward checked.
    const clipTensor = framesTensor(engine, { width: G.width, height: G.height, frames });
    const field = computeFlows(engine, clipTensor);
    clipTensor.release();
    const pairs = G.frames - 1;
    const [fw, bw, fv, bv] = await Promise.all([
      planarToPairs(field.forward, pairs, 2 * n),
      planarToPairs(field.backward, pairs, 2 * n),
      planarToPairs(field.forwardValid, pairs, n),
      planarToPairs(field.backwardValid, pairs, n),
    ]);
    for (const t of Object.values(field)) t.release();
    const flows: PairFlow[] = fw.map((forward, p) => ({
      forward,
      forwardValid: fv[p],
      backward: bw[p],
      backwardValid: bv[p],
    }));
    // The flow found the pan on most pixels (forward is −pan: frame t's content sits pan to the upper left in t + 1).
    let close = 0;
    for (let k = 0; k < n; k++) if (Math.hypot(fw[1][k] + PAN[0], fw[1][n + k] + PAN[1]) < 0.25) close++;
    expect(close / n).toBeGreaterThan(0.6);

    // A real edit: 3 tiny steps on the background atlas.
    const config = resolveVideoConfig('tiny', {
      numScales: 2,
      screenText: 'golden swan',
      compText: 'golden swan',
      srcText: 'swan',
      relevancyNumLayers: 0,
      nEpochs: 3,
      seed: 4,
    });
    const job = await VideoEditJob.create({ engine, vision: clip.vision, text: clip.text, data, config });
    for (let s = 0; s < 3; s++) await job.step();
    const renders = [];
    for (let t = 0; t < G.frames; t++) renders.push(await job.renderFrame(t, frames[t]));
    // The control: the same edit fixed on the screen (frame 0's edit layer over every frame), as a per-frame edit
    // that does not follow the motion would be.
    const screenFixed = [];
    for (let t = 0; t < G.frames; t++) screenFixed.push(await job.renderFrame(0, frames[t]));
    job.dispose();
    const edited = renders.map((r) => r.composite);
    const alphas = renders.map((r) => layerAlpha(r.layer));

    // The edit is not trivial: it changes the frames, and its α varies over the frame.
    let changed = 0;
    for (let i = 0; i < 4 * n; i++) if (i % 4 !== 3) changed += Math.abs(edited[2].data[i] - frames[2].data[i]);
    expect(changed / (3 * n)).toBeGreaterThan(2);
    const a2 = alphas[2];
    expect(Math.max(...a2) - Math.min(...a2)).toBeGreaterThan(10 / 255);

    const tc = temporalConsistency(frames, edited, flows);
    console.log(
      'temporal consistency:',
      tc.pairs
        .map(
          (p) =>
            `pair ${p.t}: input ${p.inputError.toFixed(3)}, edited ${p.editedError.toFixed(3)}, ratio ${p.ratio.toFixed(3)} (${p.validPixels} px)`,
        )
        .join('; '),
      `; overall ratio ${tc.ratio.toFixed(3)}`,
    );
    const control = temporalConsistency(
      frames,
      screenFixed.map((r) => r.composite),
      flows,
    );
    console.log(`screen-fixed control: edited ${control.editedError.toFixed(3)}, ratio ${control.ratio.toFixed(3)}`);
    // The measure tells the two apart: the screen-fixed edit slides over the moving picture.
    expect(control.ratio).toBeGreaterThan(2);
    expect(tc.validPixels).toBeGreaterThan(0.5 * 2 * pairs * n);
    expect(tc.inputError).toBeGreaterThan(0);
    expect(tc.ratio).toBeLessThanOrEqual(1.5);
    expect(tc.worstRatio).toBeLessThanOrEqual(1.5);

    // α at identical texels: every pixel pair of consecutive frames the pan relates (and no other) matches exactly.
    const agree = alphaAgreement(data.coords, alphas);
    console.log(
      `alpha agreement: ${agree.matches} matches (${agree.exactMatches} exact), max |Δα| ${agree.maxDiff}, exact ${agree.exactMaxDiff}`,
    );
    const perPair = (G.width - PAN[0]) * (G.height - PAN[1]);
    expect(agree.pairs.map((p) => p.exactMatches)).toEqual(Array(pairs).fill(perPair));
    expect(agree.matches).toBe(agree.exactMatches);
    expect(agree.exactMaxDiff).toBe(0);
    expect(agree.maxDiff).toBe(0);
    // The screen-fixed control's α does not stay with the texels.
    const slid = alphaAgreement(
      data.coords,
      screenFixed.map((r) => layerAlpha(r.layer)),
    );
    expect(slid.exactMatches).toBe(agree.exactMatches);
    expect(slid.exactMaxDiff).toBeGreaterThan(5 / 255);
  }, 300_000);
});
