/**
 * The session file the app downloads: the job's own session (safetensors: settings + generator + optimizer state,
 * `EditJob.saveSession`) with the input photo added, so that "Open session" can re-render or continue training
 * without the original file. It stays a valid safetensors file: the photo is one extra `U8` tensor
 * (`text2live.input_rgba`, [height, width, 4]) appended after the job's data, and the app's own metadata (quality
 * level, format version) is one extra `__metadata__` key. `unwrapSession` removes both again and returns the job's
 * bytes as the job wrote them (a bare job session, e.g. from the command-line tool, is accepted as well).
 */
import type { RgbaImage } from '../edit/jobTypes';

export const INPUT_TENSOR = 'text2live.input_rgba';
export const APP_METADATA_KEY = 'text2live.app';

export interface AppSessionInfo {
  version: 1;
  quality: string;
  /** When the file was written (ISO 8601). */
  savedAt: string;
}

export class SessionFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SessionFileError';
  }
}

interface TensorEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

interface Parsed {
  metadata: Record<string, string>;
  tensors: Map<string, TensorEntry>;
  data: Uint8Array;
}

const MAX_HEADER = 100 * 1024 * 1024;

function parse(bytes: Uint8Array): Parsed {
  if (bytes.byteLength < 8) throw new SessionFileError('The file is too short to be a session (safetensors) file.');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n <= 1 || n > MAX_HEADER || 8 + n > bytes.byteLength) {
    throw new SessionFileError('The file is not a session file (no safetensors header).');
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch {
    throw new SessionFileError('The file is not a session file (its header is not JSON).');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new SessionFileError('The file is not a session file (its header is not an object).');
  }
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorEntry>();
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      for (const [k, v] of Object.entries((value ?? {}) as Record<string, unknown>)) metadata[k] = String(v);
      continue;
    }
    const e = value as TensorEntry;
    if (!e || !Array.isArray(e.data_offsets) || !Array.isArray(e.shape) || typeof e.dtype !== 'string') {
      throw new SessionFileError(`The session file's entry "${name}" is malformed.`);
    }
    tensors.set(name, e);
  }
  return { metadata, tensors, data: bytes.subarray(8 + n) };
}

function encode(metadata: Record<string, string>, tensors: Map<string, TensorEntry>, data: Uint8Array[]): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  for (const [name, e] of tensors) header[name] = e;
  let json = JSON.stringify(header);
  const pad = (8 - (new TextEncoder().encode(json).byteLength % 8)) % 8;
  json += ' '.repeat(pad);
  const head = new TextEncoder().encode(json);
  const dataBytes = data.reduce((s, d) => s + d.byteLength, 0);
  const out = new Uint8Array(8 + head.byteLength + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.byteLength), true);
  out.set(head, 8);
  let o = 8 + head.byteLength;
  for (const d of data) {
    out.set(d, o);
    o += d.byteLength;
  }
  return out;
}

/** The job's session with the photo and the app's metadata added. */
export function wrapSession(
  jobSession: Uint8Array,
  image: RgbaImage,
  info: Omit<AppSessionInfo, 'version'>,
): Uint8Array {
  const p = parse(jobSession);
  const end = p.data.byteLength;
  const tensors = new Map(p.tensors);
  tensors.delete(INPUT_TENSOR);
  tensors.set(INPUT_TENSOR, {
    dtype: 'U8',
    shape: [image.height, image.width, 4],
    data_offsets: [end, end + image.data.byteLength],
  });
  const metadata = { ...p.metadata, [APP_METADATA_KEY]: JSON.stringify({ version: 1, ...info }) };
  const pixels = new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength);
  return encode(metadata, tensors, [p.data, pixels]);
}

export interface UnwrappedSession {
  /** The job's session as `EditJob.restore` expects it. */
  job: Uint8Array;
  image: RgbaImage | null;
  info: AppSessionInfo | null;
}

/** Splits an app session file into the job's bytes, the photo and the app's metadata. */
export function unwrapSession(bytes: Uint8Array): UnwrappedSession {
  const p = parse(bytes);
  let image: RgbaImage | null = null;
  let info: AppSessionInfo | null = null;
  const raw = p.metadata[APP_METADATA_KEY];
  if (raw !== undefined) {
    try {
      info = JSON.parse(raw) as AppSessionInfo;
    } catch {
      info = null;
    }
  }
  const input = p.tensors.get(INPUT_TENSOR);
  if (!input) {
    if (raw === undefined) return { job: bytes, image: null, info: null };
  } else {
    const [h, w, c] = input.shape;
    const [b, e] = input.data_offsets;
    if (input.dtype !== 'U8' || c !== 4 || !(h > 0 && w > 0) || e - b !== h * w * 4 || e > p.data.byteLength) {
      throw new SessionFileError('The photo stored in the session file is malformed.');
    }
    image = { width: w, height: h, data: new Uint8ClampedArray(p.data.slice(b, e).buffer) };
  }
  // Rebuild the job's file without the photo: drop its byte range and shift what follows.
  const tensors = new Map<string, TensorEntry>();
  const [cutB, cutE] = input ? input.data_offsets : [p.data.byteLength, p.data.byteLength];
  const cut = cutE - cutB;
  for (const [name, e] of p.tensors) {
    if (name === INPUT_TENSOR) continue;
    const [b, end] = e.data_offsets;
    tensors.set(name, b >= cutE ? { ...e, data_offsets: [b - cut, end - cut] } : e);
  }
  const metadata = { ...p.metadata };
  delete metadata[APP_METADATA_KEY];
  const data = [p.data.subarray(0, cutB), p.data.subarray(cutE)];
  return { job: encode(metadata, tensors, data), image, info };
}
