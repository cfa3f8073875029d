import { describe, expect, it } from 'vitest';
import {
  bitFlips,
  byteOverwrites,
  fuzz,
  MiB,
  randomBytes,
  rawSafetensors,
  rejection,
  truncations,
  type FuzzReport,
  type Mutant,
} from '../../test/fuzz';
import {
  decodeSafetensors,
  encodeRawSafetensors,
  encodeSafetensors,
  readSafetensorsLayout,
  SafetensorsError,
  type DecodedSafetensors,
} from './safetensors';

const isOwn = (e: unknown) => e instanceof SafetensorsError;

/** A small valid file: F32 tensors of several ranks (one empty, one scalar) and metadata. */
function smallFile(): Uint8Array {
  return encodeSafetensors(
    [
      { name: 'levels.0.conv.weight', shape: [2, 3, 2], data: Float32Array.from({ length: 12 }, (_, i) => i - 5.5) },
      { name: 'scalar', shape: [], data: new Float32Array([42]) },
      { name: 'empty', shape: [0, 3], data: new Float32Array(0) },
      { name: 'bias', shape: [3], data: new Float32Array([0.5, -1, 1e-3]) },
    ],
    { step: '12', config: '{"lr":0.0025}' },
  );
}

/** Decoded output stays within a small multiple of the input (F16/BF16 double in size). */
function checkBounded(result: DecodedSafetensors, m: Mutant): void {
  let bytes = 0;
  for (const t of result.tensors.values()) bytes += t.data.byteLength;
  if (bytes > 2 * m.bytes.length) throw new Error(`decoded ${bytes} bytes from a ${m.bytes.length}-byte file`);
}

function expectClean(report: FuzzReport, totalMs: number): void {
  expect(report.failures).toEqual([]);
  expect(report.totalMs).toBeLessThan(totalMs);
}

async function expectRejectedCheaply(
  bytes: Uint8Array,
  pattern: RegExp,
  parsers: Array<(b: Uint8Array) => unknown> = [decodeSafetensors, readSafetensorsLayout],
): Promise<void> {
  for (const parse of parsers) {
    const r = await rejection(() => parse(bytes));
    expect(r.error, `${pattern}`).toBeInstanceOf(SafetensorsError);
    expect((r.error as Error).message).toMatch(pattern);
    expect(r.arrayBufferGrowth).toBeLessThan(MiB);
    expect(r.ms).toBeLessThan(500);
  }
}

