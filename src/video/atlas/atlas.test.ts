/**
 * The layered atlas on a synthetic two-layer clip (a panning textured background and a textured disc, 48×32, 8
 * frames, with its true mask; test/syntheticClip.ts): the batch and coordinates are as documented, the flow targets
 * land where the flow says, a short fit learns (the reconstruction PSNR rises well above the flat start) with every
 * loss term finite and the same seed giving the same iterations, and an atlas file re-creates the model exactly.
 * The quality figures of a full fit (PSNR, alpha IoU, drift, edit propagation) come from `npm run bench -- atlas`
 * (long on a software GPU).
 */
import { describe, expect, it } from 'vitest';
import { testEngine } from '../../../test/gpu';
import { syntheticClip } from '../../../test/syntheticClip';
import { Rng } from '../../nn/rng';
import { computeFlows } from '../flow';
import { atlasConfig, AtlasConfigError, pyramidLevels } from './atlasConfig';
import { AtlasFitter, type AtlasLog } from './atlasFit';
import { framesTensor } from './clipData';
import { loadAtlas, readAtlasInfo, saveAtlas, AtlasFileError } from './atlasFile';
import { clipLayout } from './atlasLayout';
import { ATLAS_TERMS } from './atlasLosses';
import { bakeFrame } from './atlasRender';
import { normT, normX, normY, pixelSize } from './coords';
import { flowTargets, NO_FLOW } from './flowTargets';
import { sampleBatch, type ClipPixels } from './pointBatch';

const clip = syntheticClip();
const pixels: ClipPixels = {
  width: clip.width,
  height: clip.height,
  frames: clip.frames.length,
  rgba: clip.frames.map((f) => f.data),
  masks: clip.masks,
};

/** A fit small enough for a software GPU: 2k points, narrow MLPs, 64² / 32² atlases. */
const CONFIG = atlasConfig(clip.width, {
  batch: 2048,
  rigidityBatch: 512,
  flowBatch: 1024,
  mappingWidth: 32,
  alphaWidth: 32,
  backgroundResolution: 64,
  foregroundResolution: 32,
  bootstrapIterations: 60,
  globalRigidityPixels: 8,
  seed: 1,
});

describe('atlas coordinates, settings and batches', () => {
  it('normalises pixels by the width and time to [−1, 1]', () => {
    const g = { width: 48, height: 32, frames: 8 };
    expect(normX(g, 0)).toBeCloseTo(-1 + 1 / 48, 12);
    expect(normX(g, 47)).toBeCloseTo(1 - 1 / 48, 12);
    expect(normY(g, 0)).toBeCloseTo(-32 / 48 + 1 / 48, 12);
    expect(normT(g, 0)).toBe(-1);
    expect(normT(g, 7)).toBe(1);
    expect(pixelSize(g)).toBeCloseTo(2 / 48, 12);
  });

  it('scales the pyramids with the size and rejects bad settings', () => {
    expect(atlasConfig(384).backgroundResolution).toBe(1024);
    expect(atlasConfig(768).backgroundResolution).toBe(2048);
    expect(atlasConfig(768).foregroundResolution).toBe(1024);
    expect(pyramidLevels(128)).toEqual([16, 32, 64, 128]);
    expect(() => atlasConfig(384, { backgroundResolution: 1000 })).toThrow(AtlasConfigError);
    expect(() => atlasConfig(384, { flowBatch: 20_000 })).toThrow(/flowBatch/);
    expect(() => atlasConfig(384, { weights: { rgb: -1 } as never })).toThrow(/weights\.rgb/);
  });

  it('draws batches from the seed: colours, masks and flow indices of the drawn pixels', async () => {
    const engine = await testEngine();
    const sizes = { batch: 64, rigidityBatch: 16, flowBatch: 32, globalPixels: 4 };
    const read = async (seed: number) => {
      const b = engine.tidy(() => {
        const t = sampleBatch(engine, pixels, sizes, new Rng(seed));
        return [t.coords, t.rgb, t.mask!, t.forwardIndex, t.rigidity.globalDx];
      });
      const out = await Promise.all(b.map((t) => t.read()));
      for (const t of b) t.release();
      return out;
    };
    const [coords, rgb, mask, fwd, gdx] = await read(3);
    expect(await read(3)).toEqual([coords, rgb, mask, fwd, gdx]);
    const fwdBits = new Uint32Array(fwd.buffer, fwd.byteOffset, fwd.length);
    for (let k = 0; k < sizes.batch; k++) {
      const px = Math.round(((coords[3 * k] + 1) * clip.width) / 2 - 0.5);
      const py = Math.round(((coords[3 * k + 1] + clip.height / clip.width) * clip.width) / 2 - 0.5);
      const t = Math.round(((coords[3 * k + 2] + 1) * (pixels.frames - 1)) / 2);
      const q = py * clip.width + px;
      expect(rgb[3 * k]).toBeCloseTo(clip.frames[t].data[4 * q] / 255, 6);
      expect(mask[k]).toBe(clip.masks[t][q] ? 1 : 0);
      if (k < sizes.flowBatch) {
        expect(fwdBits[k]).toBe(t < pixels.frames - 1 ? t * clip.width * clip.height + q : NO_FLOW);
      }
      if (k < sizes.rigidityBatch) expect(gdx[3 * k] - coords[3 * k]).toBeCloseTo(4 * pixelSize(pixels), 6);
    }
  });

  it('moves flow points by the flow, one frame on, with the FB mask; none past the clip', async () => {
    const engine = await testEngine();
    const [w, h] = [4, 3];
    const flow = new Float32Array(2 * 2 * h * w).map((_, i) => (i % 7) * 0.5 - 1);
    const valid = new Float32Array(2 * h * w).map((_, i) => i % 3 && 1);
    const idx = new Uint32Array([0, 5, h * w + 7, NO_FLOW]);
    const coords = new Float32Array([0.1, 0.2, -1, 0.3, -0.1, -1, -0.5, 0, 0, 0.7, 0.1, 1]);
    const out = engine.tidy(() => {
      const r = flowTargets(
        engine.fromArray([2, 2, h, w], flow),
        engine.fromArray([2, 1, h, w], valid),
        engine.fromArray([4], new Float32Array(idx.buffer)),
        engine.fromArray([4, 3], coords),
        3,
        1,
      );
      return [r.moved, r.ok];
    });
    const [moved, ok] = await Promise.all(out.map((t) => t.read()));
    for (const t of out) t.release();
    idx.forEach((id, k) => {
      if (id === NO_FLOW) {
        expect([...moved.slice(3 * k, 3 * k + 3)]).toEqual([...coords.slice(3 * k, 3 * k + 3)].map(Math.fround));
        expect(ok[k]).toBe(0);
        return;
      }
      const pair = Math.floor(id / (h * w));
      const pix = id % (h * w);
      expect(moved[3 * k]).toBeCloseTo(coords[3 * k] + flow[2 * pair * h * w + pix] * (2 / w), 6);
      expect(moved[3 * k + 1]).toBeCloseTo(coords[3 * k + 1] + flow[(2 * pair + 1) * h * w + pix] * (2 / w), 6);
      expect(moved[3 * k + 2]).toBeCloseTo(coords[3 * k + 2] + 1, 6); // 3 frames: t moves by 2/(3 − 1)
      expect(ok[k]).toBe(valid[pair * h * w + pix]);
    });
  });
});

