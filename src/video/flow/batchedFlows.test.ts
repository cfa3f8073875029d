/**
 * A clip's flows in batches of pairs are the flows of one batch (each pair is computed on its own), and the batch
 * size keeps computeFlows' transient memory bounded at large sizes.
 */
import { describe, expect, it } from 'vitest';
import { testEngine } from '../../../test/gpu';
import { syntheticClip } from '../../../test/syntheticClip';
import { clipFlows } from '../atlas/clipData';
import type { VideoClip } from '../media/videoClip';
import { flowPairsPerBatch } from './batchedFlows';

describe('flows in batches of pairs', () => {
  it('computes the same flows in batches of pairs as in one batch', async () => {
    const engine = await testEngine();
    const s = syntheticClip({ frames: 6 });
    const clip = { width: s.width, height: s.height, frames: s.frames } as VideoClip;
    const read = async (pairsPerBatch: number) => {
      const field = clipFlows(engine, clip, pairsPerBatch);
      const out = await Promise.all(Object.values(field).map((t) => t.read()));
      for (const t of Object.values(field)) t.release();
      return out;
    };
    const whole = await read(5);
    expect(whole[0].some((v: number) => v !== 0)).toBe(true);
    expect(await read(2)).toEqual(whole); // pairs 0–1, 2–3, 4
  });

  it('batches 69 pairs at 768×432 and keeps blackswan at 384×216 in one', () => {
    expect(flowPairsPerBatch(768, 432)).toBe(12); // 512 MiB at 128 B per pixel and pair
    expect(flowPairsPerBatch(768, 432, 69)).toBe(12); // 6 batches
    expect(flowPairsPerBatch(768, 432, 26)).toBe(9); // 3 batches of 9, 9, 8 instead of 12, 12, 2
    expect(flowPairsPerBatch(384, 216, 49)).toBe(49); // blackswan: one batch
  });
});
