import { describe, expect, it } from 'vitest';
import { BenchUsageError } from './benchArgs';
import { DEFAULT_FLOW_FRAMES, parseFlowBenchArgs } from './flowBench';

describe('parseFlowBenchArgs', () => {
  it('defaults to blackswan, 50 frames at 384×216, the recipe’s settings, with a warm-up', () => {
    expect(parseFlowBenchArgs([])).toEqual({
      frames: DEFAULT_FLOW_FRAMES,
      width: 384,
      height: 216,
      count: 50,
      flow: {},
      warmup: true,
    });
    expect(DEFAULT_FLOW_FRAMES).toMatch(/shared\/data\/video\/blackswan\/frames$/);
  });

  it('reads every option', () => {
    const args = [
      '--frames',
      '/tmp/f',
      '--size',
      '768x432',
      '--frames-count',
      '8',
      '--levels',
      '3',
      '--lambda',
      '0.02',
    ];
    args.push('--rho', '0', '--warps', '2', '--iterations', '10', '--no-median', '--motion-boundaries');
    args.push('--no-warmup', '--json', 'out.json');
    expect(parseFlowBenchArgs(args)).toEqual({
      frames: '/tmp/f',
      width: 768,
      height: 432,
      count: 8,
      flow: {
        levels: 3,
        lambda: 0.02,
        rho: 0,
        warps: 2,
        jacobiIterations: 10,
        median: false,
        consistency: { motionBoundaries: true },
      },
      warmup: false,
      json: 'out.json',
    });
    expect(parseFlowBenchArgs(['--help'])).toBeNull();
  });

  it('names what is wrong', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--size', '384'], /--size must be WIDTHxHEIGHT/],
      [['--frames-count', '1'], /--frames-count must be an integer ≥ 2/],
      [['--lambda', '0'], /--lambda must be a positive number/],
      [['--rho=-1'], /--rho must be a non-negative number/],
      [['--levels', '9'], /cannot have 9 levels/],
      [['--json', ''], /--json needs a file name/],
      [['--bogus'], /unknown option --bogus/],
    ];
    for (const [args, message] of cases) {
      expect(() => parseFlowBenchArgs(args)).toThrow(BenchUsageError);
      expect(() => parseFlowBenchArgs(args)).toThrow(message);
    }
  });
});
