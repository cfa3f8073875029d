import { describe, expect, it } from 'vitest';
import { maxAbsDiff, testEngine } from '../../../test/gpu';
import type { RgbaImage } from '../../edit/jobTypes';
import { atlasConfig } from '../atlas/atlasConfig';
import { AtlasModel } from '../atlas/atlasModel';
import { atlasRaster, bakeFrame } from '../atlas/atlasRender';
import { uvToTexel, type FrameGeometry } from '../atlas/coords';
import { layerData, LayerDataError, rasterResolution } from './layerData';

const G: FrameGeometry = { width: 24, height: 16, frames: 3 };
const TINY = { mappingWidth: 8, alphaWidth: 8, hiddenLayers: 1, alphaOctaves: 2, seed: 3 };

function frames(): RgbaImage[] {
  return Array.from({ length: G.frames }, (_, t) => ({
    width: G.width,
    height: G.height,
    data: new Uint8ClampedArray(4 * G.width * G.height).map((_, i) => (i * 7 + t * 13) % 256),
  }));
}

describe("the edited layer's data (spec §B.3)", () => {
  it('prices the raster in texels per frame pixel', () => {
    expect(rasterResolution(768, 1)).toBe(1536);
    expect(rasterResolution(768, 1.3)).toBe(1997); // ≈ the reference's R = 2000 at 768 px
    expect(() => rasterResolution(768, 0)).toThrow(RangeError);
  });

  it('bakes coordinates, α, inputs and the cropped raster of either layer', async () => {
    const e = await testEngine();
    const model = AtlasModel.create(e, atlasConfig(G.width, TINY));
    // A sharp α (the untrained one hovers near ½): the last layer's weights scaled up, so part of each frame is
    // opaque (α ≥ 0.95) and has a mask box.
    const last = model.alpha!.layers[model.alpha!.layers.length - 1];
    const w = await last.weight.value.read();
    e.upload(
      last.weight.value.buffer,
      w.map((v) => 40 * v),
    );
    e.upload(last.bias.value.buffer, new Float32Array([2]));
    const clip = frames();
    const n = G.width * G.height;
    for (const layer of ['background', 'foreground'] as const) {
      const density = 1.5;
      const d = await layerData(model, G, clip, layer, density);
      const R = rasterResolution(G.width, density);
      expect(d.raster.resolution).toBe(R);
      const { box, width, height } = d.raster;
      expect([width, height]).toEqual([box.u1 - box.u0, box.v1 - box.v0]);
      for (let t = 0; t < G.frames; t++) {
        const bake = await bakeFrame(model, G, t);
        const uv = layer === 'foreground' ? bake.uvForeground! : bake.uvBackground;
        const region = layer === 'foreground' ? d.maskBoxes[t] : { y0: 0, x0: 0, h: G.height, w: G.width };
        for (let k = 0; k < n; k++) {
          const [u, v] = uvToTexel(uv[2 * k], uv[2 * k + 1], R);
          expect(d.coords[t][2 * k]).toBeCloseTo(u - box.u0, 3);
          expect(d.coords[t][2 * k + 1]).toBeCloseTo(v - box.v0, 3);
          const x = k % G.width;
          const y = Math.floor(k / G.width);
          // Both taps of every pixel the edit is trained on lie inside the crop.
          if (region && y >= region.y0 && y < region.y0 + region.h && x >= region.x0 && x < region.x0 + region.w) {
            expect(d.coords[t][2 * k]).toBeGreaterThanOrEqual(0);
            expect(d.coords[t][2 * k]).toBeLessThanOrEqual(width - 1);
            expect(d.coords[t][2 * k + 1]).toBeLessThanOrEqual(height - 1);
          }
          for (let c = 0; c < 3; c++) {
            const want =
              layer === 'foreground' ? (clip[t].data[4 * k + c] / 255) * bake.alpha[k] : bake.backgroundRgb[3 * k + c];
            expect(d.inputs[t][c * n + k]).toBeCloseTo(want, 5);
          }
        }
        expect(d.alpha[t]).toEqual(bake.alpha);
        if (layer === 'foreground') expect(d.maskBoxes[t]).not.toBeNull();
      }
      const full = await atlasRaster(model, layer === 'foreground' ? model.foreground! : model.background, R, box);
      const planar = new Float32Array(full.length);
      for (let k = 0; k < width * height; k++)
        for (let c = 0; c < 3; c++) planar[c * width * height + k] = full[3 * k + c];
      expect(maxAbsDiff(d.raster.data, planar)).toBe(0);
    }
    model.dispose();
  });

  it('says so when there is no foreground to edit', async () => {
    const e = await testEngine();
    const model = AtlasModel.create(e, atlasConfig(G.width, { ...TINY, backgroundOnly: true }));
    await expect(layerData(model, G, frames(), 'foreground', 1)).rejects.toThrow(LayerDataError);
    await expect(layerData(model, G, frames().slice(1), 'background', 1)).rejects.toThrow(/do not match/);
    model.dispose();
  });
});
