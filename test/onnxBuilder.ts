/** A minimal protobuf writer, to build ONNX models by hand in tests (field numbers as in onnx/onnx.proto). */
export type Bytes = number[];

/** An unsigned varint (negative numbers as 10-byte two's complement, as int64 fields are written). */
export function varint(value: number | bigint): Bytes {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: Bytes = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
}

/** Fields: varint, bytes/string/sub-message (length-delimited), fixed32 float, packed repeated. */
export const pb = {
  int: (field: number, v: number | bigint): Bytes => [...varint(field * 8), ...varint(v)],
  bytes: (field: number, b: ArrayLike<number>): Bytes => [
    ...varint(field * 8 + 2),
    ...varint(b.length),
    ...Array.from(b),
  ],
  str: (field: number, s: string): Bytes => pb.bytes(field, new TextEncoder().encode(s)),
  msg: (field: number, ...parts: Bytes[]): Bytes => pb.bytes(field, parts.flat()),
  f32: (field: number, x: number): Bytes => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, x, true);
    return [...varint(field * 8 + 5), ...b];
  },
  packedF32: (field: number, xs: number[]): Bytes => pb.bytes(field, new Uint8Array(new Float32Array(xs).buffer)),
  packedInts: (field: number, xs: number[]): Bytes =>
    pb.bytes(
      field,
      xs.flatMap((x) => varint(x)),
    ),
};

/** A GraphProto.node field. */
export const node = (name: string, op: string, inputs: string[], outputs: string[], ...attrs: Bytes[]): Bytes =>
  pb.msg(
    1,
    pb.str(3, name),
    pb.str(4, op),
    ...inputs.map((i) => pb.str(1, i)),
    ...outputs.map((o) => pb.str(2, o)),
    ...attrs,
  );

/** The fields of a TensorProto (wrap with pb.msg(5, ...) for an initializer). */
export const tensor = (name: string, dims: number[], dataType: number, ...data: Bytes[]): Bytes[] => [
  ...dims.map((d) => pb.int(1, d)), // unpacked, as the proto2 C++ writer does
  pb.int(2, dataType),
  pb.str(8, name),
  ...data,
];

/** A ModelProto: ir_version 8, a graph of these nodes and initializers, opset 14 (unless opset: false). */
export function model(nodes: Bytes[], initializers: Bytes[][] = [], opts: { opset?: boolean } = {}): Uint8Array {
  const graph = pb.msg(7, ...nodes, pb.str(2, 'g'), ...initializers.map((t) => pb.msg(5, ...t)));
  const opset = opts.opset === false ? [] : pb.msg(8, pb.str(1, ''), pb.int(2, 14));
  return new Uint8Array([...pb.int(1, 8), ...pb.str(2, 'test'), ...graph, ...opset]);
}
