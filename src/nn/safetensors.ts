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
 * Two levels: `readSafetensorsLayout` / `encodeRawSafetensors` handle any dtype as raw bytes (the app's session file
 * adds a U8 photo this way); `decodeSafetensors` reads F32, F16 and BF16 (converted to float32) and `encodeSafetensors`
 * writes F32. (No npm package did this properly: the `safetensors` package is a 0.0.1 placeholder and
 * `@huggingface/hub` only parses remote headers.)
 *
 * Files are untrusted input: every declared size is checked against the bytes actually present before anything is
 * allocated, so a short file that declares a huge tensor fails with a SafetensorsError, not an allocation.
 */

/** A float32 tensor to encode. */
export interface SafetensorsEntry {
  name: string;
  shape: readonly number[];
  data: Float32Array;
}

/** A tensor of any dtype as its little-endian bytes. */
export interface RawTensor {
  name: string;
  dtype: string;
  shape: readonly number[];
  bytes: Uint8Array;
}

/** Where one tensor lies in the data section (validated: inside the file, no holes, no overlaps). */
export interface TensorLayout {
  name: string;
  dtype: string;
  shape: number[];
  /** Byte range [begin, end) in the data section. */
  begin: number;
  end: number;
}

export interface SafetensorsLayout {
  /** Tensors in file order (by data offset). */
  tensors: TensorLayout[];
  metadata: Record<string, string>;
  /** The data section: a view into the given bytes. */
  data: Uint8Array;
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
/** Bytes per element of the dtypes the format defines (layout level); `decodeSafetensors` converts only floats. */
const DTYPE_BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
};
const FLOAT_DTYPES = new Set(['F32', 'F16', 'BF16']);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const hasOwn = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);

/** The product of the dims, or null when it exceeds 2^53 (no real file comes near; a corrupt one may). */
function elementCount(shape: readonly number[]): number | null {
  let n = 1;
  for (const d of shape) {
    if (d === 0) return 0;
    if (n > Number.MAX_SAFE_INTEGER / d) return null;
    n *= d;
  }
  return n;
}

function validShape(shape: unknown): shape is number[] {
  return Array.isArray(shape) && shape.every((d) => Number.isSafeInteger(d) && d >= 0);
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** Encodes tensors of any dtype (in the given order, contiguous) and optional string metadata. */
export function encodeRawSafetensors(tensors: readonly RawTensor[], metadata?: Record<string, string>): Uint8Array {
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
    if (hasOwn(header, t.name)) throw new SafetensorsError(`duplicate tensor name "${t.name}"`);
    if (!hasOwn(DTYPE_BYTES, t.dtype)) throw new SafetensorsError(`tensor "${t.name}" has unknown dtype ${t.dtype}`);
    const width = DTYPE_BYTES[t.dtype];
    if (!validShape(t.shape))
      throw new SafetensorsError(`tensor "${t.name}" has an invalid shape ${shapeText(t.shape)}`);
    const n = elementCount(t.shape);
    if (n === null || n * width !== t.bytes.byteLength) {
      throw new SafetensorsError(
        `tensor "${t.name}" has ${t.bytes.byteLength} bytes but ${t.dtype} ${shapeText(t.shape)} needs ${n === null ? 'more than 2^53 elements' : n * width}`,
      );
    }
    header[t.name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + t.bytes.byteLength] };
    offset += t.bytes.byteLength;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const t of tensors) {
    out.set(t.bytes, pos);
    pos += t.bytes.byteLength;
  }
  return out;
}

/** float32 values as little-endian bytes (a view on little-endian hosts). */
function float32Bytes(data: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i], true);
  return out;
}

/** Encodes float32 tensors (in the given order) and optional string metadata. */
export function encodeSafetensors(tensors: readonly SafetensorsEntry[], metadata?: Record<string, string>): Uint8Array {
  for (const t of tensors) {
    const n = validShape(t.shape) ? elementCount(t.shape) : null;
    if (n !== null && n !== t.data.length) {
      throw new SafetensorsError(
        `tensor "${t.name}" has ${t.data.length} values but shape ${shapeText(t.shape)} needs ${n}`,
      );
    }
  }
  return encodeRawSafetensors(
    tensors.map((t) => ({ name: t.name, dtype: 'F32', shape: t.shape, bytes: float32Bytes(t.data) })),
    metadata,
  );
}

