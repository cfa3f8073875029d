/**
 * A read-only ONNX (ModelProto) decoder: protobuf wire format → plain objects. Browser and Node: no Node APIs.
 *
 * Zero-copy: every `raw_data` (where torch/optimum exports keep all weights) is a `subarray` view into the bytes given
 * to `parseOnnx`, so a 350 MB model is walked, not copied. Only the small typed fields (`float_data`, `int64_data`,
 * dims, attributes) are decoded into JS values.
 *
 * Why not a package: `onnx-proto` (generated protobufjs code, pinned to protobufjs 6) decodes raw bytes as views too,
 * but turns every int64 (dims, attribute ints) into `Long` objects, loads the whole schema (training, sparse, map and
 * sequence types) we never read, and reports a corrupt file as a bare "index out of range". `protobufjs` itself
 * would need a hand-written schema plus reflection/codegen. What we need is ~20 fields, so the decoder is here.
 *
 * Field numbers follow onnx/onnx.proto (ONNX ≤ 1.17; the fields used here have not changed since IR version 3).
 */

/** TensorProto.DataType. */
export const OnnxDataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
  FLOAT8E4M3FN: 17,
  FLOAT8E4M3FNUZ: 18,
  FLOAT8E5M2: 19,
  FLOAT8E5M2FNUZ: 20,
  UINT4: 21,
  INT4: 22,
} as const;

/** AttributeProto.AttributeType. */
export const OnnxAttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
} as const;

export interface OnnxTensor {
  name: string;
  /** int64 dims as numbers. */
  dims: number[];
  /** An `OnnxDataType` value. */
  dataType: number;
  /** `raw_data`: a view into the parsed bytes (no copy), little-endian; null when the tensor uses a typed field. */
  rawData: Uint8Array | null;
  /** `float_data` (FLOAT and COMPLEX64 values). */
  floatData: Float32Array | null;
  /** `int32_data` (INT32, INT16, INT8, UINT16, UINT8, BOOL, FLOAT16/BFLOAT16 bit patterns, FLOAT8, INT4/UINT4). */
  int32Data: Int32Array | null;
  /** `int64_data` as numbers (values beyond ±2^53 are rounded). */
  int64Data: number[] | null;
  doubleData: Float64Array | null;
  uint64Data: number[] | null;
  stringData: Uint8Array[] | null;
  /** True when the values live in an external file (`data_location = EXTERNAL`); see `externalData`. */
  external: boolean;
  externalData: Record<string, string>;
}

export interface OnnxAttribute {
  name: string;
  /** An `OnnxAttributeType` value (0 when the writer left it out; then look at which field is set). */
  type: number;
  f: number | null;
  i: number | null;
  s: Uint8Array | null;
  t: OnnxTensor | null;
  g: OnnxGraph | null;
  floats: number[];
  ints: number[];
  strings: Uint8Array[];
  tensors: OnnxTensor[];
  graphs: OnnxGraph[];
}

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: OnnxAttribute[];
}

export interface OnnxValueInfo {
  name: string;
  /** Element type of a tensor value (an `OnnxDataType`), null for non-tensor types. */
  elemType: number | null;
  /** Dimensions: a number (dim_value), a string (dim_param) or null (unknown); null when the rank is unknown. */
  shape: Array<number | string | null> | null;
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  valueInfo: OnnxValueInfo[];
}

export interface OnnxModel {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString: string;
  opsetImports: Array<{ domain: string; version: number }>;
  metadataProps: Record<string, string>;
  graph: OnnxGraph;
  /** Size of the parsed file in bytes. */
  byteLength: number;
}

/** The file is not a readable ONNX model (truncated, corrupt, or another kind of file). */
export class OnnxParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxParseError';
  }
}

/** The file is a valid ONNX model that we cannot use (e.g. a quantized one). */
export class OnnxUnsupportedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxUnsupportedError';
  }
}

export const QUANTIZED_MODEL_MESSAGE =
  'quantized model files are not supported; use the fp16 or fp32 file (onnx/vision_model_fp16.onnx or onnx/vision_model.onnx)';

// ---------------------------------------------------------------------------------------------------------------
// Wire format
// ---------------------------------------------------------------------------------------------------------------

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;
/** Nesting limit (graphs inside attributes inside graphs …); guards against stack exhaustion on hostile input. */
const MAX_DEPTH = 64;

const utf8 = new TextDecoder('utf-8');

