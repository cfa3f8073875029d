/** A pool of storage buffers bucketed by size, with byte accounting that tests and benchmarks read. */
import { BufferUsage } from './flags';
import { EngineError } from './errors';
import { formatBytes } from './formatBytes';

export const STORAGE_USAGE = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;

/** Rounds a request up to a bucket: powers of two split into quarters, so waste stays under 25%. */
export function bucketSize(bytes: number): number {
  const n = Math.max(256, Math.ceil(bytes / 16) * 16);
  const p = 2 ** Math.floor(Math.log2(n));
  if (p === n) return n;
  const quarter = p / 4;
  return p + Math.ceil((n - p) / quarter) * quarter;
}

export interface PoolStats {
  /** Bytes of buffers currently handed out. */
  liveBytes: number;
  /** Highest liveBytes seen since the last resetPeak(). */
  peakLiveBytes: number;
  /** Bytes of all buffers the pool owns on the GPU (live and free). */
  allocatedBytes: number;
  /** Highest allocatedBytes seen since the last resetPeak(). */
  peakAllocatedBytes: number;
  liveBuffers: number;
  freeBuffers: number;
}

export class BufferPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private readonly sizes = new WeakMap<GPUBuffer, number>();
  /** Buffers whose allocation failed (out of memory): destroyed when released, never lent again. */
  private readonly unusable = new WeakSet<GPUBuffer>();
  private liveBytes = 0;
  private peakLive = 0;
  private allocated = 0;
  private peakAllocated = 0;
  private liveCount = 0;
  private freeCount = 0;
  /** Counts trimUnused() calls; each buffer remembers the generation it was last handed out in. */
  private generation = 0;
  /** Whether releaseStale() already ran in this generation (after it, every free buffer is of this generation). */
  private staleSwept = true;
  private readonly lastUse = new WeakMap<GPUBuffer, number>();

  constructor(
    private readonly device: GPUDevice,
    private readonly maxBindingBytes: number,
    private readonly maxBufferBytes: number,
    /** Wraps buffer creation (the engine uses it to watch for out-of-memory errors). */
    private readonly allocate: (create: () => GPUBuffer) => GPUBuffer = (create) => create(),
    /**
     * Destroys a buffer the pool lets go of. A free buffer may still be bound by commands encoded but not yet
     * submitted, so the engine defers the destroy until its next submit.
     */
    private readonly retire: (buf: GPUBuffer) => void = (buf) => buf.destroy(),
  ) {}

  acquire(bytes: number, op: string): GPUBuffer {
    const size = bucketSize(bytes);
    const limit = Math.min(this.maxBindingBytes, this.maxBufferBytes);
    if (bytes > limit) {
      throw new EngineError(
        op,
        `needs a buffer of ${formatBytes(bytes)} (${bytes} bytes), above this device's limit of ${formatBytes(limit)} per buffer binding`,
      );
    }
    const list = this.free.get(size);
    let buf = list?.pop();
    if (buf) {
      this.freeCount--;
    } else {
      this.releaseStale();
      buf = this.allocate(() =>
        this.device.createBuffer({ size: Math.min(size, limit), usage: STORAGE_USAGE, label: op }),
      );
      this.sizes.set(buf, size);
      this.allocated += size;
      this.peakAllocated = Math.max(this.peakAllocated, this.allocated);
    }
    this.lastUse.set(buf, this.generation);
    this.liveBytes += size;
    this.liveCount++;
    this.peakLive = Math.max(this.peakLive, this.liveBytes);
    return buf;
  }

  release(buf: GPUBuffer): void {
    const size = this.sizes.get(buf);
    if (size === undefined) throw new Error('BufferPool.release: buffer does not belong to this pool');
    this.liveBytes -= size;
    this.liveCount--;
    if (this.unusable.has(buf)) {
      this.allocated -= size;
      this.retire(buf);
      return;
    }
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(buf);
    this.freeCount++;
  }

  /**
   * Marks a buffer whose allocation failed: the device handed back an invalid buffer, which must not be lent
   * again. A free one is destroyed now, a live one when it is released.
   */
  markUnusable(buf: GPUBuffer): void {
    const size = this.sizes.get(buf);
    if (size === undefined) return;
    const list = this.free.get(size);
    const i = list?.indexOf(buf) ?? -1;
    if (list && i >= 0) {
      list.splice(i, 1);
      this.freeCount--;
      this.allocated -= size;
      this.retire(buf);
    } else {
      this.unusable.add(buf);
    }
  }

  /**
   * Marks the end of one unit of repeated work (a training step). Free buffers that the next unit does not reuse
   * before it needs a new buffer are destroyed then (releaseStale): crop sizes change from step to step, and the
   * pool's memory should follow the work instead of holding every size it ever saw.
   */
  trimUnused(): void {
    this.generation++;
    this.staleSwept = false;
  }

  /** At the first miss of a generation: destroys the free buffers not handed out in this generation. */
  private releaseStale(): void {
    if (this.staleSwept) return;
    this.staleSwept = true;
    for (const [size, list] of this.free) {
      const keep = list.filter((b) => this.lastUse.get(b) === this.generation);
      for (const b of list) {
        if (this.lastUse.get(b) === this.generation) continue;
        this.allocated -= size;
        this.freeCount--;
        this.retire(b);
      }
      if (keep.length > 0) this.free.set(size, keep);
      else this.free.delete(size);
    }
  }

  /** Destroys every free buffer (live ones stay). */
  trim(): void {
    for (const list of this.free.values()) {
      for (const b of list) {
        this.allocated -= this.sizes.get(b) ?? 0;
        this.retire(b);
      }
    }
    this.free.clear();
    this.freeCount = 0;
  }

  resetPeak(): void {
    this.peakLive = this.liveBytes;
    this.peakAllocated = this.allocated;
  }

  stats(): PoolStats {
    return {
      liveBytes: this.liveBytes,
      peakLiveBytes: this.peakLive,
      allocatedBytes: this.allocated,
      peakAllocatedBytes: this.peakAllocated,
      liveBuffers: this.liveCount,
      freeBuffers: this.freeCount,
    };
  }
}
