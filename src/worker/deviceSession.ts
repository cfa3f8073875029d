/**
 * The worker's GPU device over its life: opened on first need, watched for loss, retired on purpose (after running
 * out of memory, a device that refused an allocation cannot be trusted), and opened again when the next work needs
 * it. It also answers what the page's "Your GPU" panel shows: the page never opens a device of its own.
 */
import { acquireDevice, NoWebGpuError, type AdapterSummary, type GpuContext } from '../gpu/device';
import { Engine } from '../gpu/engine';
import { DeviceLostError } from '../gpu/errors';
import { DeviceMemoryLimit, type DeviceMemoryStats } from './memoryLimit';
import type { GpuAvailability, GpuFailureSimulation, GpuUnavailableReason } from './protocol';

/** The limits the GPU panel shows, as the device granted them. */
const PANEL_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
] as const;

const SOFTWARE_NAMES = /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render/i;

export function isSoftwareAdapter(s: AdapterSummary): boolean {
  return s.isFallbackAdapter || SOFTWARE_NAMES.test(`${s.vendor} ${s.architecture} ${s.description}`);
}

/** A GPU object that fails the way `failure` says (test hook): the real acquisition code then runs on it. */
function simulatedGpu(gpu: GPU | undefined, failure: GpuFailureSimulation | null): GPU | undefined {
  if (!gpu || !failure) return gpu;
  if (failure === 'no-api') return undefined;
  const requestAdapter = gpu.requestAdapter.bind(gpu);
  return new Proxy(gpu, {
    get(target, key) {
      if (key !== 'requestAdapter') {
        const v = Reflect.get(target, key) as unknown;
        return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(target) : v;
      }
      return async (opts?: GPURequestAdapterOptions) => {
        if (failure === 'no-adapter') return null;
        const adapter = await requestAdapter(opts);
        if (!adapter) return null;
        return new Proxy(adapter, {
          get(a, k) {
            if (k === 'requestDevice') {
              return () => Promise.reject(new DOMException('simulated device failure', 'OperationError'));
            }
            const v = Reflect.get(a, k) as unknown;
            return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(a) : v;
          },
        });
      };
    },
  });
}

export interface DeviceSessionOptions {
  gpu: () => GPU | undefined;
  /** The device was lost (not retired on purpose). */
  onLost: (error: DeviceLostError) => void;
  /** Whether test hooks (`?debug=1`) are honoured (asked when a device opens). */
  debug?: () => boolean;
}

export class DeviceSession {
  private ctx: GpuContext | null = null;
  private current: Engine | null = null;
  private lostError: DeviceLostError | null = null;
  /** Devices destroyed on purpose: their `lost` is not a loss. */
  private readonly retired = new WeakSet<GPUDevice>();
  private memory: DeviceMemoryLimit | null = null;
  private memoryLimitBytes: number | null = null;
  private failure: GpuFailureSimulation | null = null;
  private opening: Promise<Engine> | null = null;

  constructor(private readonly opts: DeviceSessionOptions) {}

  /** The device's loss, if it was lost (cleared when a new device opens). */
  get lost(): DeviceLostError | null {
    return this.lostError;
  }

  /** The engine of an open, healthy device, or null. */
  get engine(): Engine | null {
    return this.current && !this.lostError ? this.current : null;
  }

  get summary(): AdapterSummary | null {
    return this.ctx?.summary ?? null;
  }

  /** The engine, opening a device when there is none (or it was lost or retired). */
  open(): Promise<Engine> {
    if (this.engine) return Promise.resolve(this.engine);
    this.opening ??= this.acquire().finally(() => (this.opening = null));
    return this.opening;
  }

  private async acquire(): Promise<Engine> {
    const ctx = await acquireDevice(simulatedGpu(this.opts.gpu(), this.failure));
    this.ctx = ctx;
    this.lostError = null;
    // Before the engine exists, so that every buffer it allocates is counted.
    this.memory = this.opts.debug?.() ? new DeviceMemoryLimit(ctx.device, this.memoryLimitBytes) : null;
    this.current = new Engine(ctx);
    void ctx.lost.then((e) => {
      if (this.retired.has(ctx.device) || this.ctx !== ctx) return;
      this.lostError = e;
      this.opts.onLost(e);
    });
    return this.current;
  }

  /** What the GPU panel shows: the adapter and its limits, or why there is no device. */
  async availability(): Promise<GpuAvailability> {
    try {
      await this.open();
    } catch (e) {
      return { kind: 'unavailable', reason: unavailableReason(e, this.failure), detail: errorText(e) };
    }
    const ctx = this.ctx!;
    const limits: Record<string, number> = {};
    for (const key of PANEL_LIMITS) limits[key] = Number(ctx.device.limits[key]);
    return { kind: 'ready', summary: ctx.summary, limits, software: isSoftwareAdapter(ctx.summary) };
  }

  /** Destroys the device on purpose (its `lost` is not a loss); the next `open` makes a new one. */
  retire(): void {
    const ctx = this.ctx;
    const engine = this.current;
    this.current = null;
    this.memory = null;
    if (!ctx) return;
    this.retired.add(ctx.device);
    try {
      if (engine) engine.destroy();
      else ctx.device.destroy();
    } catch {
      // Destroying a device that already failed has nothing more to free.
    }
  }

  /** Marks the device as lost without waiting for `device.lost` (e.g. a failed read already said so). */
  markLost(error: DeviceLostError): void {
    this.lostError ??= error;
  }

  /** Whether the device is (or within `ms` turns out to be) lost: an error may arrive before `device.lost` does. */
  async lostWithin(ms: number): Promise<boolean> {
    if (this.lostError) return true;
    const ctx = this.ctx;
    if (!ctx) return false;
    const lost = await Promise.race([
      ctx.lost.then(() => !this.retired.has(ctx.device)),
      new Promise<boolean>((r) => setTimeout(() => r(false), ms)),
    ]);
    return lost || this.lostError !== null;
  }

  /** Rejects as soon as the device is lost, whatever `p` is waiting for. */
  watch<T>(p: Promise<T>): Promise<T> {
    const ctx = this.ctx;
    if (!ctx) return p;
    const lost = ctx.lost.then((e) => {
      if (this.retired.has(ctx.device)) return new Promise<never>(() => undefined);
      throw e;
    });
    return Promise.race([p, lost]);
  }

  // ------------------------------------------------------------------------------------------------ test hooks

  /** Destroys the device as a driver reset would. */
  simulateLoss(): void {
    this.ctx?.device.destroy();
  }

  /** The next devices fail to open this way (null: no failure). */
  simulateFailure(failure: GpuFailureSimulation | null): void {
    this.failure = failure;
  }

  /** Buffers past `bytes` fail as out of memory, on this device and every later one (null: no limit). */
  setMemoryLimit(bytes: number | null): void {
    this.memoryLimitBytes = bytes;
    this.memory?.setLimit(bytes);
  }

  memoryStats(): DeviceMemoryStats {
    return this.memory?.stats() ?? { usedBytes: 0, peakBytes: 0, limitBytes: this.memoryLimitBytes };
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function unavailableReason(e: unknown, failure: GpuFailureSimulation | null): GpuUnavailableReason {
  if (e instanceof NoWebGpuError) {
    if (/navigator\.gpu is missing/.test(e.message)) {
      const insecure = failure === null && typeof isSecureContext === 'boolean' && !isSecureContext;
      return insecure ? 'insecure-context' : 'no-api';
    }
    return 'no-adapter';
  }
  return 'no-device';
}
