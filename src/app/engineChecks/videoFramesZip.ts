/**
 * Check `video-frames-zip`: imports a zip of PNG/JPEG frames (with a masks/ folder, or masks given as a second zip)
 * in this browser with the app's importer (fflate + ImageDecoder, src/video/media/importClip.browser.ts), and
 * checks that every frame has the working size and every mask is binary. Reports checksums and a colour grid that
 * the e2e test compares with the Node (sharp) import of the same zip.
 *
 * Options: `zip` (URL; default /fixtures/frames.zip, or the page's ?zip=), `masks` (URL of a masks zip or mask
 * video), `start`, `frameCount`, `stride`, `maxSide`, `maxFrames`, `frameRate`, `frame`, `expectError`.
 */
import { importFramesZip } from '../../video/media/importClip.browser';
import type { CheckOptions, CheckOutcome, EngineCheck } from './types';
import {
  clipNotes,
  expectingError,
  fetchInput,
  importOptionsFrom,
  inputUrl,
  nonBinaryMaskPixels,
  VIDEO_NOTE_KEYS,
} from './videoImportReport';

export const DEFAULT_ZIP_URL = '/fixtures/frames.zip';

async function run(options: CheckOptions): Promise<CheckOutcome> {
  const zip = await fetchInput(inputUrl(options, 'zip', DEFAULT_ZIP_URL, location.href), 'frames zip');
  const masks = options.masks ? await fetchInput(new URL(options.masks, location.href).href, 'masks') : undefined;
  let progressCalls = 0;
  const t0 = performance.now();
  const clip = await importFramesZip(zip, { ...importOptionsFrom(options), masks }, () => progressCalls++);
  const ms = performance.now() - t0;
  const offSize = clip.frames.filter((f) => f.width !== clip.width || f.height !== clip.height).length;
  const nonBinary = nonBinaryMaskPixels(clip.masks ?? []);
  const K = VIDEO_NOTE_KEYS;
  const notes = clipNotes(clip, options, ms, progressCalls);
  return {
    maxError: Math.max(offSize, nonBinary),
    tolerance: 0,
    errors: { 'frames off the working size': offSize, 'mask pixels neither 0 nor 255': nonBinary },
    notes,
    summary:
      `Imported ${notes[K.frames]} of ${notes[K.sourceFrameCount]} frames (${notes[K.masks]} masks) of ${zip.name} at ` +
      `${clip.width}×${clip.height} in ${(ms / 1000).toFixed(2)} s.`,
  };
}

export const videoFramesZip: EngineCheck = {
  title: 'Frames zip import (fflate + ImageDecoder)',
  description:
    'Imports a zip of PNG/JPEG frames with a masks/ folder with the app’s importer and checks sizes and binary ' +
    'masks. Needs a zip at /fixtures/frames.zip or ?zip=URL.',
  run: (_engine, options) => expectingError(options, () => run(options)),
};
