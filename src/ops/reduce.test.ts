import { describe, expect, it } from 'vitest';
import { gradCheck, rand, testEngine } from '../../test/gpu';
import { mean, reduceGroups, sum } from './reduce';

describe('sum and mean', () => {
  it('reduce tensors of many sizes to a [1] tensor', async () => {
    const e = await testEngine();
    // 1, a partial workgroup, several workgroups, and enough for many stage-1 groups with a ragged tail.
    for (const n of [1, 7, 256, 1000, 4097, 300_001]) {
      const x = rand(n, n, -1, 2);
      let want = 0;
      for (const v of x) want += v;
      const t = e.fromArray([n], x);
      const s = sum(t);
      expect(s.shape).toEqual([1]);
      const [sv, mv] = [await s.item(), await mean(t).item()];
      expect(Math.abs(sv - want)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)) + 1e-6 * Math.sqrt(n));
      expect(Math.abs(mv - want / n)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want / n)) + 1e-6);
    }
    expect(reduceGroups(300_001)).toBeGreaterThan(1);
    expect(reduceGroups(50_000_000)).toBe(1024);
  });

  it('have backward passes that broadcast', async () => {
    const e = await testEngine();
    const input = [{ shape: [2, 3, 5, 7], data: rand(210, 5) }];
    for (const [name, f] of [
      ['sum', sum],
      ['mean', mean],
    ] as const) {
      const r = await gradCheck(e, f, input);
      expect(r.worst, name).toBeLessThan(1e-2);
    }
  });
});
