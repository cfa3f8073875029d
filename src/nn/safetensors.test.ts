import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rand } from '../../test/gpu';
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from './safetensors';

const FIXTURE = new URL('../../test/fixtures/generator_small.safetensors', import.meta.url);

/** Builds a file by hand: header object, raw data section. */
function rawFile(header: unknown, data: Uint8Array, headerLenOverride?: number): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLenOverride ?? json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

function expectError(bytes: Uint8Array, pattern: RegExp): void {
  expect(() => decodeSafetensors(bytes)).toThrow(SafetensorsError);
  expect(() => decodeSafetensors(bytes)).toThrow(pattern);
}

describe('safetensors', () => {
  it('round-trips float32 tensors and metadata bit for bit', () => {
    const a = rand(2 * 3 * 5, 1);
    a[0] = -0;
    a[1] = 1e-40; // a float32 subnormal
    a[2] = 3.4e38;
    const b = rand(7, 2);
    const tensors = [
      { name: 'levels.0.conv.weight', shape: [2, 3, 5], data: a },
      { name: 'scalar', shape: [], data: new Float32Array([42.5]) },
      { name: 'empty', shape: [0, 4], data: new Float32Array(0) },
      { name: 'ünïcode.bias', shape: [7], data: b },
    ];
    const bytes = encodeSafetensors(tensors, { step: '12', note: 'héllo "quoted"' });
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLen % 8).toBe(0);
    expect(bytes.length).toBe(8 + headerLen + (30 + 1 + 7) * 4);
    const { tensors: back, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({ step: '12', note: 'héllo "quoted"' });
    expect([...back.keys()]).toEqual(tensors.map((t) => t.name));
    for (const t of tensors) {
      const r = back.get(t.name)!;
      expect(r.dtype).toBe('F32');
      expect(r.shape).toEqual(t.shape);
      expect(new Uint32Array(r.data.buffer)).toEqual(new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length));
    }
  });

  it('reads from an unaligned view of a larger buffer', () => {
    const bytes = encodeSafetensors([{ name: 'x', shape: [3], data: new Float32Array([1, -2, 0.25]) }]);
    const big = new Uint8Array(bytes.length + 3);
    big.set(bytes, 3);
    const { tensors } = decodeSafetensors(big.subarray(3));
    expect([...tensors.get('x')!.data]).toEqual([1, -2, 0.25]);
  });

  it('reads F16 and BF16 as float32', () => {
    // F16: 1, -2, 0.5, 65504, smallest subnormal, +inf; BF16: 1, -3, 0.15625
    const f16 = [0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x7c00];
    const bf16 = [0x3f80, 0xc040, 0x3e20];
    const data = new Uint8Array((f16.length + bf16.length) * 2);
    const v = new DataView(data.buffer);
    [...f16, ...bf16].forEach((h, i) => v.setUint16(2 * i, h, true));
    const file = rawFile(
      {
        __metadata__: { format: 'pt' },
        h: { dtype: 'F16', shape: [2, 3], data_offsets: [0, 12] },
        b: { dtype: 'BF16', shape: [3], data_offsets: [12, 18] },
      },
      data,
    );
    const { tensors, metadata } = decodeSafetensors(file);
    expect(metadata).toEqual({ format: 'pt' });
    expect(tensors.get('h')!.dtype).toBe('F16');
    expect([...tensors.get('h')!.data]).toEqual([1, -2, 0.5, 65504, 2 ** -24, Infinity]);
    expect([...tensors.get('b')!.data]).toEqual([1, -3, 0.15625]);
  });

  it('rejects truncated and corrupt files with errors naming the problem', () => {
    const good = encodeSafetensors([
      { name: 'a', shape: [4], data: new Float32Array(4) },
      { name: 'b', shape: [2], data: new Float32Array(2) },
    ]);
    expectError(good.subarray(0, 5), /truncated.*5 bytes/);
    expectError(good.subarray(0, 20), /truncated: header claims/);
    expectError(good.subarray(0, good.length - 4), /truncated: tensor "b" ends at data byte 24/);
    const huge = good.slice();
    new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
    expectError(huge, /implausibly large/);

    const d = new Uint8Array(16);
    expectError(
      rawFile({}, d).map((x, i) => (i === 8 ? 0x5b : x)),
      /not valid UTF-8 JSON/,
    );
    expectError(rawFile([1, 2], new Uint8Array(0)), /not a JSON object/);
    expectError(rawFile({ a: { shape: [4], data_offsets: [0, 16] } }, d), /"a" has no dtype/);
    expectError(rawFile({ a: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, d), /unsupported dtype I64/);
    expectError(rawFile({ a: { dtype: 'F32', shape: [-4], data_offsets: [0, 16] } }, d), /invalid shape/);
    expectError(rawFile({ a: { dtype: 'F32', shape: [4], data_offsets: [16, 0] } }, d), /invalid data_offsets/);
    expectError(rawFile({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }, d), /needs 12 bytes.*span 16/);
    expectError(
      rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, d),
      /hole before tensor "a" \(bytes 0\.\.8\)/,
    );
    expectError(
      rawFile(
        {
          a: { dtype: 'F32', shape: [3], data_offsets: [0, 12] },
          b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] },
        },
        d,
      ),
      /"b" overlaps/,
    );
    expectError(rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, d), /8 trailing bytes/);
    expectError(rawFile({ __metadata__: { n: 3 } }, new Uint8Array(0)), /"n" is not a string/);
  });

  it('refuses to encode inconsistent tensors', () => {
    expect(() => encodeSafetensors([{ name: 'a', shape: [3], data: new Float32Array(2) }])).toThrow(/has 2 values/);
    const t = { name: 'a', shape: [1], data: new Float32Array(1) };
    expect(() => encodeSafetensors([t, t])).toThrow(/duplicate tensor name "a"/);
    expect(() => encodeSafetensors([{ ...t, name: '__metadata__' }])).toThrow(/invalid tensor name/);
  });

  it('reads the PyTorch generator fixture', () => {
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(FIXTURE)));
    const names = JSON.parse(metadata.param_names) as string[];
    expect(metadata.scales).toBe('3');
    expect(JSON.parse(metadata.input_shape)).toEqual([1, 3, 137, 201]);
    expect(tensors.get('input')!.shape).toEqual([1, 3, 137, 201]);
    expect(tensors.get('output')!.shape).toEqual([1, 4, 137, 201]);
    expect(tensors.get('param.levels.0.up.conv.weight')!.shape).toEqual([8, 12, 3, 3]);
    expect(tensors.get('param.head.conv.weight')!.shape).toEqual([4, 8, 1, 1]);
    expect(tensors.has('param.levels.0.up1x1.bn.weight')).toBe(false);
    expect(tensors.has('param.levels.1.up1x1.bn.weight')).toBe(true);
    const prefixes = ['param', 'grad', 'madgrad.grad2', 'madgrad.after1.param', 'madgrad.after2.param'];
    prefixes.push('madgrad.after2.s', 'madgrad.after2.v', 'madgrad.after2.x0');
    prefixes.push('adam.grad2', 'adam.after2.param', 'adam.after2.m', 'adam.after2.v');
    expect(tensors.size).toBe(3 + prefixes.length * names.length);
    let count = 0;
    for (const n of names) {
      const shape = tensors.get(`param.${n}`)!.shape;
      count += shape.reduce((a, b) => a * b, 1);
      for (const p of prefixes) expect(tensors.get(`${p}.${n}`)!.shape, `${p}.${n}`).toEqual(shape);
    }
    expect(count).toBe(Number(metadata.param_count));
    // The stored loss: sum(output * loss_weights), recomputed from the float32 tensors.
    const out = tensors.get('output')!.data;
    const r = tensors.get('loss_weights')!.data;
    let loss = 0;
    for (let i = 0; i < out.length; i++) loss += out[i] * r[i];
    expect(Math.abs(loss - Number(metadata.loss_value))).toBeLessThan(1e-3);
  });
});