function readHeaderJson(bytes: Uint8Array): { header: Record<string, unknown>; dataStart: number } {
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
  return { header: header as Record<string, unknown>, dataStart: 8 + headerLen };
}

function readMetadata(raw: unknown): Record<string, string> {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new SafetensorsError('__metadata__ is not an object');
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof v !== 'string') throw new SafetensorsError(`__metadata__ value of "${k}" is not a string`);
    metadata[k] = v;
  }
  return metadata;
}

function readEntry(name: string, raw: unknown, dataLen: number): TensorLayout {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SafetensorsError(`entry of tensor "${name}" is not an object`);
  }
  const { dtype, shape, data_offsets: offsets } = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof dtype !== 'string') throw new SafetensorsError(`tensor "${name}" has no dtype`);
  if (!hasOwn(DTYPE_BYTES, dtype)) throw new SafetensorsError(`tensor "${name}" has unknown dtype ${dtype}`);
  const width = DTYPE_BYTES[dtype];
  if (!validShape(shape)) throw new SafetensorsError(`tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
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
  if (n === null || n > Number.MAX_SAFE_INTEGER / width) {
    throw new SafetensorsError(`tensor "${name}" (${dtype} ${shapeText(shape)}) declares more than 2^53 bytes`);
  }
  if (end - begin !== n * width) {
    throw new SafetensorsError(
      `tensor "${name}" (${dtype} ${shapeText(shape)}) needs ${n * width} bytes but data_offsets span ${end - begin}`,
    );
  }
  if (end > dataLen) {
    throw new SafetensorsError(
      `file is truncated: tensor "${name}" ends at data byte ${end} but the data section has ${dataLen} bytes`,
    );
  }
  return { name, dtype, shape, begin, end };
}

/**
 * Reads and validates the header and the data layout of a safetensors file of any dtypes, without copying or
 * converting data. Throws SafetensorsError naming the problem.
 */
export function readSafetensorsLayout(bytes: Uint8Array): SafetensorsLayout {
  const { header, dataStart } = readHeaderJson(bytes);
  const dataLen = bytes.length - dataStart;
  let metadata: Record<string, string> = {};
  const tensors: TensorLayout[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === METADATA_KEY) metadata = readMetadata(raw);
    else tensors.push(readEntry(name, raw, dataLen));
  }
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  for (const e of tensors) {
    if (e.begin < expected) throw new SafetensorsError(`tensor "${e.name}" overlaps the previous tensor's data`);
    if (e.begin > expected) {
      throw new SafetensorsError(`data section has a hole before tensor "${e.name}" (bytes ${expected}..${e.begin})`);
    }
    expected = e.end;
  }
  if (expected !== dataLen) {
    throw new SafetensorsError(`data section has ${dataLen - expected} trailing bytes not covered by any tensor`);
  }
  return { tensors, metadata, data: bytes.subarray(dataStart) };
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

/** A float tensor's bytes (whose length the layout checked) as float32. */
function readFloats(bytes: Uint8Array, dtype: string): Float32Array {
  if (dtype === 'F32') {
    const n = bytes.byteLength / 4;
    if (LITTLE_ENDIAN && bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, n).slice();
    const out = new Float32Array(n);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
    return out;
  }
  const n = bytes.byteLength / 2;
  const out = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'F16') {
    for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  } else {
    // BF16 is the top half of a float32.
    const u32 = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) u32[i] = view.getUint16(2 * i, true) << 16;
  }
  return out;
}

/**
 * Decodes a safetensors file of F32, F16 and BF16 tensors into float32, validating the header and the data layout.
 * Throws SafetensorsError naming the problem.
 */
export function decodeSafetensors(bytes: Uint8Array): DecodedSafetensors {
  const layout = readSafetensorsLayout(bytes);
  for (const t of layout.tensors) {
    if (!FLOAT_DTYPES.has(t.dtype)) {
      throw new SafetensorsError(`tensor "${t.name}" has unsupported dtype ${t.dtype} (F32, F16 and BF16 are read)`);
    }
  }
  const tensors = new Map<string, DecodedTensor>();
  for (const t of layout.tensors) {
    const data = readFloats(layout.data.subarray(t.begin, t.end), t.dtype);
    tensors.set(t.name, { shape: t.shape, dtype: t.dtype, data });
  }
  return { tensors, metadata: layout.metadata };
}
