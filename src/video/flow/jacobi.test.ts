import { describe, expect, it } from 'vitest';
import { planes, refJacobiStep, refStructureTensor } from '../../../test/flowReference';
import { runOnGpu } from '../../../test/flowScenes';
import { maxAbs, maxAbsDiff, rand, testEngine } from '../../../test/gpu';
import { jacobiStep } from './jacobi';

describe('jacobiStep', () => {
  const [pairs, h, w] = [2, 6, 7];
  // A real (positive semi-definite) motion tensor from random images.
  const tensor = refStructureTensor(
    planes(2, 1, h, w, rand(2 * h * w, 11, 0, 1)),
    planes(pairs, 1, h, w, rand(pairs * h * w, 12, 0, 1)),
    1,
  );
  const start = planes(pairs, 2, h, w, rand(pairs * 2 * h * w, 13, -2, 2));
  const current = planes(pairs, 2, h, w, rand(pairs * 2 * h * w, 14, -2, 2));

  it('solves the 2×2 system of one iteration like the reference', async () => {
    const e = await testEngine();
    for (const lambda of [0.01, 0.5]) {
      const out = await runOnGpu(e, [tensor, start, current], (j, s, c) => jacobiStep(j, s, c, lambda));
      const ref = refJacobiStep(tensor, start, current, lambda);
      expect(maxAbsDiff(out.data, ref.data) / maxAbs(ref.data)).toBeLessThan(1e-5);
    }
  });

  it('keeps a constant flow when the data term is satisfied by it', async () => {
    const e = await testEngine();
    // J13 = −(J11 u + J12 v), J23 = −(J12 u + J22 v): the constant flow (u, v) solves every pixel's system.
    const [u, v] = [0.7, -1.2];
    const j = planes(1, 5, 4, 4, rand(5 * 16, 15, 0, 0.1));
    for (let k = 0; k < 16; k++) {
      const [j11, j22] = [j.data[k], j.data[32 + k]];
      const j12 = 0.5 * Math.sqrt(j11 * j22);
      j.data[16 + k] = j12;
      j.data[48 + k] = -(j11 * u + j12 * v);
      j.data[64 + k] = -(j12 * u + j22 * v);
    }
    const flat = planes(1, 2, 4, 4, [...new Array(16).fill(u), ...new Array(16).fill(v)]);
    const zeroStart = planes(1, 2, 4, 4);
    const out = await runOnGpu(e, [j, zeroStart, flat], (a, b, c) => jacobiStep(a, b, c, 0.01));
    expect(maxAbsDiff(out.data, flat.data)).toBeLessThan(1e-5);
  });
});