class Reader {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    start: number,
    readonly end: number,
    readonly depth: number,
  ) {
    this.pos = start;
    if (depth > MAX_DEPTH) this.fail(`messages nested more than ${MAX_DEPTH} deep`);
  }

  fail(what: string): never {
    throw corrupt(what, this.pos, this.bytes.length);
  }

  /** Errors for reads past the end: "truncated" when the file itself ends, "corrupt" when a sub-message does. */
  need(n: number, what: string): void {
    if (this.pos + n <= this.end) return;
    if (this.pos + n > this.bytes.length) throw truncated(what, this.pos, n, this.bytes.length);
    this.fail(`${what} runs past the end of its enclosing message`);
  }

  /** Unsigned varint as a number (exact below 2^53). */
  varint(): number {
    let result = 0;
    let mul = 1;
    const start = this.pos;
    for (let i = 0; i < 10; i++) {
      this.need(1, 'a varint');
      const b = this.bytes[this.pos++];
      result += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (i < 7) return result;
        return Number(this.bigVarint(start));
      }
      mul *= 128;
    }
    this.pos = start;
    this.fail('a varint longer than 10 bytes');
  }

  private bigVarint(start: number): bigint {
    let v = 0n;
    for (let i = start, shift = 0n; i < this.pos; i++, shift += 7n) v |= BigInt(this.bytes[i] & 0x7f) << shift;
    return BigInt.asUintN(64, v);
  }

  /** int64/int32 fields (two's complement, sign-extended to 10 bytes when negative). */
  int64(): number {
    const start = this.pos;
    const u = this.varint();
    if (u < 2 ** 53) return u;
    return Number(BigInt.asIntN(64, this.bigVarint(start)));
  }

  float32(): number {
    this.need(4, 'a float');
    const v = new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 4).getFloat32(0, true);
    this.pos += 4;
    return v;
  }

  /** A length-delimited field: returns its [start, end) and moves past it. */
  span(what: string): [number, number] {
    const len = this.varint();
    this.need(len, what);
    const start = this.pos;
    this.pos += len;
    return [start, this.pos];
  }

  bytesView(what: string): Uint8Array {
    const [s, e] = this.span(what);
    return this.bytes.subarray(s, e);
  }

  string(what: string): string {
    return utf8.decode(this.bytesView(what));
  }

  sub(what: string): Reader {
    const [s, e] = this.span(what);
    return new Reader(this.bytes, s, e, this.depth + 1);
  }

  /** Next field tag: [fieldNumber, wireType]. */
  tag(): [number, number] {
    const t = this.varint();
    const field = Math.floor(t / 8);
    const wire = t % 8;
    if (field === 0) this.fail('a field number 0');
    if (wire !== WIRE_VARINT && wire !== WIRE_FIXED64 && wire !== WIRE_LEN && wire !== WIRE_FIXED32) {
      this.fail(`an unsupported wire type ${wire} (field ${field})`);
    }
    return [field, wire];
  }

  skip(wire: number): void {
    if (wire === WIRE_VARINT) this.varint();
    else if (wire === WIRE_FIXED64) {
      this.need(8, 'a fixed64 field');
      this.pos += 8;
    } else if (wire === WIRE_LEN) this.span('a field');
    else {
      this.need(4, 'a fixed32 field');
      this.pos += 4;
    }
  }

  expect(wire: number, expected: number, field: string): void {
    if (wire !== expected) this.fail(`field ${field} with wire type ${wire} (expected ${expected})`);
  }

  /** Repeated varint field, packed or not, appended to `out`. */
  repeatedInt(wire: number, out: number[], field: string): void {
    if (wire === WIRE_VARINT) {
      out.push(this.int64());
      return;
    }
    this.expect(wire, WIRE_LEN, field);
    const r = this.sub(field);
    while (r.pos < r.end) out.push(r.int64());
  }

  /** Repeated float field, packed or not. */
  repeatedFloat(wire: number, out: number[], field: string): void {
    if (wire === WIRE_FIXED32) {
      out.push(this.float32());
      return;
    }
    this.expect(wire, WIRE_LEN, field);
    const [s, e] = this.span(field);
    if ((e - s) % 4 !== 0) this.fail(`packed ${field} whose length is not a multiple of 4`);
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + s, e - s);
    for (let i = 0; i < e - s; i += 4) out.push(view.getFloat32(i, true));
  }

  /** Repeated double field, packed or not. */
  repeatedDouble(wire: number, out: number[], field: string): void {
    if (wire === WIRE_FIXED64) {
      this.need(8, field);
      out.push(new DataView(this.bytes.buffer, this.bytes.byteOffset + this.pos, 8).getFloat64(0, true));
      this.pos += 8;
      return;
    }
    this.expect(wire, WIRE_LEN, field);
    const [s, e] = this.span(field);
    if ((e - s) % 8 !== 0) this.fail(`packed ${field} whose length is not a multiple of 8`);
    const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + s, e - s);
    for (let i = 0; i < e - s; i += 8) out.push(view.getFloat64(i, true));
  }
}

