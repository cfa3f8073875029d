/**
 * The atlas evaluation's figures on bakes whose truth is known (CPU only): a background panning at a sub-pixel
 * velocity, baked with the exact mapping (uv follows the content), has no drift, a perfect reconstruction and mask,
 * and an atlas edit whose warp error is only the bilinear resampling's, far below the same pattern fixed on the
 * screen; a bake whose uv stays on the screen (a wrong mapping) drifts by the motion. Plus the FLOP estimate
 * against VIDEO_ATLAS.md's counts and `bench atlas`'s arguments.
 */
import { describe, expect, it } from 'vitest';
import { atlasConfig } from '../video/atlas/atlasConfig';
import type { FrameBake } from '../video/atlas/atlasRender';
import { MAPPING_SCALE, normX, normY, type FrameGeometry } from '../video/atlas/coords';
import { parseAtlasBenchArgs, DEFAULT_ATLAS_CLIP } from './atlasBench';
import { atlasIterationFlops } from './atlasCost';
import { sampleBilinear } from '../video/flow/bilinearHost';
import { AtlasEvaluator, editPatterns, patternColour, type EvalFrame } from './atlasEval';
import { BenchUsageError } from './benchArgs';

const G: FrameGeometry = { width: 64, height: 40, frames: 4 };
/** Content motion in px per frame. */
const V: [number, number] = [1.5, 0.5];

/** A smooth texture in frame-pixel coordinates of the content. */
const texture = (x: number, y: number, c: number) => 0.5 + 0.4 * Math.sin(0.21 * x + 0.13 * y + 2 * c);

/** Frame t: content moving by V per frame; a disc mask; a bake with uv following the content or fixed. */
function scene(t: number, mapping: 'content' | 'screen'): { bake: FrameBake; frame: EvalFrame } {
  const n = G.width * G.height;
  const data = new Uint8ClampedArray(4 * n);
  const rgb = new Float32Array(3 * n);
  const mask = new Uint8Array(n);
  const alpha = new Float32Array(n);
  const uvB = new Float32Array(2 * n);
  const flow = new Float32Array(2 * n);
  const valid = new Float32Array(n);
  for (let y = 0, k = 0; y < G.height; y++) {
    for (let x = 0; x < G.width; x++, k++) {
      const [cx, cy] = [x - V[0] * t, y - V[1] * t];
      for (let c = 0; c < 3; c++) {
        data[4 * k + c] = Math.round(255 * texture(cx, cy, c));
        rgb[3 * k + c] = data[4 * k + c] / 255;
      }
      data[4 * k + 3] = 255;
      const inside = (x - 32) ** 2 + (y - 20) ** 2 < 64;
      mask[k] = inside ? 255 : 0;
      alpha[k] = inside ? 0.9 : 0.05;
      const [px, py] = mapping === 'content' ? [cx, cy] : [x, y];
      uvB[2 * k] = MAPPING_SCALE * normX(G, px);
      uvB[2 * k + 1] = MAPPING_SCALE * normY(G, py);
      flow[k] = V[0];
      flow[n + k] = V[1];
      valid[k] = x + V[0] < G.width - 1 && y + V[1] < G.height - 1 ? 1 : 0;
    }
  }
  const last = t === G.frames - 1;
  return {
    bake: { rgb, backgroundRgb: rgb, alpha, uvBackground: uvB, uvForeground: uvB.slice() },
    frame: {
      image: { width: G.width, height: G.height, data },
      mask,
      flow: last ? null : flow,
      valid: last ? null : valid,
    },
  };
}

function evaluate(mapping: 'content' | 'screen') {
  const ev = new AtlasEvaluator(G, editPatterns(256, 128));
  for (let t = 0; t < G.frames; t++) {
    const { bake, frame } = scene(t, mapping);
    ev.add(t, bake, frame);
  }
  return ev.result();
}

