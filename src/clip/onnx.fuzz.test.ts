import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bitFlips, byteOverwrites, fuzz, MiB, randomBytes, rejection, truncations, type Mutant } from '../../test/fuzz';
import { model, node, pb, tensor, varint, type Bytes } from '../../test/onnxBuilder';
import {
  OnnxDataType,
  OnnxParseError,
  OnnxUnsupportedError,
  parseOnnx,
  tensorFloat16Bits,
  tensorToFloat32,
  tensorToNumbers,
  type OnnxModel,
  type OnnxTensor,
} from './onnx';

const TINY = fileURLToPath(new URL('../../models/tiny-clip/', import.meta.url));
const isOwn = (e: unknown) => e instanceof OnnxParseError || e instanceof OnnxUnsupportedError;

/** Reads every tensor's values the way a consumer would, so lazy size checks run too. */
function readAllTensors(m: OnnxModel): void {
  const tensors: OnnxTensor[] = [...m.graph.initializers];
  for (const n of m.graph.nodes) for (const a of n.attributes) if (a.t) tensors.push(a.t);
  for (const t of tensors) {
    for (const read of [tensorToFloat32, tensorToNumbers, tensorFloat16Bits]) {
      try {
        read(t);
      } catch (e) {
        if (!isOwn(e)) throw e;
      }
    }
  }
}

/** parse + read all tensor values; result sizes stay within a small multiple of the input. */
function parseAndRead(bytes: Uint8Array): OnnxModel {
  const m = parseOnnx(bytes, { allowQuantized: true });
  readAllTensors(m);
  return m;
}

/** A small model using most field kinds: packed and unpacked ints, floats, raw/typed data, attributes, value_info. */
function handBuilt(): Uint8Array {
  const inner = pb.msg(6, pb.str(2, 'body'), node('inner', 'Identity', ['a'], ['b']));
  const attrs = [
    pb.msg(5, pb.str(1, 'alpha'), pb.f32(2, 0.5), pb.int(20, 1)),
    pb.msg(5, pb.str(1, 'axes'), pb.packedInts(8, [-1, 2, 3]), pb.int(20, 7)),
    pb.msg(
      5,
      pb.str(1, 'value'),
      pb.msg(5, ...tensor('c', [2], OnnxDataType.FLOAT, pb.packedF32(4, [1, 2]))),
      pb.int(20, 4),
    ),
    pb.msg(5, pb.str(1, 'body'), inner, pb.int(20, 5)),
  ];
  const valueInfo = pb.msg(
    11,
    pb.str(1, 'x'),
    pb.msg(2, pb.msg(1, pb.int(1, 1), pb.msg(2, pb.msg(1, pb.str(2, 'batch')), pb.msg(1, pb.int(1, 3))))),
  );
  const bytes = model(
    [node('n0', 'Relu', ['x'], ['y'], ...attrs), node('n1', 'MatMul', ['y', 'w'], ['z']), valueInfo],
    [
      tensor('w', [2, 2], OnnxDataType.FLOAT, pb.bytes(9, new Uint8Array(new Float32Array([1, -2, 3, 4]).buffer))),
      tensor('i', [3], OnnxDataType.INT64, pb.packedInts(7, [-1, 2 ** 40, 5])),
      tensor('h', [2], OnnxDataType.FLOAT16, pb.packedInts(5, [0x3c00, 0xc000])),
      tensor('b', [1], OnnxDataType.BFLOAT16, pb.bytes(9, [0x80, 0x3f])),
      tensor('d', [1], OnnxDataType.DOUBLE, pb.bytes(10, new Uint8Array(new Float64Array([0.25]).buffer))),
    ],
  );
  return bytes;
}

/** A model with one initializer given by its raw TensorProto fields. */
const withInitializer = (...fields: Bytes[]) => model([node('n', 'Relu', ['x'], ['y'])], [fields]);

