/**
 * The engine: one GPUDevice, its buffer pool and pipeline cache, the open command encoder, tensor
 * scopes and the active tape. Kernels are encoded into one command encoder and submitted together;
 * only reads (and a full uniform arena) flush.
 */
import type { GpuContext } from './device';
import { DeviceLostError, EngineError, GpuOutOfMemoryError } from './errors';
import { Params } from './params';
import { BufferUsage, MapMode } from './flags';
import { PipelineCache } from './pipelines';
import { BufferPool } from './pool';
import type { Tape } from './tape';
import { Tensor } from './tensor';

const UNIFORM_ARENA_BYTES = 1 << 18;

export type Binding = Tensor | GPUBuffer;

export interface Dispatch {
  /** Kernel name, used in labels and error messages. */
  name: string;
  code: string;
  entryPoint?: string;
  params?: Params;
  /** Storage buffers the kernel only reads, bound after the uniform block (binding 1, 2, ...). */
  read?: Binding[];
  /** Storage buffers the kernel writes, bound after the read buffers. */
  write: Binding[];
  /** Workgroup counts; use grid() for 1-D launches larger than the per-dimension limit. */
  workgroups: [number, number?, number?];
}

function bufferOf(b: Binding): GPUBuffer {
  return b instanceof Tensor ? b.buffer : b;
}

export class Engine {
  readonly device: GPUDevice;
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  readonly limits: GPUSupportedLimits;
  readonly hasF16: boolean;
  readonly hasTimestamps: boolean;

  /** The tape ops record onto, or null (no-grad). */
  activeTape: Tape | null = null;

  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly uniformArena: GPUBuffer;
  private readonly uniformStaging = new Uint8Array(UNIFORM_ARENA_BYTES);
  private uniformUsed = 0;
  private readonly uniformAlign: number;
  private readonly pendingDestroy: GPUBuffer[] = [];
  private readonly scopes: Set<Tensor>[] = [];
  private lostError: DeviceLostError | null = null;
  /** Settles once every out-of-memory scope pushed so far has popped (one chain: concurrent checks all wait for all). */
  private allocationsChecked: Promise<void> = Promise.resolve();
  /** An out-of-memory error no check has reported yet. */
  private unreportedOutOfMemory: GpuOutOfMemoryError | null = null;
  /**
   * The last out-of-memory error reported, and the number of submits made when it was first reported: every check
   * of work submitted until then reports it too (that work ran with the invalid buffer), and not the validation
   * errors it caused. Several reads of one render are checked concurrently, and each must say why it failed.
   */
  private reportedOutOfMemory: { error: GpuOutOfMemoryError; upToSubmit: number } | null = null;
  /** Command buffers submitted since creation. */
  private submits = 0;
  private uncaptured: GPUError | null = null;
  private readonly compileErrors: string[] = [];
  /** Kernel dispatches encoded since creation (for tests and benchmarks). */
  dispatchCount = 0;
  /**
   * Allocation-only mode (the step benchmark's `--memory-only`): run() still compiles, allocates, binds and
   * counts exactly as usual but encodes no dispatch, and reads return zeros. Tensors are created and released in
   * the same order as in a real run, so the pool's peaks are those of the real run at a fraction of the time
   * (a 512² training step takes hours on SwiftShader). Values are meaningless while it is on.
   */
  skipKernels = false;

  constructor(readonly ctx: GpuContext) {
    this.device = ctx.device;
    this.limits = ctx.device.limits;
    this.hasF16 = ctx.device.features.has('shader-f16');
    this.hasTimestamps = ctx.device.features.has('timestamp-query');
    this.pool = new BufferPool(
      this.device,
      Number(this.limits.maxStorageBufferBindingSize),
      Number(this.limits.maxBufferSize),
      (create) => this.watchAllocation(create),
      (buf) => {
        if (this.encoder) this.pendingDestroy.push(buf);
        else buf.destroy();
      },
    );
    this.pipelines = new PipelineCache(this.device, (kernel, message) => {
      this.compileErrors.push(`${kernel}: ${message}`);
    });
    this.uniformAlign = Math.max(16, Number(this.limits.minUniformBufferOffsetAlignment));
    this.uniformArena = this.device.createBuffer({
      size: UNIFORM_ARENA_BYTES,
      usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST,
      label: 'uniform-arena',
    });
    void ctx.lost.then((e) => {
      this.lostError = e;
    });
    this.device.addEventListener('uncapturederror', (ev) => {
      this.uncaptured = (ev as GPUUncapturedErrorEvent).error;
    });
  }

  // ---------------------------------------------------------------- tensors and scopes

  /** Registers a new tensor with the innermost scope (internal: called by Tensor's constructor). */
  track(t: Tensor): void {
    this.scopes[this.scopes.length - 1]?.add(t);
  }

