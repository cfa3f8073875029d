/**
 * What the video import checks (video-decode, video-frames-zip) share: fetching the input, reading import options
 * from the check's string options, and fingerprints of frames and masks that the e2e test recomputes in Node on
 * the Node import of the same file (a checksum for exact equality, a coarse colour grid for decoders that may
 * differ by a level or two).
 */
import type { RgbaImage } from '../../edit/jobTypes';
import type { ClipImportOptions } from '../../video/media/importOptions';
import { isVideoImportError, type VideoImportErrorKind } from '../../video/media/importError';
import type { VideoClip } from '../../video/media/videoClip';
import type { CheckOptions, CheckOutcome } from './types';

export class InputUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputUnavailableError';
  }
}

/** The URL to fetch: the option, else the page's `?<key>=`, else the default; absolute. */
export function inputUrl(options: CheckOptions, key: string, fallback: string, pageUrl: string): string {
  const fromQuery = new URL(pageUrl).searchParams.get(key);
  return new URL(options[key] || fromQuery || fallback, pageUrl).href;
}

/** Fetches the input as a File named after the URL's last path segment (the name shows in import messages). */
export async function fetchInput(url: string, what: string): Promise<File> {
  const fail = (why: string) =>
    new InputUnavailableError(
      `Could not load the ${what} from ${url}: ${why}. The production build ships no test media: serve one at that ` +
        'URL (the e2e test does it with page.route) or pass its URL as an option.',
    );
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw fail(`the request failed (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!res.ok) throw fail(`HTTP ${res.status}`);
  // Vite's preview server answers a missing file with index.html and status 200.
  if ((res.headers.get('content-type') ?? '').includes('text/html'))
    throw fail('the server answered with an HTML page');
  const name = decodeURIComponent(new URL(url).pathname.split('/').pop() || 'input');
  return new File([await res.arrayBuffer()], name);
}

function wholeOption(options: CheckOptions, key: string): number | undefined {
  const v = options[key];
  return v === undefined || v === '' ? undefined : Number(v);
}

/** start, frameCount, stride, maxFrames, maxSide, frameRate from the check's options (strings). */
export function importOptionsFrom(options: CheckOptions): ClipImportOptions {
  return {
    start: wholeOption(options, 'start'),
    frameCount: wholeOption(options, 'frameCount'),
    stride: wholeOption(options, 'stride'),
    maxFrames: wholeOption(options, 'maxFrames'),
    maxSide: wholeOption(options, 'maxSide'),
    frameRate: wholeOption(options, 'frameRate'),
  };
}

/** FNV-1a (32-bit) of the bytes, as 8 hex digits. */
export function checksum(bytes: ArrayLike<number>): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** Mean R, G, B of each cell of a `cells`×`cells` grid, row by row, rounded: a fingerprint robust to ±1 decoders. */
export function colourGrid(img: RgbaImage, cells = 4): number[] {
  const out: number[] = [];
  for (let gy = 0; gy < cells; gy++) {
    for (let gx = 0; gx < cells; gx++) {
      const x0 = Math.floor((gx * img.width) / cells);
      const x1 = Math.floor(((gx + 1) * img.width) / cells);
      const y0 = Math.floor((gy * img.height) / cells);
      const y1 = Math.floor(((gy + 1) * img.height) / cells);
      const sum = [0, 0, 0];
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const p = (y * img.width + x) * 4;
          sum[0] += img.data[p];
          sum[1] += img.data[p + 1];
          sum[2] += img.data[p + 2];
        }
      }
      const n = Math.max(1, (x1 - x0) * (y1 - y0));
      out.push(...sum.map((s) => Math.round(s / n)));
    }
  }
  return out;
}

/** The largest difference between two grids of the same length (Infinity when they differ in length). */
export function gridDifference(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) return Infinity;
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

/** Pixels of the masks that are neither 0 nor 255 (a binary mask has none). */
export function nonBinaryMaskPixels(masks: readonly Uint8Array[]): number {
  let n = 0;
  for (const m of masks) for (let i = 0; i < m.length; i++) if (m[i] !== 0 && m[i] !== 255) n++;
  return n;
}

/** Keys of the notes the checks report (the e2e test reads them). */
export const VIDEO_NOTE_KEYS = {
  frames: 'frames',
  width: 'width',
  height: 'height',
  frameRate: 'frame rate',
  sourceFrameRate: 'source frame rate',
  sourceFrameCount: 'source frames',
  frameIndices: 'frame indices',
  checkedFrame: 'checked frame',
  checksum: 'frame checksum',
  grid: 'frame colour grid',
  masks: 'masks',
  maskChecksum: 'mask checksum',
  maskCoverage: 'mask coverage',
  audio: 'audio codec',
  decodeMs: 'import ms',
  progressCalls: 'progress reports',
  errorKind: 'error kind',
  errorMessage: 'error message',
} as const;

/** The notes that describe an imported clip and one of its frames (`options.frame`, default 0). */
export function clipNotes(
  clip: VideoClip,
  options: CheckOptions,
  decodeMs: number,
  progressCalls: number,
): Record<string, string | number> {
  const K = VIDEO_NOTE_KEYS;
  const which = Math.min(clip.frames.length - 1, Math.max(0, Number(options.frame ?? 0) || 0));
  const frame = clip.frames[which];
  const notes: Record<string, string | number> = {
    [K.frames]: clip.frames.length,
    [K.width]: clip.width,
    [K.height]: clip.height,
    [K.frameRate]: clip.frameRate,
    [K.sourceFrameRate]: clip.sourceFrameRate,
    [K.sourceFrameCount]: clip.sourceFrameCount,
    [K.frameIndices]: clip.frameIndices.join(','),
    [K.checkedFrame]: which,
    [K.checksum]: checksum(frame.data),
    [K.grid]: colourGrid(frame).join(','),
    [K.masks]: clip.masks?.length ?? 0,
    [K.audio]: clip.audio?.codec ?? 'none',
    [K.decodeMs]: Math.round(decodeMs),
    [K.progressCalls]: progressCalls,
  };
  const mask = clip.masks?.[which];
  if (mask) {
    notes[K.maskChecksum] = checksum(mask);
    notes[K.maskCoverage] = mask.reduce((n, v) => n + (v ? 1 : 0), 0) / mask.length;
  }
  return notes;
}

/**
 * With `options.expectError` set to a kind, the check passes when the import fails with exactly that kind (and
 * reports its message); without it, an import error is a failure like any other.
 */
export async function expectingError(options: CheckOptions, run: () => Promise<CheckOutcome>): Promise<CheckOutcome> {
  const expected = options.expectError as VideoImportErrorKind | undefined;
  if (!expected) return run();
  const K = VIDEO_NOTE_KEYS;
  try {
    await run();
  } catch (e) {
    const kind = isVideoImportError(e) ? e.kind : e instanceof Error ? e.name : 'unknown';
    const message = e instanceof Error ? e.message : String(e);
    return {
      maxError: kind === expected ? 0 : 1,
      tolerance: 0,
      errors: { [`failed with ${expected}`]: kind === expected ? 0 : 1 },
      notes: { [K.errorKind]: kind, [K.errorMessage]: message },
      summary: `Failed as expected? ${kind === expected ? 'yes' : 'no'}: ${kind}: ${message}`,
    };
  }
  return {
    maxError: 1,
    tolerance: 0,
    errors: { [`failed with ${expected}`]: 1 },
    failures: [`the import succeeded, but a '${expected}' error was expected`],
  };
}
