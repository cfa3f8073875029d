/**
 * The safetensors file format (huggingface/safetensors), for checkpoints and test fixtures. Browser and Node: no
 * Node APIs.
 *
 * Layout: an unsigned 64-bit little-endian header length N, then N bytes of UTF-8 JSON, then the data section. The
 * JSON maps each tensor name to `{dtype, shape, data_offsets: [begin, end]}` (byte offsets into the data section) and
 * may hold `__metadata__`, a string-to-string map. Writers pad the header with spaces to a multiple of 8 so the data
 * section is aligned. Tensors are row-major and little-endian; together they must cover the data section without
 * holes or overlaps.
 *
 * We read F32, F16 and BF16 (both converted to float32) and write F32. (No npm package did this properly: the
 * `safetensors` package is a 0.0.1 placeholder and `@huggingface/hub` only parses remote headers.)
 */

export interface SafetensorsEntry {
  name: string;
  shape: readonly number[];
  data: Float32Array;
}

export interface DecodedTensor {
  shape: number[];
  /** The dtype stored in the file (F32, F16 or BF16); `data` is always float32. */
  dtype: string;
  data: Float32Array;
}

export interface DecodedSafetensors {
  /** Tensors in file order (ordered by data offset). */
  tensors: Map<string, DecodedTensor>;
  metadata: Record<string, string>;
}

export class SafetensorsError extends Error {
  constructor(message: string) {
    super(`safetensors: ${message}`);
    this.name = 'SafetensorsError';
  }
}

const METADATA_KEY = '__metadata__';
/** Upper bound on the JSON header, as in the reference implementation; guards against garbage lengths. */
const MAX_HEADER_BYTES = 100_000_000;
const DTYPE_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Encodes float32 tensors (in the given order) and optional string metadata. */
export function encodeSafetensors(tensors: readonly SafetensorsEntry[], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new SafetensorsError(`metadata value of "${k}" is not a string`);
    }
    header[METADATA_KEY] = metadata;
  }
  let offset = 0;
  for (const t of tensors) {
    if (t.name === METADATA_KEY || t.name.length === 0) throw new SafetensorsError(`invalid tensor name "${t.name}"`);
    if (Object.prototype.hasOwnProperty.call(header, t.name)) {
      throw new SafetensorsError(`duplicate tensor name "${t.name}"`);
    }
    if (t.shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new SafetensorsError(`tensor "${t.name}" has an invalid shape [${t.shape.join(',')}]`);
    }
    const n = elementCount(t.shape);
    if (n !== t.data.length) {
      throw new SafetensorsError(
        `tensor "${t.name}" has ${t.data.length} values but shape [${t.shape.join(',')}] needs ${n}`,
      );
    }
    header[t.name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + n * 4] };
    offset += n * 4;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const t of tensors) {
    if (LITTLE_ENDIAN) {
      out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), pos);
    } else {
      for (let i = 0; i < t.data.length; i++) view.setFloat32(pos + 4 * i, t.data[i], true);
    }
    pos += t.data.byteLength;
  }
  return out;
}

/** IEEE half → float32. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function readData(bytes: Uint8Array, start: number, n: number, dtype: string): Float32Array {
  const out = new Float32Array(n);
  const abs = bytes.byteOffset + start;
  if (dtype === 'F32') {
    if (LITTLE_ENDIAN && abs % 4 === 0) {
      out.set(new Float32Array(bytes.buffer, abs, n));
    } else {
      const view = new DataView(bytes.buffer, abs, n * 4);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
    }
    return out;
  }
  const view = new DataView(bytes.buffer, abs, n * 2);
  if (dtype === 'F16') {
    for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  } else {
    // BF16 is the top half of a float32.
    const u32 = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) u32[i] = view.getUint16(2 * i, true) << 16;
  }
  return out;
}

/** Decodes a safetensors file, validating the header and the data layout. Throws SafetensorsError naming the problem. */
export function decodeSafetensors(bytes: Uint8Array): DecodedSafetensors {
  if (bytes.length < 8) {
    throw new SafetensorsError(`file is truncated: ${bytes.length} bytes, too short for the 8-byte header length`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen64 = view.getBigUint64(0, true);
  if (headerLen64 > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(`header length ${headerLen64} is implausibly large (corrupt file?)`);
  }
  const headerLen = Number(headerLen64);
  if (8 + headerLen > bytes.length) {
    throw new SafetensorsError(
      `file is truncated: header claims ${headerLen} bytes but only ${bytes.length - 8} follow the length`,
    );
  }
  let header: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen));
    header = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== 'object' || Array.isArray(header)) {
    throw new SafetensorsError('header is not a JSON object');
  }

  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: Array<{ name: string; dtype: string; shape: number[]; begin: number; end: number }> = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
        throw new SafetensorsError('__metadata__ is not an object');
      }
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new SafetensorsError(`__metadata__ value of "${k}" is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (!info || typeof info !== 'object') throw new SafetensorsError(`entry of tensor "${name}" is not an object`);
    const { dtype, shape, data_offsets: offsets } = info;
    if (typeof dtype !== 'string') throw new SafetensorsError(`tensor "${name}" has no dtype`);
    const width = DTYPE_BYTES[dtype];
    if (width === undefined) {
      throw new SafetensorsError(`tensor "${name}" has unsupported dtype ${dtype} (F32, F16 and BF16 are read)`);
    }
    if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
      throw new SafetensorsError(`tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      offsets.some((o) => !Number.isSafeInteger(o) || o < 0) ||
      offsets[1] < offsets[0]
    ) {
      throw new SafetensorsError(`tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as number[];
    const n = elementCount(shape);
    if (end - begin !== n * width) {
      throw new SafetensorsError(
        `tensor "${name}" (${dtype} [${shape.join(',')}]) needs ${n * width} bytes but data_offsets span ${end - begin}`,
      );
    }
    if (end > dataLen) {
      throw new SafetensorsError(
        `file is truncated: tensor "${name}" ends at data byte ${end} but the data section has ${dataLen} bytes`,
      );
    }
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }

  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const e of entries) {
    if (e.begin < expected) throw new SafetensorsError(`tensor "${e.name}" overlaps the previous tensor's data`);
    if (e.begin > expected) {
      throw new SafetensorsError(`data section has a hole before tensor "${e.name}" (bytes ${expected}..${e.begin})`);
    }
    expected = e.end;
  }
  if (expected !== dataLen) {
    throw new SafetensorsError(`data section has ${dataLen - expected} trailing bytes not covered by any tensor`);
  }

  const tensors = new Map<string, DecodedTensor>();
  for (const e of entries) {
    const n = elementCount(e.shape);
    tensors.set(e.name, { shape: e.shape, dtype: e.dtype, data: readData(bytes, dataStart + e.begin, n, e.dtype) });
  }
  return { tensors, metadata };
}
