import { afterAll, describe, expect, it } from 'vitest';
import { Engine } from '../gpu/engine';
import { GpuOutOfMemoryError } from '../gpu/errors';
import { nodeContext } from '../gpu/node';
import { bucketSize } from '../gpu/pool';
import { add, scale } from '../ops/elementwise';
import { DeviceMemoryLimit } from './memoryLimit';

const MiB = 1 << 20;
const engines: Engine[] = [];
afterAll(() => engines.forEach((e) => e.destroy()));

async function limitedEngine(limit: number | null): Promise<{ engine: Engine; memory: DeviceMemoryLimit }> {
  const ctx = await nodeContext();
  const memory = new DeviceMemoryLimit(ctx.device, limit);
  const engine = new Engine(ctx);
  engines.push(engine);
  return { engine, memory };
}

describe('DeviceMemoryLimit (the out-of-memory test hook)', () => {
  it('makes a pool allocation past the limit fail as a real one does: GpuOutOfMemoryError at the next check', async () => {
    const { engine, memory } = await limitedEngine(MiB);
    const a = engine.fromArray([1000], new Float32Array(1000).fill(3), 'a');
    await engine.sync();
    expect(memory.stats().usedBytes).toBe(bucketSize(4000));
    // 1 MiB more would pass the limit: creating the tensor does not throw (WebGPU reports errors later)…
    const big = engine.empty([250_000], 'conv2d');
    expect(memory.stats().usedBytes).toBe(bucketSize(4000));
    // …the engine's check does, with the engine's own error type and the size in the message.
    const failure = engine.sync();
    await expect(failure).rejects.toBeInstanceOf(GpuOutOfMemoryError);
    await expect(failure).rejects.toThrow(/The GPU ran out of memory: a 1 MiB buffer for conv2d does not fit/);
    big.release();
    // What was allocated before is intact.
    expect([...(await a.read()).slice(0, 3)]).toEqual([3, 3, 3]);
    a.release();
  });

  it('reports an allocation outside an error scope as an uncaptured out-of-memory error', async () => {
    const { engine, memory } = await limitedEngine(64 * 1024);
    engine.device.createBuffer({ size: 128 * 1024, usage: GPUBufferUsage.STORAGE, label: 'raw' });
    await expect(engine.sync()).rejects.toThrow(GpuOutOfMemoryError);
    expect(memory.stats().usedBytes).toBe(0);
  });

  it('reports the out-of-memory error to every read of the failed work, not the validation errors it causes', async () => {
    const { engine } = await limitedEngine(MiB);
    const a = engine.fromArray([1000], new Float32Array(1000).fill(2), 'a');
    await engine.sync();
    // Kernels run on the invalid buffer, so the submits raise validation errors besides the out-of-memory one, and
    // several reads wait at once, as a render's four outputs do.
    const big = engine.empty([300_000], 'too big');
    const outputs = [scale(a, 2), add(a, a), scale(big, 3), scale(a, 4)];
    const reads = await Promise.allSettled(outputs.map((t) => t.read()));
    expect(reads.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    for (const r of reads) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(GpuOutOfMemoryError);
    // A check with no new work still concerns the failed work.
    await expect(engine.sync()).rejects.toBeInstanceOf(GpuOutOfMemoryError);
    // Work submitted after the error was reported is checked on its own: the pool no longer lends the invalid
    // buffer.
    for (const t of [...outputs, big]) t.release();
    const again = scale(a, 3);
    expect([...(await again.read()).slice(0, 2)]).toEqual([6, 6]);
    await engine.sync();
    again.release();
    a.release();
  });

  it('works again once the limit is lifted, and counts freed buffers', async () => {
    const { engine, memory } = await limitedEngine(MiB);
    engine.empty([300_000], 'too big').release();
    await expect(engine.sync()).rejects.toThrow(GpuOutOfMemoryError);
    memory.setLimit(null);
    engine.pool.trim(); // the unusable buffer the pool kept goes, as the worker's device replacement does
    const t = engine.fromArray([300_000], new Float32Array(300_000).fill(1.5), 'fits now');
    const back = await t.read();
    expect(back[299_999]).toBe(1.5);
    expect(memory.stats().usedBytes).toBeGreaterThanOrEqual(1_200_000);
    t.release();
    engine.pool.trim();
    expect(memory.stats()).toMatchObject({ usedBytes: 0, limitBytes: null });
    expect(memory.stats().peakBytes).toBeGreaterThanOrEqual(1_200_000);
  });
});
