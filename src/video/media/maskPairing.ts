/**
 * Which mask belongs to which frame. Named frames and named masks pair by name without the extension (DAVIS:
 * frames/00000.jpg ↔ masks/00000.png); where one side is a video, they pair by position and the counts must agree.
 * Any frame without its mask, or mask without its frame, is an error: a partial mask set would silently train the
 * atlas with the wrong object.
 */
import { VideoImportError } from './importError';
import { baseName, fileStem } from './framePaths';

const SHOWN = 5;

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, SHOWN).join(', ');
  return names.length > SHOWN ? `${shown} and ${names.length - SHOWN} more` : shown;
}

/**
 * For each frame, the index of its mask. Throws 'mask-mismatch' naming the frames without a mask and the masks
 * without a frame (the first few of each).
 */
export function pairMasksByName(
  frameNames: readonly string[],
  maskNames: readonly string[],
  source: string,
  maskSource: string,
): number[] {
  const maskByStem = new Map<string, number>();
  maskNames.forEach((name, i) => maskByStem.set(fileStem(name), i));
  const pairing: number[] = [];
  const missing: string[] = [];
  for (const name of frameNames) {
    const i = maskByStem.get(fileStem(name));
    if (i === undefined) missing.push(baseName(name));
    else pairing.push(i);
  }
  const frameStems = new Set(frameNames.map(fileStem));
  const extra = maskNames.filter((name) => !frameStems.has(fileStem(name))).map(baseName);
  if (missing.length || extra.length) {
    const parts: string[] = [];
    if (missing.length) parts.push(`${missing.length} frames have no mask (${listNames(missing)})`);
    if (extra.length) parts.push(`${extra.length} masks have no frame (${listNames(extra)})`);
    throw new VideoImportError(
      'mask-mismatch',
      source,
      `The masks (${maskSource}) do not match the frames of ${source}: ${parts.join('; ')}. ` +
        'A mask has the same name as its frame (00000.jpg ↔ 00000.png).',
    );
  }
  return pairing;
}

/** Positional pairing (a mask video, or masks for a video): the counts must be equal. */
export function checkMaskCount(frameCount: number, maskCount: number, source: string, maskSource: string): void {
  if (frameCount !== maskCount) {
    throw new VideoImportError(
      'mask-mismatch',
      source,
      `${source} has ${frameCount} frames but its masks (${maskSource}) have ${maskCount}; there must be one mask per frame.`,
    );
  }
}