function corrupt(what: string, pos: number, size: number): OnnxParseError {
  return new OnnxParseError(
    `not a valid ONNX file: found ${what} at byte ${pos} of ${size}; the file is corrupt or not an ONNX model`,
  );
}

function truncated(what: string, pos: number, n: number, size: number): OnnxParseError {
  return new OnnxParseError(
    `ONNX file is truncated: ${what} at byte ${pos} needs ${n} more bytes but the file ends at byte ${size} ` +
      '(incomplete download?)',
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------------------------

function parseTensor(r: Reader): OnnxTensor {
  const t: OnnxTensor = {
    name: '',
    dims: [],
    dataType: 0,
    rawData: null,
    floatData: null,
    int32Data: null,
    int64Data: null,
    doubleData: null,
    uint64Data: null,
    stringData: null,
    external: false,
    externalData: {},
  };
  let floats: number[] | null = null;
  let int32s: number[] | null = null;
  let doubles: number[] | null = null;
  while (r.pos < r.end) {
    const [field, wire] = r.tag();
    switch (field) {
      case 1:
        r.repeatedInt(wire, t.dims, 'TensorProto.dims');
        break;
      case 2:
        r.expect(wire, WIRE_VARINT, 'TensorProto.data_type');
        t.dataType = r.int64();
        break;
      case 4:
        r.repeatedFloat(wire, (floats ??= []), 'TensorProto.float_data');
        break;
      case 5:
        r.repeatedInt(wire, (int32s ??= []), 'TensorProto.int32_data');
        break;
      case 6:
        r.expect(wire, WIRE_LEN, 'TensorProto.string_data');
        (t.stringData ??= []).push(r.bytesView('TensorProto.string_data'));
        break;
      case 7:
        r.repeatedInt(wire, (t.int64Data ??= []), 'TensorProto.int64_data');
        break;
      case 8:
        r.expect(wire, WIRE_LEN, 'TensorProto.name');
        t.name = r.string('TensorProto.name');
        break;
      case 9:
        r.expect(wire, WIRE_LEN, 'TensorProto.raw_data');
        t.rawData = r.bytesView('TensorProto.raw_data');
        break;
      case 10:
        r.repeatedDouble(wire, (doubles ??= []), 'TensorProto.double_data');
        break;
      case 11: {
        // uint64: read as unsigned.
        const out = (t.uint64Data ??= []);
        if (wire === WIRE_VARINT) out.push(r.varint());
        else {
          r.expect(wire, WIRE_LEN, 'TensorProto.uint64_data');
          const s = r.sub('TensorProto.uint64_data');
          while (s.pos < s.end) out.push(s.varint());
        }
        break;
      }
      case 13: {
        r.expect(wire, WIRE_LEN, 'TensorProto.external_data');
        const [k, v] = parseStringStringEntry(r.sub('TensorProto.external_data'));
        t.externalData[k] = v;
        break;
      }
      case 14:
        r.expect(wire, WIRE_VARINT, 'TensorProto.data_location');
        t.external = r.int64() === 1;
        break;
      default:
        r.skip(wire); // segment, doc_string, metadata_props, …
    }
  }
  checkDims(t, r);
  if (floats) t.floatData = Float32Array.from(floats);
  if (int32s) t.int32Data = Int32Array.from(int32s);
  if (doubles) t.doubleData = Float64Array.from(doubles);
  return t;
}

/**
 * Dims must be non-negative and their product a safe integer (no real tensor comes near 2^53 elements), so that
 * element counts computed later are exact and sizes derived from them can be compared with the bytes present.
 */
function checkDims(t: OnnxTensor, r: Reader): void {
  let n = 1;
  for (const d of t.dims) {
    if (!Number.isSafeInteger(d) || d < 0) {
      r.fail(`tensor "${t.name}" with an invalid dimension ${d} in [${t.dims.join(',')}]`);
    }
    if (d > 0 && n > Number.MAX_SAFE_INTEGER / d) {
      r.fail(`tensor "${t.name}" with more than 2^53 elements [${t.dims.join(',')}]`);
    }
    n *= d;
  }
}

function parseStringStringEntry(r: Reader): [string, string] {
  let key = '';
  let value = '';
  while (r.pos < r.end) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WIRE_LEN) key = r.string('StringStringEntryProto.key');
    else if (field === 2 && wire === WIRE_LEN) value = r.string('StringStringEntryProto.value');
    else r.skip(wire);
  }
  return [key, value];
}

