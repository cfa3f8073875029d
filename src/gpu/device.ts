/** Device acquisition: the adapter's real limits and the optional features we can use. */
import { DeviceLostError } from './errors';

/** Limits we raise to the adapter's maximum (a 512² activation with 132 channels is ~138 MB). */
const RAISED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
] as const;

const OPTIONAL_FEATURES: GPUFeatureName[] = ['shader-f16', 'timestamp-query'];

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  features: string[];
  limits: Record<string, number>;
}

export interface GpuContext {
  device: GPUDevice;
  adapter: GPUAdapter;
  summary: AdapterSummary;
  /** Resolves when the device is lost; the engine turns it into a DeviceLostError. */
  lost: Promise<DeviceLostError>;
}

export class NoWebGpuError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoWebGpuError';
  }
}

export function summarizeAdapter(adapter: GPUAdapter): AdapterSummary {
  const info = adapter.info;
  const limits: Record<string, number> = {};
  for (const key of RAISED_LIMITS) limits[key] = Number(adapter.limits[key]);
  limits.maxUniformBufferBindingSize = Number(adapter.limits.maxUniformBufferBindingSize);
  limits.minUniformBufferOffsetAlignment = Number(adapter.limits.minUniformBufferOffsetAlignment);
  // `isFallbackAdapter` moved from the adapter onto adapter.info; read whichever exists.
  const legacy = adapter as unknown as { isFallbackAdapter?: boolean };
  const infoFallback = (info as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter;
  return {
    vendor: info?.vendor ?? '',
    architecture: info?.architecture ?? '',
    device: info?.device ?? '',
    description: info?.description ?? '',
    isFallbackAdapter: Boolean(infoFallback ?? legacy.isFallbackAdapter ?? false),
    features: [...adapter.features].map(String).sort(),
    limits,
  };
}

export interface AcquireOptions {
  powerPreference?: GPUPowerPreference;
  featureLevel?: 'core' | 'compatibility';
}

/** Requests an adapter and a device with the adapter's maximum limits and the optional features present. */
export async function acquireDevice(gpu: GPU | undefined, opts: AcquireOptions = {}): Promise<GpuContext> {
  if (!gpu) {
    throw new NoWebGpuError('WebGPU is not available (navigator.gpu is missing).');
  }
  const adapterOpts: GPURequestAdapterOptions & { featureLevel?: string } = {
    powerPreference: opts.powerPreference ?? 'high-performance',
  };
  if (opts.featureLevel) adapterOpts.featureLevel = opts.featureLevel;
  const adapter = await gpu.requestAdapter(adapterOpts);
  if (!adapter) throw new NoWebGpuError('WebGPU is present but no GPU adapter is available.');
  const requiredLimits: Record<string, number> = {};
  for (const key of RAISED_LIMITS) requiredLimits[key] = Number(adapter.limits[key]);
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  const lost = device.lost.then((info) => new DeviceLostError(info.message || info.reason || 'unknown'));
  return { device, adapter, summary: summarizeAdapter(adapter), lost };
}
