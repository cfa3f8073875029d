import { describe, expect, it } from 'vitest';
import { BenchUsageError, parseGeneratorBenchArgs } from './benchArgs';

const parse = (s: string) => parseGeneratorBenchArgs(s.split(' ').filter(Boolean));

describe('parseGeneratorBenchArgs', () => {
  it('takes the defaults and the documented options', () => {
    expect(parse('')).toEqual({ height: 512, width: 512, iters: 3, warmup: 1, scales: 7, channels: 128 });
    expect(parse('--size 129 --iters 2')).toMatchObject({ height: 129, width: 129, iters: 2, warmup: 1 });
    expect(parse('--size 256 --iters 1 --warmup 0')).toMatchObject({ height: 256, width: 256, iters: 1, warmup: 0 });
    expect(parse('--size=300 --height 200 --scales 3 --channels 8 --json out.json')).toEqual({
      height: 200,
      width: 300,
      iters: 3,
      warmup: 1,
      scales: 3,
      channels: 8,
      json: 'out.json',
    });
    expect(parse('--help')).toBeNull();
  });

  it.each([
    ['--szie 256', /^unknown option --szie$/],
    ['--size 256 extra', /^unexpected argument "extra"$/],
    ['--size abc', /^--size must be a positive integer, got "abc"$/],
    ['--size 12.5', /^--size must be a positive integer, got "12.5"$/],
    ['--size=', /^--size must be a positive integer, got ""$/],
    ['--size 128', /^128×128 px is too small: with 7 scales the generator needs at least 129 px on each side$/],
    ['--size 256 --width 100', /^100×256 px is too small/],
    ['--scales 3 --size 8', /with 3 scales the generator needs at least 9 px/],
    ['--iters 0', /^--iters must be a positive integer, got "0"$/],
    ['--warmup=-1', /^--warmup must be a non-negative integer, got "-1"$/],
    ['--scales 40', /^--scales must be at most 12/],
    ['--size', /^option '--size <value>' argument missing$/],
  ])('rejects "%s" with a clear message', (args, message) => {
    expect(() => parse(args)).toThrow(BenchUsageError);
    expect(() => parse(args)).toThrow(message);
  });
});