describe('ONNX parser fuzz', () => {
  const small = handBuilt();
  const vision = new Uint8Array(readFileSync(TINY + 'onnx/vision_model.onnx'));
  const fp16 = new Uint8Array(readFileSync(TINY + 'onnx/vision_model_fp16.onnx'));

  it('parses the hand-built model', () => {
    const m = parseAndRead(small);
    expect(m.graph.nodes.map((n) => n.name)).toEqual(['n0', 'n1']);
    expect(m.graph.nodes[0].attributes[3].g!.nodes[0].name).toBe('inner');
    expect(m.graph.inputs[0].shape).toEqual(['batch', 3]);
  });

  it('rejects every truncation of a small model, and truncations of the tiny CLIP, with its own errors', async () => {
    const cases = [...truncations(small), ...truncations(vision, 1200), ...truncations(fp16, 400)];
    const report = await fuzz(cases, parseAndRead, { accept: isOwn });
    expect(report.failures).toEqual([]);
    expect(report.rejected).toBe(cases.length);
    expect(report.totalMs).toBeLessThan(10_000);
  });

  it('parses or rejects bit flips and overwritten bytes, never with another error', async () => {
    const structure = Math.min(vision.length, 12_000); // headers, node list; the rest is mostly raw weights
    const cases: Mutant[] = [
      ...bitFlips(small, 2000, 41),
      ...byteOverwrites(small, 1000, 42),
      ...bitFlips(vision, 600, 43, { range: [0, structure] }),
      ...bitFlips(vision, 200, 44),
      ...byteOverwrites(fp16, 300, 45, [0, 8000]),
    ];
    const report = await fuzz(cases, parseAndRead, { accept: isOwn });
    expect(report.failures).toEqual([]);
    expect(report.rejected).toBeGreaterThan(500);
    expect(report.parsed).toBeGreaterThan(100);
    expect(report.totalMs).toBeLessThan(15_000);
  });

  it('rejects random bytes', async () => {
    const cases = Array.from({ length: 300 }, (_, k) => ({
      label: `random ${k}`,
      bytes: randomBytes(1 + k * 13, 500 + k),
    }));
    const report = await fuzz(cases, parseAndRead, { accept: isOwn });
    expect(report.failures).toEqual([]);
    expect(report.rejected).toBe(cases.length);
  });

  it('names truncated varints, over-long varints and lengths past the end', async () => {
    const cases: Array<[Uint8Array, RegExp]> = [
      [new Uint8Array([0x08]), /truncated: a varint at byte 1/],
      [new Uint8Array([0x08, 0xff, 0xff, 0xff]), /truncated: a varint/],
      [new Uint8Array([0x08, ...new Array(11).fill(0xff), 0x01]), /a varint longer than 10 bytes/],
      [
        new Uint8Array([0x3a, ...varint(2n ** 60n)]),
        /truncated: ModelProto.graph at byte 10 needs 1152921504606847000 more bytes but the file ends at byte 10/,
      ],
      [new Uint8Array([0x3a, ...varint(2n ** 64n - 1n), 0]), /truncated/],
      [
        new Uint8Array([0x3a, 0x03, 0x0a, 0x05, 0, 0x12, 0, 0, 0, 0, 0, 0]),
        /GraphProto.node runs past the end of its enclosing/,
      ],
      [new Uint8Array([0x0b, 0x01]), /unsupported wire type 3/],
      [new Uint8Array([0x00, 0x01]), /field number 0/],
      [new Uint8Array([0x0a, 0x01, 0x00]), /ModelProto.ir_version with wire type 2/],
    ];
    for (const [bytes, pattern] of cases) {
      const r = await rejection(() => parseOnnx(bytes));
      expect(r.error, `${pattern}`).toBeInstanceOf(OnnxParseError);
      expect((r.error as Error).message).toMatch(pattern);
      expect(r.arrayBufferGrowth).toBeLessThan(MiB);
    }
  });

  it('rejects nesting beyond the depth limit without exhausting the stack', () => {
    let g: Bytes = node('leaf', 'Identity', ['a'], ['b']);
    for (let i = 0; i < 200; i++) g = node(`n${i}`, 'If', [], [], pb.msg(5, pb.str(1, 'then_branch'), pb.msg(6, g)));
    const bytes = new Uint8Array([...pb.int(1, 8), ...pb.msg(7, g), ...pb.msg(8, pb.int(2, 14))]);
    expect(() => parseOnnx(bytes)).toThrow(/nested more than 64 deep/);
  });

  it('rejects huge and invalid dims at parse time, and huge declared tensors before allocating', async () => {
    const badDims: Array<[Bytes[], RegExp]> = [
      [tensor('neg', [-1, 4], OnnxDataType.FLOAT), /tensor "neg" with an invalid dimension -1 in \[-1,4\]/],
      [tensor('big', [2 ** 60], OnnxDataType.FLOAT), /tensor "big" with an invalid dimension/],
      [tensor('zero', [0, -5], OnnxDataType.FLOAT), /tensor "zero" with an invalid dimension -5/],
      [tensor('many', [2 ** 30, 2 ** 30, 2 ** 30], OnnxDataType.FLOAT), /tensor "many" with more than 2\^53 elements/],
    ];
    for (const [fields, pattern] of badDims) {
      expect(() => parseOnnx(withInitializer(...fields))).toThrow(pattern);
    }
    // Sizes a trusting reader would try to allocate: 1 GiB and 4 TiB, with 4 bytes present.
    const four = pb.bytes(9, [0, 0, 128, 63]);
    const huge: Array<[Bytes[], (t: OnnxTensor) => unknown, RegExp]> = [
      [tensor('f', [2 ** 28], OnnxDataType.FLOAT, four), tensorToFloat32, /4 bytes of raw_data, expected 1073741824/],
      [tensor('f', [2 ** 40], OnnxDataType.FLOAT, four), tensorToFloat32, /expected 4398046511104/],
      [tensor('b', [2 ** 28], OnnxDataType.BFLOAT16, four), tensorToFloat32, /4 bytes of raw_data, expected 536870912/],
      [tensor('b', [2 ** 28], OnnxDataType.BFLOAT16), tensorToFloat32, /has 0 values for shape \[268435456\]/],
      [tensor('h', [2 ** 28], OnnxDataType.FLOAT16, four), tensorToFloat32, /expected 536870912/],
      [tensor('d', [2 ** 28], OnnxDataType.DOUBLE, four), tensorToFloat32, /expected 2147483648/],
      [tensor('i', [2 ** 28], OnnxDataType.INT64, four), tensorToNumbers, /expected 2147483648/],
      [tensor('i', [2 ** 28], OnnxDataType.INT64), tensorToNumbers, /has 0 values/],
      [tensor('s', [2 ** 40], OnnxDataType.STRING, four), tensorToNumbers, /type STRING, not an integer type/],
      [tensor('s', [2 ** 40], OnnxDataType.STRING, four), tensorToFloat32, /type STRING, not a float type/],
      [tensor('x', [2 ** 40], 999, four), tensorToNumbers, /type type 999, not an integer type/],
      [tensor('c', [2 ** 28], OnnxDataType.COMPLEX64, four), tensorToFloat32, /not a float type/],
      [tensor('f', [2 ** 28], OnnxDataType.FLOAT, pb.packedF32(4, [1])), tensorToFloat32, /has 1 values for shape/],
    ];
    for (const [fields, read, pattern] of huge) {
      const m = parseOnnx(withInitializer(...fields), { allowQuantized: true });
      const r = await rejection(() => read(m.graph.initializers[0]));
      expect(isOwn(r.error), `${pattern}: ${String(r.error)}`).toBe(true);
      expect((r.error as Error).message).toMatch(pattern);
      expect(r.arrayBufferGrowth).toBeLessThan(MiB);
    }
  });
});
