import { describe, expect, it } from 'vitest';
import { testEngine } from '../../test/gpu';
import { EngineError } from './errors';
import { scale } from '../ops/elementwise';
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

  it('lets go of the sizes a unit of work stopped using, at its first new allocation', async () => {
    const e = await testEngine();
    const pool = e.pool;
    pool.trim();
    const base = pool.stats().allocatedBytes;
    pool.release(pool.acquire(40_000, 'step 1'));
    pool.trimUnused();
    // The next unit reuses that size: nothing new, nothing let go.
    pool.release(pool.acquire(40_000, 'step 2'));
    expect(pool.stats().allocatedBytes).toBe(base + bucketSize(40_000));
    pool.trimUnused();
    // The next one needs another size only: its first miss destroys the buffer it did not reuse.
    const other = pool.acquire(90_000, 'step 3');
    expect(pool.stats()).toMatchObject({ allocatedBytes: base + bucketSize(90_000), freeBuffers: 0 });
    // Buffers handed out in the current unit stay, even when free.
    pool.release(other);
    pool.release(pool.acquire(12_000, 'step 3, later'));
    expect(pool.stats().allocatedBytes).toBe(base + bucketSize(90_000) + bucketSize(12_000));
    pool.trim();
  });

  it('defers destroying a let-go buffer that commands not yet submitted still bind', async () => {
    const e = await testEngine();
    e.pool.trim();
    const x = e.fromArray([10_000], new Float32Array(10_000).fill(1), 'x');
    await e.sync();
    e.pool.trimUnused();
    const y = scale(x, 2); // encoded, not submitted
    x.release();
    e.pool.trimUnused();
    const z = e.empty([50_000], 'new size'); // a miss: x's buffer is let go while the scale still binds it
    expect([...(await y.read()).slice(0, 2)]).toEqual([2, 2]);
    await e.sync();
    for (const t of [y, z]) t.release();
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