  /** Removes a tensor from whatever scope holds it, so that scope's end does not release it. */
  untrack(t: Tensor): void {
    for (const s of this.scopes) s.delete(t);
  }

  /**
   * Runs fn; every tensor created inside and not returned is released when it returns.
   * Returned tensors (alone, in arrays or in plain objects) move to the enclosing scope.
   */
  tidy<T>(fn: () => T): T {
    const scope = new Set<Tensor>();
    this.scopes.push(scope);
    let result: T;
    try {
      result = fn();
    } finally {
      this.scopes.pop();
    }
    const kept = new Set<Tensor>();
    collectTensors(result, kept);
    for (const t of scope) {
      if (kept.has(t)) this.track(t);
      else t.release();
    }
    return result;
  }

  /** Runs fn with no tape: ops record nothing and outputs require no gradient. */
  noGrad<T>(fn: () => T): T {
    const prev = this.activeTape;
    this.activeTape = null;
    try {
      return fn();
    } finally {
      this.activeTape = prev;
    }
  }

  empty(shape: readonly number[], op = 'empty'): Tensor {
    return new Tensor(this, shape, op);
  }

  zeros(shape: readonly number[], op = 'zeros'): Tensor {
    const t = new Tensor(this, shape, op);
    this.clear(t);
    return t;
  }

  fromArray(shape: readonly number[], data: ArrayLike<number>, op = 'fromArray'): Tensor {
    const t = new Tensor(this, shape, op);
    if (data.length !== t.size) {
      t.release();
      throw new EngineError(op, `data has ${data.length} values but shape [${shape.join(',')}] needs ${t.size}`);
    }
    this.upload(t.buffer, data instanceof Float32Array ? data : Float32Array.from(data));
    return t;
  }

  // ---------------------------------------------------------------- encoding

