/** The soak command's pure parts: the trend verdict and its arguments (the soak itself is too long for `npm test`). */
import { describe, expect, it } from 'vitest';
import { TINY_EDIT_PHOTO } from '../../test/tinyEdit';
import { BenchUsageError } from './benchArgs';
import { parseSoakArgs } from './soakArgs';
import { leastSquaresSlope, trendVerdict, type TrendPoint } from './soakTrend';

const series = (f: (step: number) => number, steps = 500, every = 10): TrendPoint[] =>
  Array.from({ length: steps / every + 1 }, (_, i) => ({ step: i * every, value: f(i * every) }));

/** Deterministic noise in (−1, 1). */
const noise = (step: number) => (Math.sin(step * 12.9898) * 43758.5453) % 1;

describe('leastSquaresSlope', () => {
  it('recovers the slope of a line, and is 0 without two distinct steps', () => {
    expect(leastSquaresSlope(series((s) => 3 + 0.25 * s))).toBeCloseTo(0.25, 12);
    expect(leastSquaresSlope([{ step: 5, value: 1 }])).toBe(0);
    expect(leastSquaresSlope([])).toBe(0);
    expect(
      leastSquaresSlope([
        { step: 5, value: 1 },
        { step: 5, value: 9 },
      ]),
    ).toBe(0);
  });
});

describe('trendVerdict', () => {
  const tolerance = { absolute: 1000, relative: 0.01 };

  it('calls a constant series flat', () => {
    const v = trendVerdict(
      series(() => 50_000),
      tolerance,
      100,
    );
    expect(v).toEqual({
      verdict: 'flat',
      points: 41,
      first: 50_000,
      last: 50_000,
      slopePer100Steps: 0,
      fittedChange: 0,
      allowance: 1000,
    });
  });

  it('calls a slow steady rise growing, with its slope per 100 steps', () => {
    // 4 bytes a step: 1600 over the 400 measured steps, above the 1000 allowed.
    const v = trendVerdict(
      series((s) => 50_000 + 4 * s),
      tolerance,
      100,
    );
    expect(v.verdict).toBe('growing');
    expect(v.slopePer100Steps).toBeCloseTo(400, 9);
    expect(v.fittedChange).toBeCloseTo(1600, 9);
    expect([v.first, v.last]).toEqual([50_400, 52_000]);
  });

  it('ignores the warm-up: a jump before it does not count, one after it does', () => {
    const warmingUp = (s: number) => (s < 100 ? 10_000 : 80_000);
    expect(trendVerdict(series(warmingUp), tolerance, 100).verdict).toBe('flat');
    expect(trendVerdict(series(warmingUp), tolerance, 0).verdict).toBe('growing');
  });

  it('lets noise within the allowance pass, and uses the larger of the absolute and relative allowance', () => {
    const noisy = series((s) => 1e6 + 5000 * noise(s));
    const v = trendVerdict(noisy, tolerance, 100);
    expect(v.allowance).toBe(0.01 * v.first);
    expect(v.verdict).toBe('flat');
    // One late outlier moves a fitted line far less than it moves last − first.
    const outlier = series((s) => (s === 500 ? 1e6 + 30_000 : 1e6));
    const w = trendVerdict(outlier, tolerance, 100);
    expect(w.last - w.first).toBe(30_000);
    expect(w.verdict).toBe('flat');
  });

  it('calls a steady fall falling', () => {
    expect(
      trendVerdict(
        series((s) => 1e6 - 100 * s),
        tolerance,
        100,
      ).verdict,
    ).toBe('falling');
  });

  it('falls back to the last two samples when the warm-up leaves fewer than two', () => {
    const v = trendVerdict(
      series((s) => s, 20),
      tolerance,
      1000,
    );
    expect(v.points).toBe(2);
    expect(v.slopePer100Steps).toBeCloseTo(100, 9);
  });
});

describe('parseSoakArgs', () => {
  const parse = (s: string) => parseSoakArgs(s.split(' ').filter(Boolean));

  it('takes the defaults and the documented options', () => {
    expect(parse('')).toEqual({
      steps: 500,
      every: 50,
      sampleEvery: 10,
      warmup: 100,
      renderEvery: 5,
      checkpointEvery: 10,
      downloadEvery: 100,
      fullImageEvery: 10,
      model: 'models/tiny-clip',
      image: TINY_EDIT_PHOTO,
      seed: 1,
    });
    expect(parse('--steps 40')).toMatchObject({ steps: 40, warmup: 8 });
    expect(
      parse(
        '--steps 60 --every 20 --sample-every 5 --warmup 10 --render-every 0 --checkpoint-every 3 ' +
          '--download-every 0 --full-image-every 2 --seed 7 --json out.json',
      ),
    ).toMatchObject({
      steps: 60,
      every: 20,
      sampleEvery: 5,
      warmup: 10,
      renderEvery: 0,
      checkpointEvery: 3,
      downloadEvery: 0,
      fullImageEvery: 2,
      seed: 7,
      json: 'out.json',
    });
    expect(parse('--help')).toBeNull();
  });

  it.each([
    ['--steps 0', /^--steps must be a positive integer, got "0"$/],
    ['--steps 100 --warmup 100', /^--warmup must be below --steps \(100\), got 100$/],
    ['--full-image-every 0', /^--full-image-every must be a positive integer/],
    ['--render-every=-1', /^--render-every must be a non-negative integer/],
    ['--model /nonexistent', /config\.json does not exist$/],
    ['--image /nonexistent.png', /^--image \/nonexistent\.png does not exist$/],
    ['--json=', /^--json needs a file name$/],
    ['--iters 3', /^unknown option --iters$/],
  ])('rejects %j', (args, message) => {
    expect(() => parse(args)).toThrow(BenchUsageError);
    expect(() => parse(args)).toThrow(message);
  });
});