function parseAttribute(r: Reader): OnnxAttribute {
  const a: OnnxAttribute = {
    name: '',
    type: 0,
    f: null,
    i: null,
    s: null,
    t: null,
    g: null,
    floats: [],
    ints: [],
    strings: [],
    tensors: [],
    graphs: [],
  };
  while (r.pos < r.end) {
    const [field, wire] = r.tag();
    switch (field) {
      case 1:
        r.expect(wire, WIRE_LEN, 'AttributeProto.name');
        a.name = r.string('AttributeProto.name');
        break;
      case 20:
        r.expect(wire, WIRE_VARINT, 'AttributeProto.type');
        a.type = r.int64();
        break;
      case 2:
        r.expect(wire, WIRE_FIXED32, 'AttributeProto.f');
        a.f = r.float32();
        break;
      case 3:
        r.expect(wire, WIRE_VARINT, 'AttributeProto.i');
        a.i = r.int64();
        break;
      case 4:
        r.expect(wire, WIRE_LEN, 'AttributeProto.s');
        a.s = r.bytesView('AttributeProto.s');
        break;
      case 5:
        r.expect(wire, WIRE_LEN, 'AttributeProto.t');
        a.t = parseTensor(r.sub('AttributeProto.t'));
        break;
      case 6:
        r.expect(wire, WIRE_LEN, 'AttributeProto.g');
        a.g = parseGraph(r.sub('AttributeProto.g'));
        break;
      case 7:
        r.repeatedFloat(wire, a.floats, 'AttributeProto.floats');
        break;
      case 8:
        r.repeatedInt(wire, a.ints, 'AttributeProto.ints');
        break;
      case 9:
        r.expect(wire, WIRE_LEN, 'AttributeProto.strings');
        a.strings.push(r.bytesView('AttributeProto.strings'));
        break;
      case 10:
        r.expect(wire, WIRE_LEN, 'AttributeProto.tensors');
        a.tensors.push(parseTensor(r.sub('AttributeProto.tensors')));
        break;
      case 11:
        r.expect(wire, WIRE_LEN, 'AttributeProto.graphs');
        a.graphs.push(parseGraph(r.sub('AttributeProto.graphs')));
        break;
      default:
        r.skip(wire);
    }
  }
  return a;
}

function parseNode(r: Reader): OnnxNode {
  const n: OnnxNode = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: [] };
  while (r.pos < r.end) {
    const [field, wire] = r.tag();
    switch (field) {
      case 1:
        r.expect(wire, WIRE_LEN, 'NodeProto.input');
        n.inputs.push(r.string('NodeProto.input'));
        break;
      case 2:
        r.expect(wire, WIRE_LEN, 'NodeProto.output');
        n.outputs.push(r.string('NodeProto.output'));
        break;
      case 3:
        r.expect(wire, WIRE_LEN, 'NodeProto.name');
        n.name = r.string('NodeProto.name');
        break;
      case 4:
        r.expect(wire, WIRE_LEN, 'NodeProto.op_type');
        n.opType = r.string('NodeProto.op_type');
        break;
      case 5:
        r.expect(wire, WIRE_LEN, 'NodeProto.attribute');
        n.attributes.push(parseAttribute(r.sub('NodeProto.attribute')));
        break;
      case 7:
        r.expect(wire, WIRE_LEN, 'NodeProto.domain');
        n.domain = r.string('NodeProto.domain');
        break;
      default:
        r.skip(wire);
    }
  }
  return n;
}

function parseValueInfo(r: Reader): OnnxValueInfo {
  const v: OnnxValueInfo = { name: '', elemType: null, shape: null };
  while (r.pos < r.end) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WIRE_LEN) v.name = r.string('ValueInfoProto.name');
    else if (field === 2 && wire === WIRE_LEN) {
      // TypeProto: only tensor_type (1) is read.
      const tp = r.sub('ValueInfoProto.type');
      while (tp.pos < tp.end) {
        const [f, w] = tp.tag();
        if (f === 1 && w === WIRE_LEN) parseTensorType(tp.sub('TypeProto.tensor_type'), v);
        else tp.skip(w);
      }
    } else r.skip(wire);
  }
  return v;
}