describe('atlas evaluation', () => {
  it('samples bilinearly at pixel centres, between them, and clamped at the border', () => {
    const img = [0, 10, 20, 30]; // 2×2, one channel
    const out = new Float64Array(1);
    sampleBilinear(img, 2, 2, 1, 0, 0, out);
    expect(out[0]).toBe(0);
    sampleBilinear(img, 2, 2, 1, 0.5, 0.5, out);
    expect(out[0]).toBe(15);
    sampleBilinear(img, 2, 2, 1, 5, -3, out);
    expect(out[0]).toBe(10);
    expect(patternColour('checkerboard', 0.01, 0.01)).not.toEqual(patternColour('checkerboard', 0.05, 0.01));
    expect(patternColour('stripes', 0, 0)).not.toEqual(patternColour('stripes', 0.03, 0.03));
  });

  it('finds no drift, a perfect reconstruction and mask, and a small edit warp error for an exact mapping', () => {
    const q = evaluate('content');
    expect(q.psnr).toBeGreaterThan(100);
    expect(q.alphaIou).toBe(1);
    expect(q.driftBackground).toBeLessThan(1e-3);
    expect(q.driftForeground!).toBeLessThan(1e-3);
    expect(q.driftCombined).toBeLessThan(1e-3);
    expect(q.warpErrorReconstruction).toBeCloseTo(q.warpErrorOriginal, 6);
    // Bilinear resampling of sharp pattern edges is all that is left: well under the screen-fixed pattern's error.
    expect(q.editRatio).toBeLessThan(0.4);
    expect(q.warpErrorScreenEdit).toBeGreaterThan(10);
    expect(q.validPixels).toBe(3 * (G.width - 2) * (G.height - 1));
  });

  it('measures the motion as drift when the uv stays on the screen', () => {
    const q = evaluate('screen');
    const speed = Math.hypot(...V);
    expect(q.driftBackground).toBeCloseTo(speed, 4);
    expect(q.driftForeground!).toBeCloseTo(speed, 4);
    expect(q.editRatio).toBeCloseTo(1, 6); // the atlas edit is the screen edit
  });

  it('estimates FLOPs as VIDEO_ATLAS.md counted them (0.40 / 0.36 GFLOP forward at width 32)', () => {
    const c = atlasConfig(384, { mappingWidth: 32 });
    expect(atlasIterationFlops(c, true).forward / 1e9).toBeCloseTo(0.4, 1);
    expect(atlasIterationFlops(c, false).forward / 1e9).toBeCloseTo(0.36, 1);
    const f = atlasIterationFlops(atlasConfig(384), false);
    expect(f.forwardBackward).toBe(3 * f.forward);
    expect(f.mappingPoints).toBe(10_000 + 5_000 + 10_000);
  });
});

describe('bench atlas: arguments', () => {
  it('defaults to blackswan with the DAVIS masks, 3000 iterations at 384×216, and a memory run at 768×432', () => {
    expect(parseAtlasBenchArgs([])).toEqual({
      frames: DEFAULT_ATLAS_CLIP,
      masks: { kind: 'given' },
      size: { width: 384, height: 216 },
      count: 50,
      iters: 3000,
      logEvery: 100,
      checkpointEvery: 500,
      seed: 0,
      config: null,
      out: null,
      json: null,
      evalOnly: null,
      memory: { size: { width: 768, height: 432 }, frames: 70 },
      memoryOnly: false,
    });
    expect(parseAtlasBenchArgs(['--masks', 'none', '--no-memory-run'])).toMatchObject({
      masks: { kind: 'none' },
      memory: null,
    });
    expect(parseAtlasBenchArgs(['--masks', 'm/', '--eval-only', 'a.safetensors'])).toMatchObject({
      masks: { kind: 'path', path: 'm/' },
      evalOnly: 'a.safetensors',
    });
    expect(parseAtlasBenchArgs(['--help'])).toBeNull();
  });

  it('names what is wrong', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--size', '384'], /--size must be WIDTHxHEIGHT/],
      [['--frames-count', '1'], /--frames-count must be an integer ≥ 2/],
      [['--iters', '0'], /--iters must be a positive integer/],
      [['--json', ''], /--json needs a path/],
      [['--memory-only', '--no-memory-run'], /exclude each other/],
      [['--bogus'], /unknown option --bogus/],
    ];
    for (const [args, message] of cases) {
      expect(() => parseAtlasBenchArgs(args)).toThrow(BenchUsageError);
      expect(() => parseAtlasBenchArgs(args)).toThrow(message);
    }
  });
});
