/**
 * How the end-to-end tests launch Chromium: Debian's build (override with CHROMIUM_PATH, e.g. for
 * Playwright's own Chromium), headless, with WebGPU on SwiftShader's Vulkan driver so that compute,
 * canvases and video import work on machines without a GPU. See docs/WEBGPU_ON_CPU.md.
 */
import type { LaunchOptions } from '@playwright/test';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu-sandbox',
  // Outgoing connections are refused on CI machines; these keep Chromium from trying.
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // WebGPU on a GPU-less machine; the Vulkan/ANGLE trio makes canvases and video import work too.
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-angle=swiftshader',
];

export const chromiumLaunchOptions: LaunchOptions = {
  executablePath: CHROMIUM_PATH,
  args: CHROMIUM_ARGS,
  headless: true,
};
