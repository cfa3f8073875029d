import { describe, expect, it } from 'vitest';
import { VideoImportError } from './importError';
import { describeTrim, framesAvailable, keptFrameIndices, suggestTrims } from './trim';

const all = { start: 0, frameCount: null, stride: 1 };

function thrown(f: () => unknown): VideoImportError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(VideoImportError);
    return e as VideoImportError;
  }
  throw new Error('did not throw');
}

describe('keptFrameIndices', () => {
  it('keeps every frame by default', () => {
    expect(keptFrameIndices(5, all, 70, 'c.mp4')).toEqual([0, 1, 2, 3, 4]);
  });

  it('takes start, frame count and stride', () => {
    expect(keptFrameIndices(80, { start: 5, frameCount: 10, stride: 3 }, 70, 'c.mp4')).toEqual([
      5, 8, 11, 14, 17, 20, 23, 26, 29, 32,
    ]);
    expect(keptFrameIndices(10, { start: 1, frameCount: null, stride: 2 }, 70, 'c')).toEqual([1, 3, 5, 7, 9]);
    expect(keptFrameIndices(10, { start: 9, frameCount: null, stride: 4 }, 70, 'c')).toEqual([9]);
  });

  it('keeps exactly maxFrames, and refuses one more with the count and trims to offer', () => {
    expect(keptFrameIndices(70, all, 70, 'c')).toHaveLength(70);
    const e = thrown(() => keptFrameIndices(80, all, 70, 'car-turn.mp4'));
    expect(e.kind).toBe('too-many-frames');
    expect(e.message).toBe(
      'car-turn.mp4 has 80 frames; at most 70 can be decomposed. Keep frames 0–69, or every 2nd frame from 0 (40 frames).',
    );
    expect(e.sourceFrameCount).toBe(80);
    expect(e.maxFrames).toBe(70);
    expect(e.suggestedTrims).toEqual([
      { start: 0, frameCount: 70, stride: 1 },
      { start: 0, frameCount: 40, stride: 2 },
    ]);
    for (const t of e.suggestedTrims!) expect(keptFrameIndices(80, t, 70, 'c').length).toBeLessThanOrEqual(70);
  });

  it('names the trim when the trim itself keeps too many', () => {
    const e = thrown(() => keptFrameIndices(300, { start: 10, frameCount: 100, stride: 2 }, 70, 'long.webm'));
    expect(e.kind).toBe('too-many-frames');
    expect(e.message).toBe(
      'The trim keeps 100 of the 300 frames of long.webm; at most 70 can be decomposed. Keep every 2nd frame from 10 ' +
        '(70 frames), or every 4th frame from 10 (50 frames).',
    );
  });

  it('refuses a start past the end and a count larger than what remains', () => {
    const past = thrown(() => keptFrameIndices(80, { start: 80, frameCount: null, stride: 1 }, 70, 'c.mp4'));
    expect(past.kind).toBe('trim-out-of-range');
    expect(past.message).toBe('The trim starts at frame 80, but c.mp4 has 80 frames (0–79).');
    expect(past.sourceFrameCount).toBe(80);
    const many = thrown(() => keptFrameIndices(80, { start: 60, frameCount: 20, stride: 2 }, 70, 'c.mp4'));
    expect(many.kind).toBe('trim-out-of-range');
    expect(many.message).toBe('c.mp4 has 80 frames: from frame 60 with stride 2, 10 remain, not 20.');
    expect(thrown(() => keptFrameIndices(10, { start: 5, frameCount: 6, stride: 1 }, 70, 'd')).message).toBe(
      'd has 10 frames: from frame 5, 5 remain, not 6.',
    );
  });

  it('reports an empty source as no frames', () => {
    const e = thrown(() => keptFrameIndices(0, all, 70, 'empty'));
    expect(e.kind).toBe('no-frames');
    expect(e.message).toBe('empty has no frames.');
  });
});

describe('suggestTrims and describeTrim', () => {
  it('spreads the span asked for at the smallest stride that fits', () => {
    expect(suggestTrims(71, all, 70)).toEqual([
      { start: 0, frameCount: 70, stride: 1 },
      { start: 0, frameCount: 36, stride: 2 },
    ]);
    expect(framesAvailable(10, 3, 3)).toBe(3);
    expect(framesAvailable(10, 10, 1)).toBe(0);
  });

  it('writes ordinals properly', () => {
    expect(describeTrim({ start: 0, frameCount: 5, stride: 1 })).toBe('frames 0–4');
    expect(describeTrim({ start: 2, frameCount: 5, stride: 3 })).toBe('every 3rd frame from 2 (5 frames)');
    expect(describeTrim({ start: 0, frameCount: 5, stride: 11 })).toBe('every 11th frame from 0 (5 frames)');
    expect(describeTrim({ start: 0, frameCount: 5, stride: 21 })).toBe('every 21st frame from 0 (5 frames)');
  });
});