function parseTensorType(r: Reader, v: OnnxValueInfo): void {
  while (r.pos < r.end) {
    const [field, wire] = r.tag();
    if (field === 1 && wire === WIRE_VARINT) v.elemType = r.int64();
    else if (field === 2 && wire === WIRE_LEN) {
      const shape: Array<number | string | null> = [];
      const sr = r.sub('TypeProto.Tensor.shape');
      while (sr.pos < sr.end) {
        const [f, w] = sr.tag();
        if (f !== 1 || w !== WIRE_LEN) {
          sr.skip(w);
          continue;
        }
        const dr = sr.sub('TensorShapeProto.dim');
        let dim: number | string | null = null;
        while (dr.pos < dr.end) {
          const [df, dw] = dr.tag();
          if (df === 1 && dw === WIRE_VARINT) dim = dr.int64();
          else if (df === 2 && dw === WIRE_LEN) dim = dr.string('Dimension.dim_param');
          else dr.skip(dw);
        }
        shape.push(dim);
      }
      v.shape = shape;
    } else r.skip(wire);
  }
}

function parseGraph(r: Reader): OnnxGraph {
  const g: OnnxGraph = { name: '', nodes: [], initializers: [], inputs: [], outputs: [], valueInfo: [] };
  while (r.pos < r.end) {
    const [field, wire] = r.tag();
    switch (field) {
      case 1:
        r.expect(wire, WIRE_LEN, 'GraphProto.node');
        g.nodes.push(parseNode(r.sub('GraphProto.node')));
        break;
      case 2:
        r.expect(wire, WIRE_LEN, 'GraphProto.name');
        g.name = r.string('GraphProto.name');
        break;
      case 5:
        r.expect(wire, WIRE_LEN, 'GraphProto.initializer');
        g.initializers.push(parseTensor(r.sub('GraphProto.initializer')));
        break;
      case 11:
        r.expect(wire, WIRE_LEN, 'GraphProto.input');
        g.inputs.push(parseValueInfo(r.sub('GraphProto.input')));
        break;
      case 12:
        r.expect(wire, WIRE_LEN, 'GraphProto.output');
        g.outputs.push(parseValueInfo(r.sub('GraphProto.output')));
        break;
      case 13:
        r.expect(wire, WIRE_LEN, 'GraphProto.value_info');
        g.valueInfo.push(parseValueInfo(r.sub('GraphProto.value_info')));
        break;
      default:
        r.skip(wire); // doc_string, sparse_initializer, quantization_annotation, metadata_props
    }
  }
  return g;
}

/** Recognizes common files that are not ONNX models, for a better message than "corrupt". */
function sniffNonOnnx(bytes: Uint8Array): string | null {
  if (bytes.length === 0) return 'the file is empty';
  const head = utf8.decode(bytes.subarray(0, Math.min(bytes.length, 64))).trimStart();
  if (head.startsWith('version https://git-lfs')) {
    return 'this is a Git LFS pointer file, not the model itself (fetch the LFS object)';
  }
  if (head.startsWith('<')) return 'this looks like an HTML/XML page (a server error page?), not an ONNX model';
  if (head.startsWith('{') || head.startsWith('[')) return 'this looks like a JSON file, not an ONNX model';
  if (bytes.length >= 9 && bytes[8] === 0x7b /* '{' */ && bytes[5] === 0 && bytes[6] === 0 && bytes[7] === 0) {
    return 'this looks like a safetensors file, not an ONNX model';
  }
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) return 'this is a ZIP archive (a PyTorch checkpoint?), not an ONNX model';
  if (bytes[0] === 0x89 && bytes[1] === 0x48 && bytes[2] === 0x44 && bytes[3] === 0x46) {
    return 'this is an HDF5 file, not an ONNX model';
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return 'this is a gzip-compressed file; decompress it first';
  return null;
}

export interface ParseOnnxOptions {
  /** Parse quantized models instead of throwing (the caller checks `quantizationReason` itself). */
  allowQuantized?: boolean;
}

/**
 * Decodes an ONNX model file. Throws OnnxParseError for truncated/corrupt/non-ONNX input and OnnxUnsupportedError
 * for quantized models (unless `allowQuantized`). Tensor `rawData` are views into `bytes`: keep `bytes` alive and
 * unmodified while the model is used.
 */