describe('safetensors fuzz', () => {
  const valid = smallFile();

  it('rejects every truncation of a valid file with a SafetensorsError', async () => {
    const cases = truncations(valid);
    expect(cases.length).toBe(valid.length);
    const parsers: Array<(b: Uint8Array) => unknown> = [decodeSafetensors, readSafetensorsLayout];
    for (const parse of parsers) {
      const report = await fuzz(cases, parse, { accept: isOwn });
      expectClean(report, 2000);
      expect(report.rejected).toBe(cases.length);
    }
  });

  it('decodes or rejects bit-flipped and overwritten files, never with another error', async () => {
    const cases = [...bitFlips(valid, 3000, 1), ...byteOverwrites(valid, 1000, 2)];
    const report = await fuzz(cases, decodeSafetensors, { accept: isOwn, check: checkBounded });
    expectClean(report, 5000);
    // Flips in the header are mostly caught, flips in the data section give other numbers.
    expect(report.rejected).toBeGreaterThan(cases.length / 4);
    expect(report.parsed).toBeGreaterThan(0);
    const layout = await fuzz(cases, readSafetensorsLayout, { accept: isOwn });
    expectClean(layout, 5000);
  });

  it('rejects random bytes', async () => {
    const cases = Array.from({ length: 200 }, (_, k) => ({
      label: `random ${k}`,
      bytes: randomBytes(1 + (k % 64) * 7, 100 + k),
    }));
    // Half of them with a plausible header length, so the JSON parser sees garbage too.
    for (const c of cases.slice(0, 100)) {
      if (c.bytes.length >= 8) new DataView(c.bytes.buffer).setBigUint64(0, BigInt(c.bytes.length - 8), true);
    }
    const report = await fuzz(cases, decodeSafetensors, { accept: isOwn });
    expectClean(report, 2000);
    expect(report.rejected).toBe(cases.length);
  });

  it('rejects oversized header lengths before reading or allocating', async () => {
    const lengths = [2n ** 64n - 1n, 2n ** 63n, 2n ** 53n + 1n, 2n ** 40n, 100_000_001n, 50_000_000n, 1000n];
    for (const n of lengths) {
      const bytes = valid.slice();
      new DataView(bytes.buffer).setBigUint64(0, n, true);
      await expectRejectedCheaply(bytes, n > 100_000_000n ? /implausibly large/ : /truncated: header claims/);
    }
  });

  it('rejects huge declared shapes in a tiny file before allocating', async () => {
    const data = new Uint8Array(16);
    const huge: Array<[unknown, unknown, RegExp]> = [
      // 1 TiB of float32 that is not there.
      [[2 ** 20, 2 ** 18], [0, 2 ** 40], /truncated: tensor "w" ends at data byte 1099511627776/],
      // 512 MiB: small enough to be allocated by a parser that trusted it (the memory check would see it).
      [[2 ** 27], [0, 2 ** 29], /truncated/],
      // Element counts beyond 2^53 and overflowing the offsets.
      [[2 ** 30, 2 ** 30, 2 ** 30], [0, 16], /more than 2\^53/],
      [[2 ** 52], [0, 2 ** 53 - 1], /declares more than 2\^53 bytes/],
      [[2 ** 40], [0, 16], /needs 4398046511104 bytes but data_offsets span 16/],
      [[4], [2 ** 53, 2 ** 53 + 16], /invalid data_offsets/],
      [[1e300], [0, 16], /invalid shape/],
      [[Infinity], [0, 16], /invalid shape/], // JSON.stringify writes null
      [[4.5], [0, 16], /invalid shape/],
      [[-4], [0, 16], /invalid shape/],
      [['4'], [0, 16], /invalid shape/],
      [4, [0, 16], /invalid shape/],
      [[4], [0, 16.5], /invalid data_offsets/],
      [[4], [0], /invalid data_offsets/],
      [[4], [0, 8, 16], /invalid data_offsets/],
      [[4], { 0: 0, 1: 16 }, /invalid data_offsets/],
    ];
    for (const [shape, offsets, pattern] of huge) {
      await expectRejectedCheaply(rawSafetensors({ w: { dtype: 'F32', shape, data_offsets: offsets } }, data), pattern);
    }
  });

  it('names unknown and unsupported dtypes', async () => {
    const data = new Uint8Array(16);
    for (const dtype of ['f32', 'F32 ', '', 'XYZ', '__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      await expectRejectedCheaply(
        rawSafetensors({ w: { dtype, shape: [4], data_offsets: [0, 16] } }, data),
        /unknown dtype/,
      );
    }
    for (const dtype of [4, null, ['F32'], { F32: 1 }]) {
      await expectRejectedCheaply(
        rawSafetensors({ w: { dtype, shape: [4], data_offsets: [0, 16] } }, data),
        /no dtype/,
      );
    }
    // Valid at the layout level, not decoded as floats.
    for (const [dtype, n] of [
      ['I64', 2],
      ['U8', 16],
      ['F64', 2],
      ['BOOL', 16],
    ] as const) {
      const file = rawSafetensors({ w: { dtype, shape: [n], data_offsets: [0, 16] } }, data);
      expect(readSafetensorsLayout(file).tensors[0]).toMatchObject({ name: 'w', dtype, shape: [n] });
      await expectRejectedCheaply(file, new RegExp(`unsupported dtype ${dtype}`), [decodeSafetensors]);
    }
  });

  it('rejects garbage JSON headers with a SafetensorsError', async () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const headers: unknown[] = [
      '',
      ' ',
      'null',
      'true',
      '42',
      '"text"',
      '[]',
      deep,
      '{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}',
      '{"a": 1e999}',
      '{"a": NaN}',
      "{'a': 1}",
      '{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}\u0000',
      { a: null },
      { a: [] },
      { a: 'F32' },
      { a: { dtype: 'F32', shape: [4] } },
      { a: { dtype: 'F32', data_offsets: [0, 16] } },
      { __metadata__: 'text' },
      { __metadata__: [] },
      { __metadata__: null },
      { __metadata__: { step: 12 } },
      { __metadata__: { nested: { a: 'b' } } },
      { ['__proto__']: { dtype: 'F32', shape: [5], data_offsets: [0, 16] } },
    ];
    for (const h of headers) {
      const r = await rejection(() => decodeSafetensors(rawSafetensors(h, new Uint8Array(16))));
      expect(r.error, JSON.stringify(h).slice(0, 80)).toBeInstanceOf(SafetensorsError);
      expect(r.ms).toBeLessThan(1000);
    }
    // Invalid UTF-8 in the header.
    const bad = rawSafetensors('{"a":"\u00e9"}');
    bad[8 + 6] = 0xff;
    await expectRejectedCheaply(bad, /not valid UTF-8 JSON/);
  });

  it('round-trips any dtype through the raw layer', () => {
    const bytes = encodeRawSafetensors(
      [
        { name: 'photo', dtype: 'U8', shape: [2, 1, 4], bytes: Uint8Array.from({ length: 8 }, (_, i) => i) },
        { name: 'ids', dtype: 'I64', shape: [1], bytes: new Uint8Array(8).fill(7) },
      ],
      { a: 'b' },
    );
    const layout = readSafetensorsLayout(bytes);
    expect(layout.metadata).toEqual({ a: 'b' });
    expect(layout.tensors.map((t) => [t.name, t.dtype, t.shape, t.begin, t.end])).toEqual([
      ['photo', 'U8', [2, 1, 4], 0, 8],
      ['ids', 'I64', [1], 8, 16],
    ]);
    expect(Array.from(layout.data.subarray(0, 8))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(() => encodeRawSafetensors([{ name: 'x', dtype: 'U8', shape: [3], bytes: new Uint8Array(4) }])).toThrow(
      /has 4 bytes but U8 \[3\] needs 3/,
    );
    expect(() => encodeRawSafetensors([{ name: 'x', dtype: 'Q4', shape: [1], bytes: new Uint8Array(1) }])).toThrow(
      /unknown dtype Q4/,
    );
  });
});
