import { describe, expect, it } from 'vitest';
import { bitFlips, byteOverwrites, fuzz, rawSafetensors, truncations } from '../../test/fuzz';
import type { Engine } from '../gpu/engine';
import type { Tensor } from '../gpu/tensor';
import { checkCheckpointTensors, CheckpointError, loadCheckpoint } from './checkpoint';
import type { Parameter } from './parameter';
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from './safetensors';

const SHAPES: Array<[string, number[]]> = [
  ['levels.0.down1.conv.weight', [4, 3, 3, 3]],
  ['levels.0.down1.conv.bias', [4]],
  ['head.conv.weight', [4, 4, 1, 1]],
];
const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Parameters whose engine only records uploads: loadCheckpoint's checks run without a GPU. */
function fakeParams(): { params: Parameter[]; uploads: () => number } {
  let uploads = 0;
  const engine = {
    upload: () => void uploads++,
    sync: () => Promise.resolve(),
  } as unknown as Engine;
  const params = SHAPES.map(([name, shape]) => ({ name, value: { shape, engine, buffer: {} } as unknown as Tensor }));
  return { params, uploads: () => uploads };
}

function validCheckpoint(): Uint8Array {
  return encodeSafetensors(
    SHAPES.map(([name, shape], k) => ({
      name,
      shape,
      data: Float32Array.from({ length: size(shape) }, (_, i) => Math.sin(i + k)),
    })),
    { step: '3' },
  );
}

const isOwn = (e: unknown) => e instanceof SafetensorsError || e instanceof CheckpointError;

describe('loadCheckpoint fuzz', () => {
  const valid = validCheckpoint();

  it('loads the valid file', async () => {
    const { params, uploads } = fakeParams();
    expect(await loadCheckpoint(valid, params)).toEqual({ step: '3' });
    expect(uploads()).toBe(3);
  });

  it('rejects truncated, bit-flipped and overwritten files with typed errors and uploads nothing then', async () => {
    const cases = [...truncations(valid, 400), ...bitFlips(valid, 1500, 11), ...byteOverwrites(valid, 500, 12)];
    let uploadsOnError = 0;
    const report = await fuzz(
      cases,
      async (bytes) => {
        const { params, uploads } = fakeParams();
        try {
          return await loadCheckpoint(bytes, params);
        } catch (e) {
          uploadsOnError += uploads();
          throw e;
        }
      },
      { accept: isOwn },
    );
    expect(report.failures).toEqual([]);
    expect(uploadsOnError).toBe(0);
    expect(report.totalMs).toBeLessThan(5000);
    expect(report.rejected).toBeGreaterThan(400);
  });

  it('names wrong names, shapes, dtypes and non-finite values', async () => {
    const tensor = (name: string, shape: number[], fill = 0.5) => ({
      name,
      shape,
      data: new Float32Array(size(shape)).fill(fill),
    });
    const good = SHAPES.map(([n, s]) => tensor(n, s));
    const cases: Array<[Uint8Array, RegExp]> = [
      [encodeSafetensors(good.slice(1)), /no tensor "levels.0.down1.conv.weight"/],
      [encodeSafetensors([...good, tensor('extra', [1])]), /unexpected tensor "extra"/],
      [
        encodeSafetensors([tensor(SHAPES[0][0], [4, 27]), ...good.slice(1)]),
        /shape \[4,27\] in the file but \[4,3,3,3\]/,
      ],
      [encodeSafetensors([...good.slice(0, 2), tensor(SHAPES[2][0], [4, 4])]), /shape \[4,4\] in the file/],
      [encodeSafetensors([tensor(SHAPES[1][0], [], 1), good[0], good[2]]), /shape \[\] in the file but \[4\]/],
      [encodeSafetensors([good[0], tensor(SHAPES[1][0], [4], NaN), good[2]]), /"levels.0.down1.conv.bias" holds NaN/],
      [
        encodeSafetensors([good[0], good[1], tensor(SHAPES[2][0], [4, 4, 1, 1], -Infinity)]),
        /holds -Infinity at index 0/,
      ],
      [
        rawSafetensors({ w: { dtype: 'I32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)),
        /unsupported dtype I32/,
      ],
    ];
    for (const [bytes, pattern] of cases) {
      const { params, uploads } = fakeParams();
      await expect(loadCheckpoint(bytes, params)).rejects.toThrow(pattern);
      expect(uploads()).toBe(0);
    }
  });

  it('loads F16 and BF16 files (converted to float32)', async () => {
    const data = new Uint8Array(2 * 4);
    new DataView(data.buffer).setUint16(0, 0x3c00, true); // 1 in F16
    const file = rawSafetensors({ b: { dtype: 'F16', shape: [4], data_offsets: [0, 8] } }, data);
    const tensors = decodeSafetensors(file).tensors;
    expect(() => checkCheckpointTensors(tensors, [{ name: 'b', shape: [4] }])).not.toThrow();
    expect(Array.from(tensors.get('b')!.data)).toEqual([1, 0, 0, 0]);
  });
});
