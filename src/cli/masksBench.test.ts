import { describe, expect, it } from 'vitest';
import { BenchUsageError } from './benchArgs';
import { DEFAULT_FLOW_FRAMES } from './flowBench';
import { formatMasksBench, type MasksBenchResult, parseMasksBenchArgs } from './masksBench';

describe('parseMasksBenchArgs', () => {
  it('defaults to blackswan with its DAVIS masks, 50 frames at 384×216, the default mask settings', () => {
    const a = parseMasksBenchArgs([])!;
    expect(a).toEqual({
      frames: DEFAULT_FLOW_FRAMES,
      masks: DEFAULT_FLOW_FRAMES.replace(/frames$/, 'masks'),
      width: 384,
      height: 216,
      count: 50,
      options: {},
      warmup: true,
    });
    expect(a.masks).toMatch(/shared\/data\/video\/blackswan\/masks$/);
  });

  it('reads every option', () => {
    const args = ['--frames', '/tmp/clip/frames', '--size', '96x64', '--frames-count', '8', '--model', 'affine'];
    args.push('--no-temporal', '--no-texture', '--coherence', '0', '--no-warmup', '--json', 'out.json');
    expect(parseMasksBenchArgs(args)).toEqual({
      frames: '/tmp/clip/frames',
      masks: '/tmp/clip/masks',
      width: 96,
      height: 64,
      count: 8,
      options: { model: 'affine', temporalVote: false, textureFraction: 0, coherence: Infinity },
      warmup: false,
      json: 'out.json',
    });
    expect(parseMasksBenchArgs(['--masks', '/m', '--coherence', '0.1'])).toMatchObject({
      masks: '/m',
      options: { coherence: 0.1 },
    });
    expect(parseMasksBenchArgs(['--help'])).toBeNull();
  });

  it('names what is wrong', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--size', '384'], /--size must be WIDTHxHEIGHT/],
      [['--frames-count', '1'], /--frames-count must be an integer ≥ 2/],
      [['--model', 'rigid'], /--model must be homography or affine/],
      [['--coherence=-1'], /--coherence must be a non-negative number/],
      [['--json', ''], /--json needs a file name/],
      [['--bogus'], /unknown option --bogus/],
    ];
    for (const [args, message] of cases) {
      expect(() => parseMasksBenchArgs(args)).toThrow(BenchUsageError);
      expect(() => parseMasksBenchArgs(args)).toThrow(message);
    }
  });
});

describe('formatMasksBench', () => {
  it('prints the IoU figures against the useful level', () => {
    const r: MasksBenchResult = {
      adapter: 'test',
      frames: 'f',
      frameCount: 2,
      width: 8,
      height: 8,
      model: 'homography',
      found: true,
      framesWithObject: 2,
      clipIou: 0.7,
      meanIou: 0.71,
      medianIou: 0.7,
      minIou: 0.6,
      maxIou: 0.8,
      iouPerFrame: [0.6, 0.8],
      coveragePerFrame: [0.1, 0.12],
      truthCoveragePerFrame: [0.1, 0.1],
      meanCoverage: 0.11,
      meanTruthCoverage: 0.1,
      meanBackgroundInliers: 0.5,
      flowMs: 1000,
      readbackMs: 10,
      masksMs: 200,
    };
    const lines = formatMasksBench(r);
    expect(lines).toContain('  IoU over the clip:     0.700  (meets the useful level ≥ 0.6)');
    expect(lines.join('\n')).toMatch(/IoU by frame: +0\.60 0\.80/);
  });
});