export function parseOnnx(bytes: Uint8Array, options: ParseOnnxOptions = {}): OnnxModel {
  const sniffed = sniffNonOnnx(bytes);
  if (sniffed) throw new OnnxParseError(`not an ONNX model: ${sniffed}`);
  const model: OnnxModel = {
    irVersion: 0,
    producerName: '',
    producerVersion: '',
    domain: '',
    modelVersion: 0,
    docString: '',
    opsetImports: [],
    metadataProps: {},
    graph: { name: '', nodes: [], initializers: [], inputs: [], outputs: [], valueInfo: [] },
    byteLength: bytes.length,
  };
  let hasGraph = false;
  const r = new Reader(bytes, 0, bytes.length, 0);
  while (r.pos < r.end) {
    const [field, wire] = r.tag();
    switch (field) {
      case 1:
        r.expect(wire, WIRE_VARINT, 'ModelProto.ir_version');
        model.irVersion = r.int64();
        break;
      case 2:
        r.expect(wire, WIRE_LEN, 'ModelProto.producer_name');
        model.producerName = r.string('ModelProto.producer_name');
        break;
      case 3:
        r.expect(wire, WIRE_LEN, 'ModelProto.producer_version');
        model.producerVersion = r.string('ModelProto.producer_version');
        break;
      case 4:
        r.expect(wire, WIRE_LEN, 'ModelProto.domain');
        model.domain = r.string('ModelProto.domain');
        break;
      case 5:
        r.expect(wire, WIRE_VARINT, 'ModelProto.model_version');
        model.modelVersion = r.int64();
        break;
      case 6:
        r.expect(wire, WIRE_LEN, 'ModelProto.doc_string');
        model.docString = r.string('ModelProto.doc_string');
        break;
      case 7:
        r.expect(wire, WIRE_LEN, 'ModelProto.graph');
        model.graph = parseGraph(r.sub('ModelProto.graph'));
        hasGraph = true;
        break;
      case 8: {
        r.expect(wire, WIRE_LEN, 'ModelProto.opset_import');
        const o = r.sub('ModelProto.opset_import');
        const entry = { domain: '', version: 0 };
        while (o.pos < o.end) {
          const [f, w] = o.tag();
          if (f === 1 && w === WIRE_LEN) entry.domain = o.string('OperatorSetIdProto.domain');
          else if (f === 2 && w === WIRE_VARINT) entry.version = o.int64();
          else o.skip(w);
        }
        model.opsetImports.push(entry);
        break;
      }
      case 14: {
        r.expect(wire, WIRE_LEN, 'ModelProto.metadata_props');
        const [k, v] = parseStringStringEntry(r.sub('ModelProto.metadata_props'));
        model.metadataProps[k] = v;
        break;
      }
      default:
        r.skip(wire); // training_info, functions, configuration
    }
  }
  if (!hasGraph || model.graph.nodes.length === 0) {
    throw new OnnxParseError(
      `not a valid ONNX file: no graph${hasGraph ? ' nodes' : ''} found in ${bytes.length} bytes; ` +
        'the file is truncated, corrupt or not an ONNX model',
    );
  }
  if (model.irVersion <= 0 || model.opsetImports.length === 0) {
    throw new OnnxParseError(
      `not a valid ONNX file: ${model.irVersion <= 0 ? 'no ir_version' : 'no opset_import'} ` +
        `in ${bytes.length} bytes; the file is truncated, corrupt or not an ONNX model`,
    );
  }
  if (!options.allowQuantized && quantizationReason(model) !== null) {
    throw new OnnxUnsupportedError(QUANTIZED_MODEL_MESSAGE);
  }
  return model;
}

// ---------------------------------------------------------------------------------------------------------------
// Quantization detection
// ---------------------------------------------------------------------------------------------------------------

const QUANTIZED_OPS = new Set([
  'QuantizeLinear',
  'DequantizeLinear',
  'DynamicQuantizeLinear',
  'MatMulInteger',
  'ConvInteger',
  'QLinearMatMul',
  'QLinearConv',
  'QLinearAdd',
  'QLinearMul',
  'QLinearSoftmax',
  'QLinearSigmoid',
  'QLinearGlobalAveragePool',
  'QLinearConcat',
  'QGemm',
  'QAttention',
  'QOrderedMatMul',
  'DynamicQuantizeMatMul',
  'MatMulIntegerToFloat',
  'MatMulNBits',
  'MatMulBnb4',
  'GatherBlockQuantized',
]);

const QUANTIZED_TYPES = new Set<number>([
  OnnxDataType.INT8,
  OnnxDataType.UINT8,
  OnnxDataType.INT4,
  OnnxDataType.UINT4,
  OnnxDataType.FLOAT8E4M3FN,
  OnnxDataType.FLOAT8E4M3FNUZ,
  OnnxDataType.FLOAT8E5M2,
  OnnxDataType.FLOAT8E5M2FNUZ,
]);

