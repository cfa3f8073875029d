import { describe, expect, it } from 'vitest';
import { rand, testEngine } from '../../test/gpu';
import type { Engine } from '../gpu/engine';
import { loadCheckpoint, saveCheckpoint } from './checkpoint';
import { Madgrad } from './madgrad';
import { createParameter, type Parameter } from './parameter';
import { decodeSafetensors, encodeSafetensors } from './safetensors';

const SHAPES: Array<[string, number[]]> = [
  ['levels.0.down1.conv.weight', [8, 3, 3, 3]],
  ['levels.0.down1.conv.bias', [8]],
  ['head.conv.weight', [4, 8, 1, 1]],
];

function makeParams(e: Engine, seed: number): Parameter[] {
  return SHAPES.map(([n, s], i) =>
    createParameter(
      e,
      n,
      s,
      rand(
        s.reduce((a, b) => a * b, 1),
        seed + i,
      ),
    ),
  );
}

async function bits(ps: Parameter[]): Promise<Uint32Array[]> {
  return Promise.all(ps.map(async (p) => new Uint32Array((await p.value.read()).buffer)));
}

describe('checkpoint', () => {
  it('round-trips parameters and optimizer state bit for bit', async () => {
    const e = await testEngine();
    const params = makeParams(e, 1);
    const opt = new Madgrad(params, { weightDecay: 0.01 });
    for (const p of params) p.value.grad = e.fromArray(p.value.shape, rand(p.value.size, 7)).keep();
    opt.step();
    opt.step(0.001);

    const bytes = await saveCheckpoint(params, {
      optimizerState: opt.state(),
      metadata: { step: String(opt.stepCount) },
    });
    const file = decodeSafetensors(bytes);
    expect([...file.tensors.keys()]).toEqual([
      ...SHAPES.map(([n]) => n),
      ...SHAPES.flatMap(([n]) => [`optim.${n}.s`, `optim.${n}.v`, `optim.${n}.x0`]),
    ]);

    const params2 = makeParams(e, 100);
    const opt2 = new Madgrad(params2, { weightDecay: 0.01 });
    const meta = await loadCheckpoint(bytes, params2, opt2.state());
    opt2.stepCount = Number(meta.step);
    expect(meta).toEqual({ step: '2' });
    expect(await bits(params2)).toEqual(await bits(params));
    expect(await bits(opt2.state())).toEqual(await bits(opt.state()));

    // Parameters alone load from a full checkpoint (optimizer tensors ignored).
    const params3 = makeParams(e, 200);
    await loadCheckpoint(bytes, params3);
    expect(await bits(params3)).toEqual(await bits(params));

    for (const p of [...params, ...params2, ...params3]) {
      p.value.grad?.release();
      p.value.release();
    }
    opt.dispose();
    opt2.dispose();
  });

  it('names the first mismatch and uploads nothing on error', async () => {
    const e = await testEngine();
    const params = makeParams(e, 1);
    const bytes = await saveCheckpoint(params);
    const target = makeParams(e, 50);
    const before = await bits(target);

    const wrongShape = makeParams(e, 2);
    const ws = [...wrongShape.slice(0, 2), createParameter(e, 'head.conv.weight', [4, 8], rand(32, 3))];
    await expect(loadCheckpoint(bytes, ws)).rejects.toThrow(
      /"head.conv.weight" has shape \[4,8,1,1\] in the file but \[4,8\] here/,
    );
    const extra = [...target, createParameter(e, 'extra.bias', [2], rand(2, 4))];
    await expect(loadCheckpoint(bytes, extra)).rejects.toThrow(/no tensor "extra.bias"/);
    await expect(loadCheckpoint(bytes, target.slice(1))).rejects.toThrow(
      /unexpected tensor "levels.0.down1.conv.weight"/,
    );
    const opt = new Madgrad(target);
    await expect(loadCheckpoint(bytes, target, opt.state())).rejects.toThrow(
      /no tensor "optim.levels.0.down1.conv.weight.s"/,
    );
    await expect(loadCheckpoint(encodeSafetensors([]).subarray(0, 4), target)).rejects.toThrow(/truncated/);
    expect(await bits(target)).toEqual(before);

    opt.dispose();
    for (const p of [...params, ...target, ...wrongShape, ws[2], extra[extra.length - 1]]) p.value.release();
  });
});
