/** Compiled compute pipelines, cached by WGSL source, entry point and binding signature. */
import { ShaderStage } from './flags';

/** How a kernel binds its buffers: an optional uniform block at binding 0, then storage buffers in order. */
export interface KernelSignature {
  /** True when binding 0 is a uniform block of parameters. */
  uniform: boolean;
  /** One entry per storage binding, in binding order after the uniform: 'read' or 'read_write'. */
  storage: ReadonlyArray<'read' | 'read_write'>;
}

export interface CompiledKernel {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

export class PipelineCache {
  private readonly cache = new Map<string, CompiledKernel>();

  constructor(
    private readonly device: GPUDevice,
    /** Receives WGSL compilation errors (a GPU validation error alone would only say "invalid"). */
    private readonly onCompileError: (kernel: string, message: string) => void = () => {},
  ) {}

  get size(): number {
    return this.cache.size;
  }

  get(name: string, code: string, sig: KernelSignature, entryPoint = 'main'): CompiledKernel {
    const key = `${entryPoint}|${sig.uniform ? 'u' : ''}${sig.storage.map((s) => (s === 'read' ? 'r' : 'w')).join('')}|${code}`;
    let k = this.cache.get(key);
    if (k) return k;
    const entries: GPUBindGroupLayoutEntry[] = [];
    let binding = 0;
    if (sig.uniform) {
      entries.push({ binding: binding++, visibility: ShaderStage.COMPUTE, buffer: { type: 'uniform' } });
    }
    for (const access of sig.storage) {
      entries.push({
        binding: binding++,
        visibility: ShaderStage.COMPUTE,
        buffer: { type: access === 'read' ? 'read-only-storage' : 'storage' },
      });
    }
    const layout = this.device.createBindGroupLayout({ label: name, entries });
    const module = this.device.createShaderModule({ label: name, code });
    void module.getCompilationInfo().then((info) => {
      const errors = info.messages.filter((m) => m.type === 'error');
      if (errors.length > 0) {
        this.onCompileError(name, errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('; '));
      }
    });
    const pipeline = this.device.createComputePipeline({
      label: name,
      layout: this.device.createPipelineLayout({ label: name, bindGroupLayouts: [layout] }),
      compute: { module, entryPoint },
    });
    k = { pipeline, layout };
    this.cache.set(key, k);
    return k;
  }
}
