/**
 * Check `video-decode`: decodes a video file in this browser with the app's importer (mediabunny + WebCodecs,
 * src/video/media/importClip.browser.ts) with the trim, stride and size given as options, and checks that the
 * trimmed decode equals the same frames of an untrimmed decode (the trim seeks and skips correctly). Reports the
 * frame count, size, frame rate and a checksum and colour grid of one frame, which the e2e test compares with the
 * Node (ffmpeg) import of the same file.
 *
 * Options: `clip` (URL; default /fixtures/car-turn.mp4, or the page's ?clip=), `start`, `frameCount`, `stride`,
 * `maxSide`, `maxFrames`, `frame` (which kept frame to fingerprint), `expectError` (a VideoImportError kind: the
 * check then passes when the import fails with it).
 */
import { decodeVideoBlob } from '../../video/media/importClip.browser';
import type { CheckOptions, CheckOutcome, EngineCheck } from './types';
import {
  clipNotes,
  expectingError,
  fetchInput,
  importOptionsFrom,
  inputUrl,
  VIDEO_NOTE_KEYS,
} from './videoImportReport';

export const DEFAULT_CLIP_URL = '/fixtures/car-turn.mp4';

/** The largest absolute difference between the bytes of two frames (Infinity when their sizes differ). */
function maxByteDifference(a: Uint8ClampedArray, b: Uint8ClampedArray): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > m) m = d;
  }
  return m;
}

async function run(options: CheckOptions): Promise<CheckOutcome> {
  const file = await fetchInput(inputUrl(options, 'clip', DEFAULT_CLIP_URL, location.href), 'video clip');
  const importOptions = importOptionsFrom(options);
  let progressCalls = 0;
  const t0 = performance.now();
  const clip = await decodeVideoBlob(file, importOptions, () => progressCalls++);
  const ms = performance.now() - t0;

  // The untrimmed reference: every frame from the first kept to the last kept, at stride 1.
  const first = clip.frameIndices[0];
  const last = clip.frameIndices[clip.frameIndices.length - 1];
  const full = await decodeVideoBlob(file, {
    ...importOptions,
    start: first,
    frameCount: last - first + 1,
    stride: 1,
    maxFrames: last - first + 1,
  });
  let worst = 0;
  clip.frameIndices.forEach((index, i) => {
    worst = Math.max(worst, maxByteDifference(clip.frames[i].data, full.frames[index - first].data));
  });
  const K = VIDEO_NOTE_KEYS;
  const notes = clipNotes(clip, options, ms, progressCalls);
  return {
    maxError: worst,
    tolerance: 0,
    errors: { 'trimmed vs untrimmed decode: max byte difference': worst },
    failures:
      progressCalls === clip.frames.length
        ? []
        : [`${progressCalls} progress reports for ${clip.frames.length} frames`],
    notes,
    summary:
      `Decoded ${notes[K.frames]} of ${notes[K.sourceFrameCount]} frames of ${file.name} at ${clip.width}×${clip.height}, ` +
      `${clip.frameRate.toFixed(2)} fps, in ${(ms / 1000).toFixed(2)} s; trimmed vs untrimmed max difference ${worst}.`,
  };
}

export const videoDecode: EngineCheck = {
  title: 'Video decode (mediabunny + WebCodecs)',
  description:
    'Decodes a video clip with the app’s importer (trim, stride, working size) and checks the trimmed frames against ' +
    'an untrimmed decode. Needs a clip at /fixtures/car-turn.mp4 or ?clip=URL.',
  run: (_engine, options) => expectingError(options, () => run(options)),
};
