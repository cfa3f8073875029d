/**
 * A test hook (`?debug=1`): a GPUDevice that runs out of memory at a byte limit we choose, the way a real device
 * does, so the out-of-memory path can be driven on a machine that has plenty of memory.
 *
 * Only the device is simulated; the engine, its pool, the job and the worker run their real code. A storage buffer
 * that would take the device's storage buffers past the limit comes back unusable (destroyed, so every later use
 * is a validation error, as with the invalid buffer of a real failed allocation), and the failure is reported
 * through WebGPU's own channels: the innermost 'out-of-memory' error scope pops a GPUOutOfMemoryError (the engine
 * pushes one around every pool allocation), or, with no such scope open, an `uncapturederror` event carries it.
 */
import { formatBytes } from '../gpu/formatBytes';
import { BufferUsage } from '../gpu/flags';

export interface DeviceMemoryStats {
  /** Bytes of storage buffers alive now. */
  usedBytes: number;
  /** The most that were alive at once. */
  peakBytes: number;
  limitBytes: number | null;
}

export class DeviceMemoryLimit {
  private used = 0;
  private peak = 0;
  /** Our mirror of the device's error-scope stack (the device does not let us look into its own). */
  private readonly scopes: { filter: GPUErrorFilter; error: GPUError | null }[] = [];

  constructor(
    private readonly device: GPUDevice,
    private limit: number | null = null,
  ) {
    const createBuffer = device.createBuffer.bind(device);
    const pushErrorScope = device.pushErrorScope.bind(device);
    const popErrorScope = device.popErrorScope.bind(device);
    device.createBuffer = (desc) => this.createBuffer(createBuffer, desc);
    device.pushErrorScope = (filter) => {
      this.scopes.push({ filter, error: null });
      pushErrorScope(filter);
    };
    device.popErrorScope = () => {
      const scope = this.scopes.pop();
      return popErrorScope().then((error) => error ?? scope?.error ?? null);
    };
  }

  /** A new limit for the buffers created from now on (null: none). Buffers alive stay. */
  setLimit(bytes: number | null): void {
    this.limit = bytes;
  }

  stats(): DeviceMemoryStats {
    return { usedBytes: this.used, peakBytes: this.peak, limitBytes: this.limit };
  }

  private createBuffer(create: (d: GPUBufferDescriptor) => GPUBuffer, desc: GPUBufferDescriptor): GPUBuffer {
    // Storage buffers are what the engine's pool allocates; staging and uniform buffers are small and short-lived.
    if ((desc.usage & BufferUsage.STORAGE) === 0 || desc.mappedAtCreation) return create(desc);
    const size = desc.size;
    if (this.limit !== null && this.used + size > this.limit) return this.refuse(create, desc);
    const buffer = create(desc);
    this.used += size;
    this.peak = Math.max(this.peak, this.used);
    const destroy = buffer.destroy.bind(buffer);
    let alive = true;
    buffer.destroy = () => {
      if (alive) this.used -= size;
      alive = false;
      destroy();
    };
    return buffer;
  }

  private refuse(create: (d: GPUBufferDescriptor) => GPUBuffer, desc: GPUBufferDescriptor): GPUBuffer {
    const error = new GPUOutOfMemoryError(
      `a ${formatBytes(desc.size)} buffer for ${desc.label || 'a tensor'} does not fit: ` +
        `${formatBytes(this.used)} of the simulated ${formatBytes(this.limit ?? 0)} of GPU memory are in use.`,
    );
    // WebGPU gives an error to the innermost scope whose filter matches, and keeps only a scope's first error.
    const scope = this.scopes.findLast((s) => s.filter === 'out-of-memory');
    if (scope) scope.error ??= error;
    else this.device.dispatchEvent(new GPUUncapturedErrorEvent('uncapturederror', { error }));
    const unusable = create({ size: 4, usage: desc.usage, label: `${desc.label ?? ''} (out of memory)` });
    unusable.destroy();
    return unusable;
  }
}
