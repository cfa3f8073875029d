/**
 * Check `video-read`: reads a video file in this browser and keeps its frames on `window.__videoReadFrames` for the
 * e2e test to compare pixel by pixel (the video edit's download against the input clip). Without trim options it
 * reads the file as it is with mediabunny (every frame at the file's size: what a player shows); with any of
 * `start`, `frameCount`, `stride`, `maxSide` it imports the clip with the app's importer, as the app does (the
 * working-size frames an edit starts from). Reports the container, codec, MIME type, size, frame count and rate.
 *
 * Options: `video` (URL; default /fixtures/video.mp4), `start`, `frameCount`, `stride`, `maxSide`, `maxFrames`.
 */
import { ALL_FORMATS, BlobSource, Input } from 'mediabunny';
import { openVideoBlob } from '../../video/media/mediabunnyVideo';
import { decodeVideoBlob } from '../../video/media/importClip.browser';
import type { CheckOptions, CheckOutcome, EngineCheck } from './types';
import { fetchInput, importOptionsFrom, inputUrl } from './videoImportReport';

declare global {
  interface Window {
    /** The RGBA frames (width·height·4 bytes each) the last `video-read` check decoded. */
    __videoReadFrames?: Uint8ClampedArray[];
  }
}

/** Keys of the notes the check reports (the e2e test reads them). */
export const READ_NOTE_KEYS = {
  container: 'container',
  mimeType: 'MIME type',
  codec: 'codec',
  width: 'width',
  height: 'height',
  frames: 'frames',
  frameRate: 'frame rate',
  probedFrames: 'frames in the file',
} as const;

const TRIM_KEYS = ['start', 'frameCount', 'stride', 'maxSide', 'maxFrames'];

async function run(options: CheckOptions): Promise<CheckOutcome> {
  const file = await fetchInput(inputUrl(options, 'video', '/fixtures/video.mp4', location.href), 'video');
  const K = READ_NOTE_KEYS;
  const input = new Input({ source: new BlobSource(file), formats: ALL_FORMATS });
  let container: string;
  let mimeType: string;
  let codec: string;
  try {
    container = (await input.getFormat()).name;
    mimeType = await input.getMimeType();
    codec = (await (await input.getPrimaryVideoTrack())?.getCodec()) ?? 'none';
  } finally {
    input.dispose();
  }
  let frames: Uint8ClampedArray[];
  let width: number;
  let height: number;
  let frameRate: number;
  let probedFrames: number;
  if (TRIM_KEYS.some((k) => options[k] !== undefined && options[k] !== '')) {
    const clip = await decodeVideoBlob(file, importOptionsFrom(options));
    frames = clip.frames.map((f) => f.data);
    ({ width, height, frameRate } = clip);
    probedFrames = clip.sourceFrameCount;
  } else {
    const video = await openVideoBlob(file, file.name);
    frames = [];
    try {
      await video.read([...Array(video.frameCount).keys()], (f) => {
        frames.push(new Uint8ClampedArray(f.data));
      });
    } finally {
      video.close();
    }
    ({ width, height } = video.probe);
    frameRate = video.probe.frameCount / video.probe.duration;
    probedFrames = video.probe.frameCount;
  }
  window.__videoReadFrames = frames;
  const offSize = frames.filter((f) => f.length !== width * height * 4).length;
  return {
    maxError: offSize,
    tolerance: 0,
    errors: { 'frames off the size': offSize },
    notes: {
      [K.container]: container,
      [K.mimeType]: mimeType,
      [K.codec]: codec,
      [K.width]: width,
      [K.height]: height,
      [K.frames]: frames.length,
      [K.frameRate]: frameRate,
      [K.probedFrames]: probedFrames,
    },
    summary: `Read ${frames.length} frames of ${file.name} (${container}, ${codec}) at ${width}×${height}, ${frameRate.toFixed(3)} fps.`,
  };
}

export const videoRead: EngineCheck = {
  title: 'Video read-back (mediabunny + WebCodecs)',
  description:
    'Reads a video file (as it is, or imported with a trim as the app does) and keeps its frames for a test to ' +
    'compare. Needs a video at /fixtures/video.mp4 or ?video=URL.',
  run: (_engine, options) => run(options),
};
