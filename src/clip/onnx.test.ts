import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { model, node, pb, tensor } from '../../test/onnxBuilder';
import {
  OnnxDataType,
  OnnxParseError,
  OnnxUnsupportedError,
  QUANTIZED_MODEL_MESSAGE,
  findAttribute,
  parseOnnx,
  quantizationReason,
  tensorFloat16Bits,
  tensorToFloat32,
  tensorToNumbers,
  type OnnxModel,
} from './onnx';

const TINY = fileURLToPath(new URL('../../models/tiny-clip/', import.meta.url));
const load = (path: string) => new Uint8Array(readFileSync(TINY + path));

function expectParseError(bytes: Uint8Array, pattern: RegExp): void {
  let error: unknown;
  try {
    parseOnnx(bytes);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(OnnxParseError);
  expect((error as Error).message).toMatch(pattern);
}

describe('parseOnnx on the tiny CLIP files', () => {
  const visionBytes = load('onnx/vision_model.onnx');
  const vision = parseOnnx(visionBytes);

  it('reads the fp32 vision model: header, inputs, outputs, scoped node names', () => {
    expect(vision.irVersion).toBeGreaterThanOrEqual(7);
    expect(vision.producerName).toBe('pytorch');
    expect(vision.opsetImports).toContainEqual({ domain: '', version: 14 });
    expect(vision.graph.inputs).toEqual([
      { name: 'pixel_values', elemType: OnnxDataType.FLOAT, shape: ['batch_size', 3, 56, 56] },
    ]);
    expect(vision.graph.outputs.map((o) => [o.name, o.shape])).toEqual([
      ['image_embeds', ['batch_size', 16]],
      ['last_hidden_state', ['batch_size', 50, 32]],
    ]);
    const names = new Set(vision.graph.nodes.map((n) => n.name));
    for (const l of [0, 1]) {
      for (const m of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
        expect(names).toContain(`/vision_model/encoder/layers.${l}/self_attn/${m}/MatMul`);
      }
    }
    expect(names).toContain('/vision_model/embeddings/patch_embedding/Conv');
    expect(names).toContain('/visual_projection/MatMul');
    const q = vision.graph.nodes.find((n) => n.name === '/vision_model/encoder/layers.0/self_attn/q_proj/MatMul')!;
    expect(q.opType).toBe('MatMul');
    expect(q.inputs[1]).toMatch(/^onnx::MatMul_\d+$/);
    // LayerNorm is decomposed at opset 14.
    expect(vision.graph.nodes.some((n) => n.opType === 'LayerNormalization')).toBe(false);
    expect(names).toContain('/vision_model/pre_layrnorm/ReduceMean');
    expect(quantizationReason(vision)).toBeNull();
  });

  it('is zero-copy: raw_data are views into the given bytes', () => {
    let rawBytes = 0;
    for (const t of vision.graph.initializers) {
      expect(t.rawData).not.toBeNull();
      expect(t.rawData!.buffer).toBe(visionBytes.buffer);
      rawBytes += t.rawData!.byteLength;
    }
    expect(rawBytes).toBeGreaterThan(0.7 * visionBytes.byteLength);
    // Views follow a Uint8Array that is itself a window into a larger buffer.
    const padded = new Uint8Array(visionBytes.length + 3);
    padded.set(visionBytes, 3);
    const shifted = parseOnnx(padded.subarray(3));
    const a = vision.graph.initializers.find((t) => t.name === 'vision_model.pre_layrnorm.weight')!;
    const b = shifted.graph.initializers.find((t) => t.name === 'vision_model.pre_layrnorm.weight')!;
    expect(b.rawData!.buffer).toBe(padded.buffer);
    expect(tensorToFloat32(b)).toEqual(tensorToFloat32(a)); // unaligned raw_data read correctly
  });

  it('decodes attributes and Constant tensors (negative ints, floats, tensors)', () => {
    const byName = (n: string) => vision.graph.nodes.find((x) => x.name === n)!;
    expect(findAttribute(byName('/vision_model/pre_layrnorm/ReduceMean'), 'axes')!.ints).toEqual([-1]);
    const eps = findAttribute(byName('/vision_model/pre_layrnorm/Constant_1'), 'value')!.t!;
    expect(eps.dataType).toBe(OnnxDataType.FLOAT);
    expect(tensorToFloat32(eps)[0]).toBeCloseTo(1e-5, 10);
    const two = findAttribute(byName('/vision_model/pre_layrnorm/Constant'), 'value')!.t!;
    expect(Array.from(tensorToFloat32(two))).toEqual([2]);
    const gather = byName('/vision_model/embeddings/position_embedding/Gather');
    const idxNode = vision.graph.nodes.find((n) => n.outputs[0] === gather.inputs[1])!;
    const idx = findAttribute(idxNode, 'value')!.t!;
    expect(idx.dataType).toBe(OnnxDataType.INT64);
    expect(tensorToNumbers(idx)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    const conv = byName('/vision_model/embeddings/patch_embedding/Conv');
    expect(findAttribute(conv, 'strides')!.ints).toEqual([8, 8]);
    expect(findAttribute(conv, 'kernel_shape')!.ints).toEqual([8, 8]);
  });

  it('reads the fp16 vision model: float16 initializers, Cast at the inputs and outputs', () => {
    const fp16 = parseOnnx(load('onnx/vision_model_fp16.onnx'));
    expect(fp16.graph.initializers.every((t) => t.dataType === OnnxDataType.FLOAT16)).toBe(true);
    const cast = fp16.graph.nodes.find((n) => n.opType === 'Cast' && n.inputs[0] === 'pixel_values')!;
    expect(findAttribute(cast, 'to')!.i).toBe(OnnxDataType.FLOAT16);
    expect(fp16.graph.inputs[0].elemType).toBe(OnnxDataType.FLOAT);
    const name = 'vision_model.embeddings.position_embedding.weight';
    const h = fp16.graph.initializers.find((t) => t.name === name)!;
    const f = vision.graph.initializers.find((t) => t.name === name)!;
    expect(h.dims).toEqual([50, 32]);
    expect(tensorFloat16Bits(h)!.length).toBe(50 * 32);
    const hv = tensorToFloat32(h);
    const fv = tensorToFloat32(f);
    for (let i = 0; i < fv.length; i++) expect(Math.abs(hv[i] - fv[i])).toBeLessThanOrEqual(Math.abs(fv[i]) * 2 ** -11);
  });

  it('reads the text model', () => {
    const text = parseOnnx(load('onnx/text_model.onnx'));
    expect(text.graph.inputs).toEqual([
      { name: 'input_ids', elemType: OnnxDataType.INT64, shape: ['batch_size', 'sequence_length'] },
    ]);
    expect(text.graph.outputs.map((o) => o.name)).toEqual(['text_embeds', 'last_hidden_state']);
    const tok = text.graph.initializers.find((t) => t.name === 'text_model.embeddings.token_embedding.weight')!;
    expect(tok.dims).toEqual([49408, 32]);
    expect(tok.rawData!.byteLength).toBe(49408 * 32 * 4);
    expect(text.graph.nodes.some((n) => n.name === '/text_model/encoder/layers.1/self_attn/q_proj/MatMul')).toBe(true);
  });
});

describe('parseOnnx on hand-built models', () => {
  it('reads unpacked/packed fields, negative int64, typed data fields', () => {
    const bytes = model(
      [node('n', 'Relu', ['x'], ['y'], pb.msg(5, pb.str(1, 'alpha'), pb.f32(2, 0.5), pb.int(20, 1)))],
      [
        tensor('f', [2, 2], OnnxDataType.FLOAT, pb.packedF32(4, [1, -2, 3.5, 4])),
        tensor('i', [3], OnnxDataType.INT64, pb.packedInts(7, [-1, 2 ** 40, -(2 ** 40)])),
        tensor('h', [2], OnnxDataType.FLOAT16, pb.packedInts(5, [0x3c00, 0xc000])),
        tensor('d', [1], OnnxDataType.DOUBLE, pb.bytes(10, new Uint8Array(new Float64Array([0.25]).buffer))),
        tensor('b', [1], OnnxDataType.BFLOAT16, pb.bytes(9, [0x80, 0x3f])),
        tensor(
          'e',
          [4],
          OnnxDataType.FLOAT,
          pb.msg(13, pb.str(1, 'location'), pb.str(2, 'weights.bin')),
          pb.int(14, 1),
        ),
      ],
    );
    const m: OnnxModel = parseOnnx(bytes);
    const t = (name: string) => m.graph.initializers.find((x) => x.name === name)!;
    expect(m.irVersion).toBe(8);
    expect(m.graph.nodes[0].attributes[0]).toMatchObject({ name: 'alpha', f: 0.5, type: 1 });
    expect(t('f').dims).toEqual([2, 2]);
    expect(Array.from(tensorToFloat32(t('f')))).toEqual([1, -2, 3.5, 4]);
    expect(tensorToNumbers(t('i'))).toEqual([-1, 2 ** 40, -(2 ** 40)]);
    expect(Array.from(tensorToFloat32(t('h')))).toEqual([1, -2]);
    expect(Array.from(tensorToFloat32(t('d')))).toEqual([0.25]);
    expect(Array.from(tensorToFloat32(t('b')))).toEqual([1]);
    expect(t('e').external).toBe(true);
    expect(() => tensorToFloat32(t('e'))).toThrow(/external data file \("weights.bin"\)/);
  });

  it('rejects raw_data whose size does not match the shape', () => {
    const m = parseOnnx(
      model([node('n', 'Relu', ['x'], ['y'])], [tensor('w', [3], OnnxDataType.FLOAT, pb.bytes(9, [0, 0, 0, 0]))]),
    );
    expect(() => tensorToFloat32(m.graph.initializers[0])).toThrow(/4 bytes of raw_data, expected 12/);
  });

  it('rejects quantized models with the prescribed message', () => {
    const dq = model(
      [
        node('/x/DequantizeLinear', 'DequantizeLinear', ['w_q', 's', 'z'], ['w']),
        node('m', 'MatMul', ['x', 'w'], ['y']),
      ],
      [tensor('w_q', [4], OnnxDataType.UINT8, pb.bytes(9, [1, 2, 3, 4]))],
    );
    expect(() => parseOnnx(dq)).toThrow(OnnxUnsupportedError);
    expect(() => parseOnnx(dq)).toThrow(QUANTIZED_MODEL_MESSAGE);
    const mmi = model([node('m', 'MatMulInteger', ['x', 'w'], ['y'])]);
    expect(() => parseOnnx(mmi)).toThrow(QUANTIZED_MODEL_MESSAGE);
    const int8Only = model(
      [node('m', 'MatMul', ['x', 'w'], ['y'])],
      [tensor('w', [2], OnnxDataType.INT8, pb.bytes(9, [1, 255]))],
    );
    expect(() => parseOnnx(int8Only)).toThrow(QUANTIZED_MODEL_MESSAGE);
    const allowed = parseOnnx(int8Only, { allowQuantized: true });
    expect(quantizationReason(allowed)).toMatch(/initializer "w"/);
    expect(tensorToNumbers(allowed.graph.initializers[0])).toEqual([1, -1]);
  });
});

describe('parseOnnx errors', () => {
  const bytes = load('onnx/vision_model.onnx');

  it('reports truncated files', () => {
    for (const frac of [0.001, 0.1, 0.33, 0.5, 0.77, 0.999]) {
      expectParseError(bytes.subarray(0, Math.floor(bytes.length * frac)), /truncated|not a valid ONNX file/);
    }
    expectParseError(bytes.subarray(0, Math.floor(bytes.length / 2)), /ONNX file is truncated: .* ends at byte \d+/);
    expectParseError(bytes.subarray(0, bytes.length - 1), /truncated/);
  });

  it('recognizes other kinds of files', () => {
    const text = (s: string) => new TextEncoder().encode(s);
    expectParseError(new Uint8Array(0), /empty/);
    expectParseError(text('<!DOCTYPE html><html><body>404 Not Found</body></html>'), /HTML/);
    expectParseError(load('config.json'), /JSON/);
    expectParseError(load('vision_state_dict.safetensors'), /safetensors/);
    expectParseError(text('version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n'), /Git LFS pointer/);
    expectParseError(load('merges.txt'), /not a valid ONNX file|not an ONNX model/);
    // A valid protobuf message that is not a model.
    expectParseError(model([], [], {}), /no graph nodes/);
    expectParseError(model([node('n', 'Relu', ['x'], ['y'])], [], { opset: false }), /no opset_import/);
  });

  it('reports corrupt files as OnnxParseError, never crashing with another error', () => {
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const random = Uint8Array.from({ length: 4096 }, () => Math.floor(rand() * 256));
    expect(() => parseOnnx(random)).toThrow(OnnxParseError);
    let failures = 0;
    for (let k = 0; k < 300; k++) {
      const copy = bytes.slice();
      // Corrupt the structure near the start (headers, node list) more often than the weight bytes.
      const pos = k % 3 === 0 ? Math.floor(rand() * copy.length) : Math.floor(rand() * 4000);
      copy[pos] = Math.floor(rand() * 256);
      try {
        parseOnnx(copy);
      } catch (e) {
        failures++;
        expect(e instanceof OnnxParseError || e instanceof OnnxUnsupportedError).toBe(true);
      }
    }
    expect(failures).toBeGreaterThan(0);
    // A length prefix pointing past the end of its enclosing message.
    const bad = model([node('n', 'Relu', ['x'], ['y'])]);
    const at = bad.indexOf(0x3a); // tag of GraphProto field 7
    bad[at + 1] += 40;
    expectParseError(bad, /truncated|runs past the end/);
  });
});
