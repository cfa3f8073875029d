import { describe, expect, it } from 'vitest';
import { VideoImportError } from './importError';
import { type ClipImportOptions, resolveImportOptions } from './importOptions';

function message(options: ClipImportOptions): string {
  try {
    resolveImportOptions(options, 'c.mp4');
  } catch (e) {
    expect(e).toBeInstanceOf(VideoImportError);
    expect((e as VideoImportError).kind).toBe('invalid-options');
    expect((e as VideoImportError).source).toBe('c.mp4');
    return (e as Error).message;
  }
  throw new Error('accepted');
}

describe('resolveImportOptions', () => {
  it('fills in the reference defaults', () => {
    expect(resolveImportOptions()).toEqual({
      start: 0,
      frameCount: null,
      stride: 1,
      maxFrames: 70,
      maxSide: 768,
      frameRate: 24,
    });
    expect(
      resolveImportOptions({ start: 3, frameCount: 9, stride: 2, maxFrames: 100, maxSide: 256, frameRate: 29.97 }),
    ).toEqual({
      start: 3,
      frameCount: 9,
      stride: 2,
      maxFrames: 100,
      maxSide: 256,
      frameRate: 29.97,
    });
  });

  it('names the option and the value it refuses', () => {
    expect(message({ stride: 0 })).toBe('stride must be a whole number ≥ 1 (got 0).');
    expect(message({ start: -1 })).toBe('start must be a whole number ≥ 0 (got -1).');
    expect(message({ frameCount: 2.5 })).toBe('frameCount must be a whole number ≥ 1 (got 2.5).');
    expect(message({ frameCount: 0 })).toBe('frameCount must be a whole number ≥ 1 (got 0).');
    expect(message({ maxFrames: NaN })).toBe('maxFrames must be a whole number ≥ 1 (got NaN).');
    expect(message({ maxSide: 8 })).toBe('maxSide must be a whole number ≥ 16 (got 8).');
    expect(message({ maxSide: 767 })).toBe('maxSide must be even and at most 4096 (got 767).');
    expect(message({ maxSide: 8192 })).toBe('maxSide must be even and at most 4096 (got 8192).');
    expect(message({ frameRate: 0 })).toBe(
      'frameRate must be a number of frames per second above 0 and at most 1000 (got 0).',
    );
    expect(message({ start: '3' as unknown as number })).toBe('start must be a whole number ≥ 0 (got 3).');
  });
});
