#!/usr/bin/env node
/**
 * `npm test`'s first step: on a machine without Chromium (the end-to-end tests' browser, and the SwiftShader Vulkan
 * driver the GPU unit tests borrow), without the Vulkan loader (libvulkan.so.1, which Dawn opens in the GPU unit
 * tests) or without ffmpeg and ffprobe on PATH (the CLI's video import, tested for real), stop at once with one line
 * that says what to install, instead of failing deep inside Playwright, Dawn or the video tests.
 * Silent when everything is there. Plain Node, no dependencies: it runs before `npm ci` has to have worked.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { delimiter } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Where e2e/chromium.ts launches Chromium from. */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';
export const VULKAN_LOADER = 'libvulkan.so.1';
/** Debian's Chromium ships its own loader here; LD_LIBRARY_PATH=/usr/lib/chromium makes Dawn find it. */
export const CHROMIUM_LIBRARY_DIR = '/usr/lib/chromium';
/** The video tests run the system ffmpeg and ffprobe (Debian's `ffmpeg` package has both) from PATH. */
export const FFMPEG_TOOLS = ['ffmpeg', 'ffprobe'];

const MULTIARCH = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu', arm: 'arm-linux-gnueabihf' };

/** The directories the dynamic linker searches without its cache: LD_LIBRARY_PATH first, then the defaults. */
export function librarySearchDirs(env, arch) {
  const fromEnv = (env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  const triplet = MULTIARCH[arch];
  const multiarch = triplet ? [`/lib/${triplet}`, `/usr/lib/${triplet}`] : [];
  return [...fromEnv, ...multiarch, '/lib64', '/usr/lib64', '/lib', '/usr/lib', '/usr/local/lib'];
}

/**
 * What is missing, as { what, fix } entries (empty when nothing is).
 * @param {object} probe
 * @param {Record<string, string | undefined>} probe.env
 * @param {string} probe.platform process.platform
 * @param {string} probe.arch process.arch
 * @param {(path: string) => boolean} probe.isExecutableFile
 * @param {(path: string) => boolean} probe.isFile
 * @param {() => string} probe.ldconfigCache `ldconfig -p`'s output ('' when it cannot run)
 */
export function findMissing({ env, platform, arch, isExecutableFile, isFile, ldconfigCache }) {
  const missing = [];
  const chromium = env.CHROMIUM_PATH || DEFAULT_CHROMIUM_PATH;
  if (!isExecutableFile(chromium)) {
    missing.push(
      env.CHROMIUM_PATH
        ? {
            what: `chromium at ${chromium}`,
            fix: `CHROMIUM_PATH is not an executable file; point it at Chromium, or unset it and apt-get install chromium`,
          }
        : { what: 'chromium', fix: 'apt-get install chromium' },
    );
  }
  // Dawn uses Vulkan only on Linux (Metal on macOS, D3D on Windows).
  if (platform === 'linux') {
    const inDirs = librarySearchDirs(env, arch).some((dir) => isFile(`${dir}/${VULKAN_LOADER}`));
    if (!inDirs && !ldconfigCache().includes(`${VULKAN_LOADER} `)) {
      missing.push({
        what: 'libvulkan1',
        fix: isFile(`${CHROMIUM_LIBRARY_DIR}/${VULKAN_LOADER}`)
          ? `apt-get install libvulkan1, or LD_LIBRARY_PATH=${CHROMIUM_LIBRARY_DIR}`
          : 'apt-get install libvulkan1',
      });
    }
  }
  const path = (env.PATH ?? '').split(delimiter).filter(Boolean);
  const onPath = (name) => path.some((dir) => isExecutableFile(`${dir}/${name}`));
  if (!FFMPEG_TOOLS.every(onPath)) {
    missing.push({ what: 'ffmpeg', fix: platform === 'darwin' ? 'brew install ffmpeg' : 'apt-get install ffmpeg' });
  }
  return missing;
}

/** "missing: chromium (apt-get install chromium) and libvulkan1 (apt-get install libvulkan1)" */
export function formatMissing(missing) {
  return `missing: ${missing.map((m) => `${m.what} (${m.fix})`).join(' and ')}`;
}

function isExecutableFile(path) {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function isFile(path) {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** `ldconfig -p` (in /sbin for users whose PATH lacks it); '' when none runs. */
function ldconfigCache() {
  for (const cmd of ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    try {
      return execFileSync(cmd, ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      // try the next one
    }
  }
  return '';
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const missing = findMissing({
    env: process.env,
    platform: process.platform,
    arch: process.arch,
    isExecutableFile,
    isFile,
    ldconfigCache,
  });
  if (missing.length > 0) {
    console.error(formatMissing(missing));
    process.exit(1);
  }
}