function graphQuantization(g: OnnxGraph): string | null {
  for (const n of g.nodes) {
    if (QUANTIZED_OPS.has(n.opType)) return `node "${n.name}" is a ${n.opType}`;
    for (const a of n.attributes) {
      for (const sub of [...(a.g ? [a.g] : []), ...a.graphs]) {
        const found = graphQuantization(sub);
        if (found) return found;
      }
    }
  }
  for (const t of g.initializers) {
    if (QUANTIZED_TYPES.has(t.dataType)) return `initializer "${t.name}" has 8-bit or smaller integer/float type`;
  }
  return null;
}

/** Why the model looks quantized (a description), or null. */
export function quantizationReason(model: OnnxModel): string | null {
  return graphQuantization(model.graph);
}

// ---------------------------------------------------------------------------------------------------------------
// Tensor values
// ---------------------------------------------------------------------------------------------------------------

const BYTES_PER_ELEMENT: Record<number, number> = {
  [OnnxDataType.FLOAT]: 4,
  [OnnxDataType.UINT8]: 1,
  [OnnxDataType.INT8]: 1,
  [OnnxDataType.UINT16]: 2,
  [OnnxDataType.INT16]: 2,
  [OnnxDataType.INT32]: 4,
  [OnnxDataType.INT64]: 8,
  [OnnxDataType.BOOL]: 1,
  [OnnxDataType.FLOAT16]: 2,
  [OnnxDataType.DOUBLE]: 8,
  [OnnxDataType.UINT32]: 4,
  [OnnxDataType.UINT64]: 8,
  [OnnxDataType.BFLOAT16]: 2,
};

export function dataTypeName(dataType: number): string {
  for (const [k, v] of Object.entries(OnnxDataType)) if (v === dataType) return k;
  return `type ${dataType}`;
}

export function tensorElementCount(t: OnnxTensor): number {
  return t.dims.reduce((a, b) => a * b, 1);
}

let halfTable: Float32Array | null = null;

/** float32 value of every IEEE half bit pattern (256 KiB, built once). */
export function float16Table(): Float32Array {
  if (halfTable) return halfTable;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) table[h] = sign * frac * 2 ** -24;
    else if (exp === 0x1f) table[h] = frac ? NaN : sign * Infinity;
    else table[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  halfTable = table;
  return table;
}

function checkStored(t: OnnxTensor): void {
  if (t.external) {
    const where = t.externalData.location ? ` ("${t.externalData.location}")` : '';
    throw new OnnxUnsupportedError(
      `tensor "${t.name}" is stored in an external data file${where}; only self-contained .onnx files are supported`,
    );
  }
}

function rawBytes(t: OnnxTensor): Uint8Array | null {
  checkStored(t);
  if (!t.rawData) return null;
  const width = BYTES_PER_ELEMENT[t.dataType];
  const n = tensorElementCount(t);
  if (width !== undefined && t.rawData.length !== n * width) {
    throw new OnnxParseError(
      `tensor "${t.name}" (${dataTypeName(t.dataType)} [${t.dims.join(',')}]) has ${t.rawData.length} bytes of ` +
        `raw_data, expected ${n * width}; the file is corrupt`,
    );
  }
  return t.rawData;
}

function lengthCheck(t: OnnxTensor, got: number): void {
  const n = tensorElementCount(t);
  if (got !== n) {
    throw new OnnxParseError(
      `tensor "${t.name}" has ${got} values for shape [${t.dims.join(',')}] (${n}); the file is corrupt`,
    );
  }
}

/**
 * The IEEE half bit patterns of a FLOAT16 tensor (a view when `raw_data` is 2-byte aligned, else a copy), or null for
 * other types.
 */
export function tensorFloat16Bits(t: OnnxTensor): Uint16Array | null {
  if (t.dataType !== OnnxDataType.FLOAT16) return null;
  const raw = rawBytes(t);
  if (raw) {
    if (raw.byteOffset % 2 === 0) return new Uint16Array(raw.buffer, raw.byteOffset, raw.length / 2);
    const copy = new Uint8Array(raw);
    return new Uint16Array(copy.buffer);
  }
  const ints = t.int32Data ?? new Int32Array(0);
  lengthCheck(t, ints.length);
  return Uint16Array.from(ints, (v) => v & 0xffff);
}