describe('fitting the atlas of a synthetic clip', () => {
  it('learns the clip in a few iterations, deterministically, and saves a file that re-creates the model', async () => {
    const engine = await testEngine();
    const frames = framesTensor(engine, clip).keep();
    const flows = computeFlows(engine, frames);
    const fitter = new AtlasFitter(engine, pixels, flows, CONFIG);
    const logs: AtlasLog[] = [await fitter.log()];
    for (let i = 0; i < 12; i++) {
      fitter.step();
      if (i === 1 || i === 11) logs.push(await fitter.log());
    }
    const [start, second, last] = logs;
    console.log(
      `atlas fit (48×32, 8 frames, 2k points): PSNR ${start.psnr.toFixed(2)} → ${second.psnr.toFixed(2)} (2 iterations)` +
        ` → ${last.psnr.toFixed(2)} dB (12); terms ${ATLAS_TERMS.map((k) => `${k} ${last.terms[k].toPrecision(3)}`).join(', ')}`,
    );
    for (const k of ATLAS_TERMS) expect(Number.isFinite(last.terms[k]), k).toBe(true);
    expect(last.terms.rgb).toBeLessThan(second.terms.rgb);
    expect(last.psnr).toBeGreaterThan(start.psnr + 4); // measured: +4.6 dB
    expect(last.terms.mask).toBeLessThan(second.terms.mask);

    // The same seed takes the same iterations (fixed-point texture gradients make them bit-identical).
    const again = new AtlasFitter(engine, pixels, flows, CONFIG);
    again.step();
    again.step();
    const againLog = await again.log();
    expect(againLog.terms).toEqual(second.terms);
    expect(againLog.psnr).toBe(second.psnr);
    again.dispose();

    // An atlas file re-creates the fitted model exactly.
    const info = {
      geometry: { width: clip.width, height: clip.height, frames: pixels.frames },
      config: CONFIG,
      iterations: fitter.iteration,
      frameRate: 24,
      frameIndices: clip.frames.map((_, i) => i),
    };
    const bytes = await saveAtlas(fitter.model, info);
    expect(readAtlasInfo(bytes)).toEqual(info);
    const loaded = await loadAtlas(engine, bytes);
    const [a, b] = await Promise.all([
      bakeFrame(fitter.model, info.geometry, 3),
      bakeFrame(loaded.model, info.geometry, 3),
    ]);
    expect(b).toEqual(a);
    expect(a.alpha.every((v) => v > 0 && v < 1)).toBe(true);
    expect(() => readAtlasInfo(new Uint8Array(16))).toThrow(AtlasFileError);

    // The frames map near the middle of the background atlas (uv ≈ ½·(x, y) early in the fit): its box there.
    const layout = await clipLayout(fitter.model, info.geometry);
    const r = layout.backgroundResolution;
    expect(layout.maskBoxes).toHaveLength(pixels.frames);
    expect(layout.background.u0).toBeGreaterThan(r * 0.2);
    expect(layout.background.u1).toBeLessThan(r * 0.8);
    expect(layout.background.u1 - layout.background.u0).toBeGreaterThan(r * 0.4);

    loaded.model.dispose();
    fitter.dispose();
    for (const t of Object.values(flows)) t.release();
    frames.release();
  }, 900_000); // about a minute alone on SwiftShader; several beside other GPU test files
});
