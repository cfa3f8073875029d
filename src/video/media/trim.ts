/**
 * Which source frames an import keeps: `frameCount` frames from `start`, every `stride`-th (spec §B.3 keeps the
 * first T frames; NLA at most 70). Pure; decoders are asked for exactly these indices.
 */
import { type SuggestedTrim, VideoImportError } from './importError';

export interface FrameTrim {
  start: number;
  /** null: every frame from `start`. */
  frameCount: number | null;
  stride: number;
}

/** How many frames remain from `start` with `stride` (0 when `start` is past the end). */
export function framesAvailable(sourceFrameCount: number, start: number, stride: number): number {
  return start >= sourceFrameCount ? 0 : Math.floor((sourceFrameCount - 1 - start) / stride) + 1;
}

/**
 * Trims that fit `maxFrames` when the trim asked for keeps too many: first the first `maxFrames` of those frames
 * (the reference's choice), then the same span at the smallest multiple of the stride that fits.
 */
export function suggestTrims(sourceFrameCount: number, trim: FrameTrim, maxFrames: number): SuggestedTrim[] {
  const count = trim.frameCount ?? framesAvailable(sourceFrameCount, trim.start, trim.stride);
  const first: SuggestedTrim = { start: trim.start, frameCount: Math.min(maxFrames, count), stride: trim.stride };
  if (count <= maxFrames) return [first];
  const stride = trim.stride * Math.ceil(count / maxFrames);
  const span = (count - 1) * trim.stride;
  return [first, { start: trim.start, frameCount: Math.floor(span / stride) + 1, stride }];
}

function nth(n: number): string {
  const s = n % 100 >= 11 && n % 100 <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${s}`;
}

/** "frames 0–69", "every 2nd frame from 10 (35 frames)" */
export function describeTrim(t: SuggestedTrim): string {
  if (t.stride === 1) return `frames ${t.start}–${t.start + t.frameCount - 1}`;
  return `every ${nth(t.stride)} frame from ${t.start} (${t.frameCount} frames)`;
}

/**
 * The source indices the trim keeps, ascending. Throws VideoImportError: 'no-frames' for an empty source,
 * 'trim-out-of-range' for a start past the end or a frame count larger than what remains, 'too-many-frames' (with
 * the count and suggested trims) when more than `maxFrames` would be kept.
 */
export function keptFrameIndices(
  sourceFrameCount: number,
  trim: FrameTrim,
  maxFrames: number,
  source: string,
): number[] {
  if (sourceFrameCount === 0)
    throw new VideoImportError('no-frames', source, `${source} has no frames.`, { sourceFrameCount });
  const last = sourceFrameCount - 1;
  if (trim.start > last) {
    throw new VideoImportError(
      'trim-out-of-range',
      source,
      `The trim starts at frame ${trim.start}, but ${source} has ${sourceFrameCount} frames (0–${last}).`,
      { sourceFrameCount },
    );
  }
  const available = framesAvailable(sourceFrameCount, trim.start, trim.stride);
  const count = trim.frameCount ?? available;
  if (count > available) {
    const how = trim.stride === 1 ? `from frame ${trim.start}` : `from frame ${trim.start} with stride ${trim.stride}`;
    throw new VideoImportError(
      'trim-out-of-range',
      source,
      `${source} has ${sourceFrameCount} frames: ${how}, ${available} remain, not ${count}.`,
      { sourceFrameCount },
    );
  }
  if (count > maxFrames) {
    const suggestedTrims = suggestTrims(sourceFrameCount, { ...trim, frameCount: count }, maxFrames);
    const whole = trim.start === 0 && trim.stride === 1 && trim.frameCount === null;
    const what = whole
      ? `${source} has ${sourceFrameCount} frames`
      : `The trim keeps ${count} of the ${sourceFrameCount} frames of ${source}`;
    throw new VideoImportError(
      'too-many-frames',
      source,
      `${what}; at most ${maxFrames} can be decomposed. Keep ${suggestedTrims.map(describeTrim).join(', or ')}.`,
      { sourceFrameCount, maxFrames, suggestedTrims },
    );
  }
  return Array.from({ length: count }, (_, i) => trim.start + i * trim.stride);
}
