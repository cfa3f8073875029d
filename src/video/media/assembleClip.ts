/**
 * The import itself, the same for every source: trim, pair the masks, decode only the kept frames, check that
 * their sizes agree, resize to the working size, report progress, and hand back a complete VideoClip or throw
 * (nothing half-loaded).
 */
import { resizeAntialiased } from '../../edit/image';
import type { RgbaImage } from '../../edit/jobTypes';
import type { FrameSequence } from './frameSequence';
import { VideoImportError, throwIfCancelled } from './importError';
import type { ImportProgressCallback, ResolvedImportOptions } from './importOptions';
import { checkMaskCount, pairMasksByName } from './maskPairing';
import { maskFromImage, resizeMask } from './maskImage';
import { keptFrameIndices } from './trim';
import type { VideoClip } from './videoClip';
import { type Size, workingSize } from './workingSize';

export interface AssembleInput {
  frames: FrameSequence;
  masks: FrameSequence | null;
  options: ResolvedImportOptions;
  onProgress?: ImportProgressCallback;
  signal?: AbortSignal;
}

/** What the rest of the clip is compared with: the first kept frame's stored and shown size. */
interface Reference {
  stored: Size;
  shown: Size;
  label: string;
}

const sizeText = (s: Size) => `${s.width}×${s.height}`;

function checkSameSize(frame: RgbaImage, reference: Reference, label: string, source: string): void {
  if (frame.width !== reference.stored.width || frame.height !== reference.stored.height) {
    throw new VideoImportError(
      'mixed-sizes',
      source,
      `The frames of ${source} differ in size: ${label} is ${frame.width}×${frame.height}, ${reference.label} is ` +
        `${sizeText(reference.stored)}. Every frame of a clip must have the same size.`,
    );
  }
}

/**
 * The frame at the working size. A frame already at that size is kept as it is when it owns its whole buffer (a
 * decoder's fresh copy), and copied when it is a view into something larger, which it would otherwise keep alive.
 */
function toWorkingSize(frame: RgbaImage, size: Size): RgbaImage {
  if (frame.width === size.width && frame.height === size.height) {
    const whole = frame.data.byteOffset === 0 && frame.data.byteLength === frame.data.buffer.byteLength;
    return whole ? frame : { width: frame.width, height: frame.height, data: new Uint8ClampedArray(frame.data) };
  }
  return resizeAntialiased(frame, size.width, size.height);
}

function maskIndicesFor(frames: FrameSequence, masks: FrameSequence, kept: readonly number[]): number[] {
  if (frames.frameNames && masks.frameNames) {
    const pairing = pairMasksByName(frames.frameNames, masks.frameNames, frames.label, masks.label);
    return kept.map((i) => pairing[i]);
  }
  checkMaskCount(frames.frameCount, masks.frameCount, frames.label, masks.label);
  return [...kept];
}

/** Reads the clip; closes neither sequence (the caller opened them and closes them). */
export async function assembleClip({ frames, masks, options, onProgress, signal }: AssembleInput): Promise<VideoClip> {
  const source = frames.label;
  throwIfCancelled(signal, source);
  const kept = keptFrameIndices(frames.frameCount, options, options.maxFrames, source);
  // Pairing is checked on names and counts before anything is decoded.
  const maskIndices = masks ? maskIndicesFor(frames, masks, kept) : null;

  let reference: Reference | null = null;
  let size: Size | null = null;
  const images: RgbaImage[] = [];
  await frames.read(
    kept,
    (frame, position) => {
      throwIfCancelled(signal, source);
      const label = frames.frameLabel(kept[position]);
      if (!reference) {
        const shown = frames.displaySize ?? { width: frame.width, height: frame.height };
        if (shown.width < 2 || shown.height < 2) {
          throw new VideoImportError(
            'unsupported-file',
            source,
            `The frames of ${source} are ${sizeText(shown)} px, too small to import.`,
          );
        }
        reference = { stored: { width: frame.width, height: frame.height }, shown, label };
        size = workingSize(shown.width, shown.height, options.maxSide);
      } else checkSameSize(frame, reference, label, source);
      images.push(toWorkingSize(frame, size!));
      onProgress?.({ stage: 'frames', done: images.length, total: kept.length });
    },
    signal,
  );
  throwIfCancelled(signal, source);
  if (images.length !== kept.length || !reference || !size) {
    throw new VideoImportError(
      'corrupt',
      source,
      `${source} ended after ${images.length} of the ${kept.length} frames to import; the file may be truncated.`,
    );
  }
  const ref: Reference = reference;
  const working: Size = size;

  let maskList: Uint8Array[] | null = null;
  if (masks && maskIndices) {
    const list: Uint8Array[] = [];
    await masks.read(
      maskIndices,
      (image, position) => {
        throwIfCancelled(signal, source);
        const shown = masks.displaySize ?? { width: image.width, height: image.height };
        if (shown.width !== ref.shown.width || shown.height !== ref.shown.height) {
          throw new VideoImportError(
            'mask-mismatch',
            source,
            `The mask ${masks.frameLabel(maskIndices[position])} (${masks.label}) is ${sizeText(shown)}, but the frames of ` +
              `${source} are ${sizeText(ref.shown)}; a mask must be the size of its frame.`,
          );
        }
        list.push(resizeMask(maskFromImage(image), image.width, image.height, working.width, working.height));
        onProgress?.({ stage: 'masks', done: list.length, total: maskIndices.length });
      },
      signal,
    );
    throwIfCancelled(signal, source);
    if (list.length !== maskIndices.length) {
      throw new VideoImportError(
        'corrupt',
        source,
        `The masks (${masks.label}) ended after ${list.length} of the ${maskIndices.length} frames to import.`,
      );
    }
    maskList = list;
  }

  const sourceFrameRate = frames.frameRate ?? options.frameRate;
  return {
    width: working.width,
    height: working.height,
    frameRate: sourceFrameRate / options.stride,
    sourceFrameRate,
    sourceFrameCount: frames.frameCount,
    frames: images,
    frameIndices: kept,
    masks: maskList,
    sourceName: source,
  };
}