  private getEncoder(): GPUCommandEncoder {
    this.throwIfLost();
    if (!this.encoder) this.encoder = this.device.createCommandEncoder({ label: 'engine' });
    return this.encoder;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  /** Copies data into a GPU buffer in stream order with the kernels around it. */
  upload(dst: GPUBuffer, data: ArrayBufferView, dstOffset = 0): void {
    const bytes = Math.ceil(data.byteLength / 4) * 4;
    const staging = this.device.createBuffer({
      size: Math.max(4, bytes),
      usage: BufferUsage.COPY_SRC,
      mappedAtCreation: true,
    });
    new Uint8Array(staging.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    staging.unmap();
    const enc = this.getEncoder();
    this.endPass();
    enc.copyBufferToBuffer(staging, 0, dst, dstOffset, bytes);
    this.pendingDestroy.push(staging);
  }

  /** Zero-fills a tensor or buffer range. */
  clear(b: Binding, offset = 0, size?: number): void {
    const enc = this.getEncoder();
    this.endPass();
    const buf = bufferOf(b);
    const bytes = size ?? (b instanceof Tensor ? b.byteSize : buf.size - offset);
    enc.clearBuffer(buf, offset, Math.ceil(bytes / 4) * 4);
  }

  copy(src: Binding, dst: Binding, bytes: number, srcOffset = 0, dstOffset = 0): void {
    const enc = this.getEncoder();
    this.endPass();
    enc.copyBufferToBuffer(bufferOf(src), srcOffset, bufferOf(dst), dstOffset, Math.ceil(bytes / 4) * 4);
  }

  /** Workgroup counts for n invocations of a 1-D kernel with workgroup size wg, split over x and y. */
  grid(n: number, wg: number): [number, number] {
    const groups = Math.max(1, Math.ceil(n / wg));
    const maxX = Number(this.limits.maxComputeWorkgroupsPerDimension);
    if (groups <= maxX) return [groups, 1];
    const y = Math.ceil(groups / maxX);
    return [Math.ceil(groups / y), y];
  }

  run(d: Dispatch): void {
    const reads = d.read ?? [];
    const kernel = this.pipelines.get(
      d.name,
      d.code,
      {
        uniform: !!d.params,
        storage: [...reads.map(() => 'read' as const), ...d.write.map(() => 'read_write' as const)],
      },
      d.entryPoint,
    );
    const entries: GPUBindGroupEntry[] = [];
    let binding = 0;
    if (d.params) {
      const bytes = new Uint8Array(d.params.toBytes());
      if (this.uniformUsed + bytes.byteLength > UNIFORM_ARENA_BYTES) this.flush();
      const offset = this.uniformUsed;
      this.uniformStaging.set(bytes, offset);
      this.uniformUsed = Math.ceil((offset + bytes.byteLength) / this.uniformAlign) * this.uniformAlign;
      entries.push({ binding: binding++, resource: { buffer: this.uniformArena, offset, size: bytes.byteLength } });
    }
    for (const b of [...reads, ...d.write]) entries.push({ binding: binding++, resource: { buffer: bufferOf(b) } });
    const bindGroup = this.device.createBindGroup({ label: d.name, layout: kernel.layout, entries });
    const [x, y = 1, z = 1] = d.workgroups;
    const maxDim = Number(this.limits.maxComputeWorkgroupsPerDimension);
    if (x > maxDim || y > maxDim || z > maxDim) {
      throw new EngineError(d.name, `launch of ${x}×${y}×${z} workgroups exceeds the per-dimension limit ${maxDim}`);
    }
    if (this.skipKernels) {
      this.throwIfLost();
      this.dispatchCount++;
      return;
    }
    const enc = this.getEncoder();
    if (!this.pass) this.pass = enc.beginComputePass({ label: 'engine' });
    this.pass.setPipeline(kernel.pipeline);
    this.pass.setBindGroup(0, bindGroup);
    if (x > 0 && y > 0 && z > 0) this.pass.dispatchWorkgroups(x, y, z);
    this.dispatchCount++;
  }

  /** Submits everything encoded so far. */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    if (this.uniformUsed > 0) {
      this.device.queue.writeBuffer(this.uniformArena, 0, this.uniformStaging, 0, this.uniformUsed);
      this.uniformUsed = 0;
    }
    this.device.queue.submit([this.encoder.finish()]);
    this.submits++;
    this.encoder = null;
    for (const b of this.pendingDestroy.splice(0)) b.destroy();
  }

  /** Reads a buffer range back to the CPU (flushes first). */
  async readBytes(b: Binding, bytes: number, offset = 0): Promise<ArrayBuffer> {
    if (this.skipKernels) {
      // Nothing was computed: zeros, without a staging buffer (it is not in the pool either way).
      this.flush();
      await this.checkErrors(this.submits);
      return new ArrayBuffer(bytes);
    }
    const size = Math.ceil(bytes / 4) * 4;
    const staging = this.device.createBuffer({
      size: Math.max(4, size),
      usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
    });
    this.copy(b, staging, size, offset, 0);
    this.flush();
    const submitted = this.submits;
    try {
      await staging.mapAsync(MapMode.READ);
    } catch (e) {
      staging.destroy();
      // A lost device or an out-of-memory error explains a failed map better than the map's own error.
      await this.checkErrors(submitted);
      throw e;
    }
    const out = staging.getMappedRange().slice(0, bytes);
    staging.destroy();
    await this.checkErrors(submitted);
    return out;
  }

  /** Waits until the GPU has finished all submitted work and reports errors it raised. */
  async sync(): Promise<void> {
    this.flush();
    const submitted = this.submits;
    await this.device.queue.onSubmittedWorkDone();
    await this.checkErrors(submitted);
  }

  /** Records the out-of-memory error scope around an allocation (called by the pool). */
  watchAllocation(create: () => GPUBuffer): GPUBuffer {
    this.device.pushErrorScope('out-of-memory');
    const b = create();
    const popped = this.device.popErrorScope().then((e) => {
      if (!e) return;
      this.unreportedOutOfMemory ??= new GpuOutOfMemoryError(e.message);
      this.pool.markUnusable(b);
    });
    this.allocationsChecked = Promise.all([this.allocationsChecked, popped]).then(() => undefined);
    return b;
  }

  private throwIfLost(): void {
    if (this.lostError) throw this.lostError;
  }

  /** Reports errors the GPU raised for the work submitted until `submitted` (a value of `this.submits`). */
  private async checkErrors(submitted: number): Promise<void> {
    this.throwIfLost();
    await this.allocationsChecked;
    if (this.uncaptured?.constructor.name === 'GPUOutOfMemoryError') {
      this.unreportedOutOfMemory ??= new GpuOutOfMemoryError(this.uncaptured.message);
      this.uncaptured = null;
    }
    if (this.unreportedOutOfMemory) {
      this.reportedOutOfMemory = { error: this.unreportedOutOfMemory, upToSubmit: this.submits };
      this.unreportedOutOfMemory = null;
    }
    const oom = this.reportedOutOfMemory;
    if (oom && submitted <= oom.upToSubmit) {
      this.uncaptured = null;
      throw oom.error;
    }
    this.reportedOutOfMemory = null;
    if (this.compileErrors.length > 0) {
      throw new Error(`WGSL compilation failed: ${this.compileErrors.splice(0).join(' | ')}`);
    }
    if (this.uncaptured) {
      const e = this.uncaptured;
      this.uncaptured = null;
      throw new Error(`GPU error: ${e.message}`);
    }
  }

  /** Releases pooled memory and the device. */
  destroy(): void {
    this.flush();
    this.pool.trim();
    this.uniformArena.destroy();
    this.device.destroy();
  }
}

function collectTensors(v: unknown, out: Set<Tensor>): void {
  if (v instanceof Tensor) out.add(v);
  else if (Array.isArray(v)) for (const x of v) collectTensors(x, out);
  else if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const x of Object.values(v)) collectTensors(x, out);
  }
}
