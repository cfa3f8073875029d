/**
 * The session file the app downloads: the job's own session (safetensors: settings + generator + optimizer state,
 * `EditJob.saveSession`) with the input photo added, so that "Open session" can re-render or continue training
 * without the original file. It stays a valid safetensors file: the photo is one extra `U8` tensor
 * (`text2live.input_rgba`, [height, width, 4]) appended after the job's data, and the app's own metadata (quality
 * level, format version) is one extra `__metadata__` key. `unwrapSession` removes both again and returns the job's
 * bytes as the job wrote them (a bare job session, e.g. from the command-line tool, is accepted as well).
 *
 * Opened files are untrusted: the container is read with the one safetensors reader (`readSafetensorsLayout`, which
 * checks every declared size against the bytes present), and the photo and the app's metadata are validated here.
 * Every problem is a SessionFileError whose message can be shown as it is.
 */
import { APP_QUALITY_LEVELS, type AppQuality } from '../edit/qualityLevels';
import type { RgbaImage } from '../edit/jobTypes';
import {
  encodeRawSafetensors,
  readSafetensorsLayout,
  SafetensorsError,
  type RawTensor,
  type SafetensorsLayout,
} from '../nn/safetensors';

export const INPUT_TENSOR = 'text2live.input_rgba';
export const APP_METADATA_KEY = 'text2live.app';
/** Largest side of a stored photo (the app keeps at most 2048 px; anything far beyond is not a file we wrote). */
export const MAX_SESSION_PHOTO_SIDE = 16384;

export interface AppSessionInfo {
  version: 1;
  quality: AppQuality;
  /** When the file was written (ISO 8601). */
  savedAt: string;
  /** A video edit: the clip it was made on (a session reopens only on a decomposition of that size). */
  clip?: SessionClip;
}

export interface SessionClip {
  width: number;
  height: number;
  frames: number;
}

export class SessionFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SessionFileError';
  }
}

function readLayout(bytes: Uint8Array): SafetensorsLayout {
  try {
    return readSafetensorsLayout(bytes);
  } catch (e) {
    if (e instanceof SafetensorsError) {
      throw new SessionFileError(`This is not a session file, or it is damaged (${e.message}).`);
    }
    throw e;
  }
}

/** The layout's tensors except `skip`, as raw tensors viewing the file's bytes. */
function rawTensors(layout: SafetensorsLayout, skip: string): RawTensor[] {
  return layout.tensors
    .filter((t) => t.name !== skip)
    .map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, bytes: layout.data.subarray(t.begin, t.end) }));
}

/**
 * The job's session with the photo and the app's metadata added (a photo already in it is replaced). A video edit
 * carries no photo (`image` null): it reopens on the clip's decomposition.
 */
export function wrapSession(
  jobSession: Uint8Array,
  image: RgbaImage | null,
  info: Omit<AppSessionInfo, 'version'>,
): Uint8Array {
  const layout = readLayout(jobSession);
  const tensors = rawTensors(layout, INPUT_TENSOR);
  if (image) {
    const pixels = new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength);
    tensors.push({ name: INPUT_TENSOR, dtype: 'U8', shape: [image.height, image.width, 4], bytes: pixels });
  }
  const metadata = { ...layout.metadata, [APP_METADATA_KEY]: JSON.stringify({ version: 1, ...info }) };
  return encodeRawSafetensors(tensors, metadata);
}

export interface UnwrappedSession {
  /** The job's session as `EditJob.restore` expects it. */
  job: Uint8Array;
  image: RgbaImage | null;
  info: AppSessionInfo | null;
}

function parseInfo(raw: string): AppSessionInfo {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new SessionFileError(`The session file's app settings ("${APP_METADATA_KEY}") are not valid JSON.`);
  }
  const o = (v && typeof v === 'object' && !Array.isArray(v) ? v : {}) as Record<string, unknown>;
  if (o.version !== 1) {
    const newer = typeof o.version === 'number' && o.version > 1;
    throw new SessionFileError(
      newer
        ? `The session file was written by a newer version of the app (session format ${o.version}); update the app to open it.`
        : `The session file's app settings have no valid format version (expected 1, got ${JSON.stringify(o.version)}).`,
    );
  }
  if (typeof o.quality !== 'string' || !(APP_QUALITY_LEVELS as readonly string[]).includes(o.quality)) {
    throw new SessionFileError(
      `The session file names an unknown quality level ${JSON.stringify(o.quality)} ` +
        `(expected one of ${APP_QUALITY_LEVELS.join(', ')}).`,
    );
  }
  if (typeof o.savedAt !== 'string') throw new SessionFileError('The session file has no valid saving time.');
  const info: AppSessionInfo = { version: 1, quality: o.quality as AppQuality, savedAt: o.savedAt };
  if (o.clip !== undefined) info.clip = parseClip(o.clip);
  return info;
}

function parseClip(v: unknown): SessionClip {
  const c = (v && typeof v === 'object' ? v : {}) as Record<string, unknown>;
  const ok = (x: unknown) => typeof x === 'number' && Number.isInteger(x) && x > 0 && x <= MAX_SESSION_PHOTO_SIDE;
  if (!ok(c.width) || !ok(c.height) || !ok(c.frames)) {
    throw new SessionFileError("The session file's clip (width, height, frames) is malformed.");
  }
  return { width: c.width as number, height: c.height as number, frames: c.frames as number };
}

function readPhoto(layout: SafetensorsLayout): RgbaImage | null {
  const t = layout.tensors.find((x) => x.name === INPUT_TENSOR);
  if (!t) return null;
  const [h, w, c] = t.shape;
  const where = `The photo stored in the session file (${t.dtype} [${t.shape.join(',')}])`;
  if (t.dtype !== 'U8' || t.shape.length !== 3 || c !== 4) {
    throw new SessionFileError(`${where} is malformed: expected U8 [height, width, 4].`);
  }
  if (h < 1 || w < 1 || h > MAX_SESSION_PHOTO_SIDE || w > MAX_SESSION_PHOTO_SIDE) {
    throw new SessionFileError(`${where} has an invalid size: each side must be 1 to ${MAX_SESSION_PHOTO_SIDE} px.`);
  }
  // The layout checked that its h·w·4 bytes are present; copied so the job's bytes can be let go.
  return { width: w, height: h, data: new Uint8ClampedArray(layout.data.slice(t.begin, t.end).buffer) };
}

/** Splits an app session file into the job's bytes, the photo and the app's metadata. */
export function unwrapSession(bytes: Uint8Array): UnwrappedSession {
  const layout = readLayout(bytes);
  const raw = layout.metadata[APP_METADATA_KEY];
  const info = raw === undefined ? null : parseInfo(raw);
  const image = readPhoto(layout);
  if (!image && !info) return { job: bytes, image: null, info: null };
  // The job's file without the photo and the app's key.
  const metadata = { ...layout.metadata };
  delete metadata[APP_METADATA_KEY];
  return { job: encodeRawSafetensors(rawTensors(layout, INPUT_TENSOR), metadata), image, info };
}