/** Values of a floating-point tensor (FLOAT, FLOAT16, BFLOAT16, DOUBLE) as a new Float32Array. */
export function tensorToFloat32(t: OnnxTensor): Float32Array {
  const n = tensorElementCount(t);
  switch (t.dataType) {
    case OnnxDataType.FLOAT: {
      const raw = rawBytes(t);
      if (!raw) {
        const data = t.floatData ?? new Float32Array(0);
        lengthCheck(t, data.length);
        return data.slice();
      }
      if (raw.byteOffset % 4 === 0 && littleEndian()) return new Float32Array(raw.buffer, raw.byteOffset, n).slice();
      const out = new Float32Array(n);
      const view = new DataView(raw.buffer, raw.byteOffset, raw.length);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
      return out;
    }
    case OnnxDataType.FLOAT16: {
      const bits = tensorFloat16Bits(t)!;
      const table = float16Table();
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = table[bits[i]];
      return out;
    }
    case OnnxDataType.BFLOAT16: {
      const raw = rawBytes(t); // checks the size before anything is allocated
      if (!raw) lengthCheck(t, (t.int32Data ?? []).length);
      const out = new Float32Array(n);
      const u32 = new Uint32Array(out.buffer);
      if (raw) {
        const view = new DataView(raw.buffer, raw.byteOffset, raw.length);
        for (let i = 0; i < n; i++) u32[i] = view.getUint16(2 * i, true) << 16;
      } else {
        const ints = t.int32Data!;
        for (let i = 0; i < n; i++) u32[i] = (ints[i] & 0xffff) << 16;
      }
      return out;
    }
    case OnnxDataType.DOUBLE: {
      const raw = rawBytes(t);
      if (!raw) {
        const data = t.doubleData ?? new Float64Array(0);
        lengthCheck(t, data.length);
        return Float32Array.from(data);
      }
      const out = new Float32Array(n);
      const view = new DataView(raw.buffer, raw.byteOffset, raw.length);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    }
    default:
      throw new OnnxUnsupportedError(`tensor "${t.name}" has type ${dataTypeName(t.dataType)}, not a float type`);
  }
}

/** Values of an integer tensor (INT64, INT32, INT16, INT8, UINT*, BOOL) as numbers (int64 beyond ±2^53 rounded). */
export function tensorToNumbers(t: OnnxTensor): number[] {
  if (!INTEGER_TYPES.has(t.dataType)) {
    throw new OnnxUnsupportedError(`tensor "${t.name}" has type ${dataTypeName(t.dataType)}, not an integer type`);
  }
  const n = tensorElementCount(t);
  const raw = rawBytes(t); // checks the size before anything is allocated
  if (!raw) {
    let values: ArrayLike<number>;
    if (t.dataType === OnnxDataType.INT64) values = t.int64Data ?? [];
    else if (t.dataType === OnnxDataType.UINT64 || t.dataType === OnnxDataType.UINT32) values = t.uint64Data ?? [];
    else values = t.int32Data ?? [];
    lengthCheck(t, values.length);
    return Array.from(values);
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.length);
  const out: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    switch (t.dataType) {
      case OnnxDataType.INT64:
        out[i] = Number(view.getBigInt64(8 * i, true));
        break;
      case OnnxDataType.UINT64:
        out[i] = Number(view.getBigUint64(8 * i, true));
        break;
      case OnnxDataType.INT32:
        out[i] = view.getInt32(4 * i, true);
        break;
      case OnnxDataType.UINT32:
        out[i] = view.getUint32(4 * i, true);
        break;
      case OnnxDataType.INT16:
        out[i] = view.getInt16(2 * i, true);
        break;
      case OnnxDataType.UINT16:
        out[i] = view.getUint16(2 * i, true);
        break;
      case OnnxDataType.INT8:
        out[i] = view.getInt8(i);
        break;
      case OnnxDataType.UINT8:
      case OnnxDataType.BOOL:
        out[i] = view.getUint8(i);
        break;
      default:
        throw new OnnxUnsupportedError(`tensor "${t.name}" has type ${dataTypeName(t.dataType)}, not an integer type`);
    }
  }
  return out;
}

const INTEGER_TYPES = new Set<number>([
  OnnxDataType.INT64,
  OnnxDataType.UINT64,
  OnnxDataType.INT32,
  OnnxDataType.UINT32,
  OnnxDataType.INT16,
  OnnxDataType.UINT16,
  OnnxDataType.INT8,
  OnnxDataType.UINT8,
  OnnxDataType.BOOL,
]);

let isLittleEndian: boolean | null = null;
function littleEndian(): boolean {
  isLittleEndian ??= new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  return isLittleEndian;
}

/** The attribute `name` of a node, or undefined. */
export function findAttribute(node: OnnxNode, name: string): OnnxAttribute | undefined {
  return node.attributes.find((a) => a.name === name);
}
