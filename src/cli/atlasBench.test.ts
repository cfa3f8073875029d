/**
 * The atlas benchmark's memory-only run (no kernels) reports the flows' and the fit's peaks, the fit's above what
 * it holds between iterations, and leaves the engine running kernels again.
 */
import { describe, expect, it } from 'vitest';
import { testEngine } from '../../test/gpu';
import { memoryOnlyRun } from './atlasBench';

describe('bench atlas: the memory-only run', () => {
  it('reports the peaks of the flows and of the fit', async () => {
    const engine = await testEngine();
    const m = await memoryOnlyRun(engine, { width: 48, height: 32 }, 4, 0);
    expect(m.flowsPeakLiveBytes).toBeGreaterThan(3 * 2 * 48 * 32 * 4);
    expect(m.fitPeakLiveBytes).toBeGreaterThan(m.persistentBytes);
    expect(m.fitPeakAllocatedBytes).toBeGreaterThanOrEqual(m.fitPeakLiveBytes);
    expect(engine.skipKernels).toBe(false);
  });
});
