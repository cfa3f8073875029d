/**
 * WebGPU in Node through the `webgpu` package (Dawn). Used by tests, the command-line editor and
 * benchmarks. On GPU-less Linux machines Dawn can borrow the SwiftShader Vulkan driver that
 * Debian's Chromium ships; set VK_ICD_FILENAMES yourself to pick another driver.
 */
import { existsSync } from 'node:fs';
import { acquireDevice, type GpuContext } from './device';
import { Engine } from './engine';

const CHROMIUM_SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

let gpuObject: GPU | null = null;

export async function nodeGpu(): Promise<GPU> {
  if (gpuObject) return gpuObject;
  if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && process.env.T2L_NO_SWIFTSHADER !== '1') {
    if (existsSync(CHROMIUM_SWIFTSHADER_ICD) && !existsSync('/dev/dri') && !existsSync('/dev/nvidia0')) {
      process.env.VK_ICD_FILENAMES = CHROMIUM_SWIFTSHADER_ICD;
    }
  }
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  gpuObject = create([]) as unknown as GPU;
  return gpuObject;
}

export async function nodeContext(): Promise<GpuContext> {
  return acquireDevice(await nodeGpu());
}

export async function nodeEngine(): Promise<Engine> {
  return new Engine(await nodeContext());
}
