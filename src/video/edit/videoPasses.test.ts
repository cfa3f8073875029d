import { describe, expect, it } from 'vitest';
import { gradCheck, maxAbsDiff, rand, testEngine } from '../../../test/gpu';
import { imagePass } from '../../edit/job';
import type { Engine } from '../../gpu/engine';
import type { Tensor } from '../../gpu/tensor';
import { SkipGenerator } from '../../nn/skip';
import { GREEN_SCREEN } from '../../ops/composite';
import { atlasCropPass, framePass, sampleAtGrid } from './videoPasses';

/** Bilinear, clamp-to-edge, align_corners = false sample of planar [C,H,W] at normalised (gu, gv), in float64. */
function bilinear(img: Float32Array, C: number, H: number, W: number, gu: number, gv: number): number[] {
  const axis = (g: number, size: number) => {
    const x = Math.min(Math.max(((g + 1) * size - 1) / 2, 0), size - 1);
    const i0 = Math.floor(x);
    return { i0, i1: Math.min(i0 + 1, size - 1), f: x - i0 };
  };
  const ax = axis(gu, W);
  const ay = axis(gv, H);
  return Array.from({ length: C }, (_, c) => {
    const at = (y: number, x: number) => img[(c * H + y) * W + x];
    return (
      (1 - ay.f) * ((1 - ax.f) * at(ay.i0, ax.i0) + ax.f * at(ay.i0, ax.i1)) +
      ay.f * ((1 - ax.f) * at(ay.i1, ax.i0) + ax.f * at(ay.i1, ax.i1))
    );
  });
}

/** The identity grid of an h×w window onto an h×w crop (every sample at a texel centre). */
function identityGrid(h: number, w: number, flip = false): Float32Array {
  const g = new Float32Array(2 * h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const gu = (2 * x + 1) / w - 1;
      g[2 * (y * w + x)] = flip ? -gu : gu;
      g[2 * (y * w + x) + 1] = (2 * y + 1) / h - 1;
    }
  }
  return g;
}

async function read(t: Tensor): Promise<Float32Array> {
  return t.read();
}

const GEN = { scales: 2, down: 4, up: 4, skip: 2 };

function itemsOf(e: Engine, run: () => ReturnType<ReturnType<typeof imagePass>['run']>) {
  return e.noGrad(run);
}

describe('the video step passes (spec §B.5)', () => {
  it('samples an image at a grid: bilinear with clamped borders, gradients to the image', async () => {
    const e = await testEngine();
    const [C, H, W, h, w] = [3, 5, 7, 4, 6];
    const img = rand(C * H * W, 1, 0, 1);
    // Points inside, on texel centres, and past the borders (clamped).
    const grid = rand(2 * h * w, 2, -1.15, 1.15);
    const got = await e
      .tidy(() => e.noGrad(() => sampleAtGrid(e.fromArray([1, C, H, W], img), e.fromArray([h * w, 2], grid), h, w)))
      .read();
    const want = new Float32Array(C * h * w);
    for (let o = 0; o < h * w; o++) {
      bilinear(img, C, H, W, grid[2 * o], grid[2 * o + 1]).forEach((v, c) => (want[c * h * w + o] = v));
    }
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-6);
    const check = await gradCheck(e, (x, g) => sampleAtGrid(x, g, h, w), [
      { shape: [1, C, H, W], data: img },
      { shape: [h * w, 2], data: grid, check: false },
    ]);
    expect(check.worst).toBeLessThan(1e-3);
  });

  it('warps the atlas edit into a frame: the identity grid reproduces the direct pass, α confines the foreground', async () => {
    const e = await testEngine();
    const [h, w] = [9, 11];
    const generator = SkipGenerator.create(e, GEN, 5);
    const input = e.fromArray([1, 3, h, w], rand(3 * h * w, 3, 0, 1)).keep();
    const alphaData = rand(h * w, 4, 0, 1);
    const frameAlpha = e.fromArray([1, 1, h, w], alphaData).keep();
    const flat = e.fromArray([1, 1, h, w], new Float32Array(h * w).fill(1)).keep();
    const grid = e.fromArray([h * w, 2], identityGrid(h, w)).keep();

    // Background: the crop is the window (identity grid), so the three warps equal the direct pass.
    const direct = itemsOf(e, () => imagePass(input).run(generator))[0];
    const warped = itemsOf(e, () =>
      atlasCropPass('background', input, [{ grid, alpha: frameAlpha, input }]).run(generator),
    )[0];
    for (const key of ['input', 'composite', 'greenscreen', 'alpha'] as const) {
      expect(maxAbsDiff(await read(warped[key]), await read(direct[key]))).toBeLessThan(1e-5);
    }
    // With α = 1 everywhere the foreground's frame pass is the image pass too.
    const fgFlat = itemsOf(e, () => framePass('foreground', { alpha: flat, input }).run(generator))[0];
    expect(maxAbsDiff(await read(fgFlat.composite), await read(direct.composite))).toBeLessThan(1e-5);

    // Foreground: every warped output is multiplied by α and the green screen shows through; the input is not.
    const fg = itemsOf(e, () =>
      atlasCropPass('foreground', input, [{ grid, alpha: frameAlpha, input }]).run(generator),
    )[0];
    const [dc, dg, da, fc, fgs, fa, fi, x] = await Promise.all(
      [direct.composite, direct.greenscreen, direct.alpha, fg.composite, fg.greenscreen, fg.alpha, fg.input, input].map(
        read,
      ),
    );
    const n = h * w;
    for (let k = 0; k < n; k++) {
      const a = alphaData[k];
      expect(fa[k]).toBeCloseTo(da[k] * a, 5);
      for (let c = 0; c < 3; c++) {
        expect(fc[c * n + k]).toBeCloseTo(dc[c * n + k] * a, 5);
        expect(fgs[c * n + k]).toBeCloseTo(dg[c * n + k] * a + (1 - a) * GREEN_SCREEN[c], 5);
        expect(fi[c * n + k]).toBeCloseTo(x[c * n + k], 5);
      }
    }

    // A mirrored grid reads the crop mirrored.
    const mirrored = e.fromArray([h * w, 2], identityGrid(h, w, true)).keep();
    const flipped = itemsOf(e, () =>
      atlasCropPass('background', input, [{ grid: mirrored, alpha: frameAlpha, input }]).run(generator),
    )[0];
    const [fl, dcAgain] = await Promise.all([read(flipped.composite), read(direct.composite)]);
    for (let y = 0; y < h; y++) {
      for (let xx = 0; xx < w; xx++) expect(fl[y * w + xx]).toBeCloseTo(dcAgain[y * w + (w - 1 - xx)], 5);
    }
    for (const t of [input, frameAlpha, flat, grid, mirrored]) t.release();
    generator.dispose();
  });
});
