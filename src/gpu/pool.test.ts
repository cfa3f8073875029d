import { describe, expect, it } from 'vitest';
import { testEngine } from '../../test/gpu';
import { EngineError } from './errors';
import { bucketSize } from './pool';

describe('BufferPool', () => {
  it('buckets sizes with less than 25% waste', () => {
    for (const n of [1, 255, 256, 1000, 4096, 5000, 123_457, 9_999_999]) {
      const b = bucketSize(n);
      expect(b).toBeGreaterThanOrEqual(n);
      expect(b).toBeLessThanOrEqual(Math.max(256, 1.25 * n + 16));
    }
  });

  it('reuses released buffers and accounts live and peak bytes', async () => {
    const e = await testEngine();
    const start = e.pool.stats();
    const a = e.empty([1000], 'a');
    const allocated = e.pool.stats().allocatedBytes;
    a.release();
    const b = e.empty([1000], 'b');
    expect(e.pool.stats().allocatedBytes).toBe(allocated); // same bucket, no new GPU buffer
    expect(e.pool.stats().liveBytes).toBe(start.liveBytes + bucketSize(4000));
    b.release();
    expect(e.pool.stats().liveBytes).toBe(start.liveBytes);
    expect(e.pool.stats().peakLiveBytes).toBeGreaterThanOrEqual(start.liveBytes + bucketSize(4000));
  });

  it('never lends again a buffer marked unusable (its allocation failed), free or live', async () => {
    const e = await testEngine();
    const pool = e.pool;
    const before = pool.stats();
    const free = pool.acquire(5000, 'free one');
    pool.release(free);
    pool.markUnusable(free); // the out-of-memory report arrives after the release
    expect(pool.stats()).toMatchObject({ freeBuffers: before.freeBuffers, allocatedBytes: before.allocatedBytes });
    const live = pool.acquire(5000, 'live one');
    expect(live).not.toBe(free);
    pool.markUnusable(live);
    pool.release(live);
    const next = pool.acquire(5000, 'next');
    expect(next).not.toBe(live);
    pool.release(next);
    expect(pool.stats().liveBytes).toBe(before.liveBytes);
    expect(pool.stats().allocatedBytes).toBe(before.allocatedBytes + bucketSize(5000));
  });

  it('refuses tensors beyond the device limit with an error naming the op, shape and sizes', async () => {
    const e = await testEngine();
    const limit = Number(e.limits.maxStorageBufferBindingSize);
    const n = Math.ceil(limit / 4) + 1024;
    expect(() => e.empty([n], 'conv2d')).toThrow(EngineError);
    expect(() => e.empty([n], 'conv2d')).toThrow(
      new RegExp(`^conv2d: tensor \\[${n}\\]: needs a buffer of .* above this device's limit`),
    );
    expect(() => e.empty([2, -1], 'x')).toThrow(/invalid shape/);
  });
});
