/**
 * tools/preflight.mjs: silent when Chromium, the Vulkan loader and ffmpeg are there, one line and exit code 1
 * otherwise.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findMissing, formatMissing, type Probe } from '../tools/preflight.mjs';

const SCRIPT = fileURLToPath(new URL('../tools/preflight.mjs', import.meta.url));

function runPreflight(env: Record<string, string | undefined>) {
  const r = spawnSync(process.execPath, [SCRIPT], { env: { ...process.env, ...env }, encoding: 'utf8' });
  return { status: r.status, output: r.stdout + r.stderr };
}

const DEBIAN_PATH = '/usr/local/bin:/usr/bin:/bin';
const DEBIAN_EXECUTABLES = new Set(['/usr/bin/chromium', '/usr/bin/ffmpeg', '/usr/bin/ffprobe']);

/** A Debian machine with every package, unless a test takes something away. */
function probe(overrides: Partial<Probe> = {}): Probe {
  return {
    env: { PATH: DEBIAN_PATH },
    platform: 'linux',
    arch: 'x64',
    isExecutableFile: (p) => DEBIAN_EXECUTABLES.has(p),
    isFile: (p) => p === '/usr/lib/x86_64-linux-gnu/libvulkan.so.1',
    ldconfigCache: () => '\tlibvulkan.so.1 (libc6,x86-64) => /lib/x86_64-linux-gnu/libvulkan.so.1\n',
    ...overrides,
  };
}

describe('tools/preflight.mjs', () => {
  it('passes quietly on this machine', () => {
    expect(runPreflight({})).toEqual({ status: 0, output: '' });
  });

  it('stops with one line when CHROMIUM_PATH points nowhere', () => {
    const r = runPreflight({ CHROMIUM_PATH: '/nonexistent/chromium' });
    expect(r.status).toBe(1);
    expect(r.output.trimEnd().split('\n')).toEqual([
      'missing: chromium at /nonexistent/chromium (CHROMIUM_PATH is not an executable file; point it at Chromium, ' +
        'or unset it and apt-get install chromium)',
    ]);
  });

  it('stops with one line when ffmpeg is not on PATH', () => {
    // The script runs with process.execPath, and finds ldconfig in /sbin: only ffmpeg goes missing.
    const r = runPreflight({ PATH: '/nonexistent' });
    expect(r.status).toBe(1);
    expect(r.output.trimEnd().split('\n')).toEqual(['missing: ffmpeg (apt-get install ffmpeg)']);
  });
});

describe('findMissing', () => {
  it('finds nothing missing with every package', () => {
    expect(findMissing(probe())).toEqual([]);
  });

  it('names every package on a fresh machine, in one line', () => {
    const missing = findMissing(probe({ isExecutableFile: () => false, isFile: () => false, ldconfigCache: () => '' }));
    expect(formatMissing(missing)).toBe(
      'missing: chromium (apt-get install chromium) and libvulkan1 (apt-get install libvulkan1) and ffmpeg ' +
        '(apt-get install ffmpeg)',
    );
  });

  it('wants both ffmpeg and ffprobe, anywhere on PATH', () => {
    const without = (name: string) =>
      probe({ isExecutableFile: (p) => DEBIAN_EXECUTABLES.has(p) && !p.endsWith(name) });
    expect(formatMissing(findMissing(without('/ffmpeg')))).toBe('missing: ffmpeg (apt-get install ffmpeg)');
    expect(formatMissing(findMissing(without('/ffprobe')))).toBe('missing: ffmpeg (apt-get install ffmpeg)');
    expect(findMissing(probe({ env: {} })).map((m) => m.what)).toEqual(['ffmpeg']);
    const local = probe({
      env: { PATH: '/opt/ffmpeg/bin:/usr/bin' },
      isExecutableFile: (p) => ['/usr/bin/chromium', '/opt/ffmpeg/bin/ffmpeg', '/opt/ffmpeg/bin/ffprobe'].includes(p),
    });
    expect(findMissing(local)).toEqual([]);
  });

  it('finds the loader through LD_LIBRARY_PATH (Chromium’s own copy), and suggests it when it is there', () => {
    const chromiumsOwn = (p: string) => p === '/usr/lib/chromium/libvulkan.so.1';
    const without = probe({ isFile: chromiumsOwn, ldconfigCache: () => '' });
    expect(formatMissing(findMissing(without))).toBe(
      'missing: libvulkan1 (apt-get install libvulkan1, or LD_LIBRARY_PATH=/usr/lib/chromium)',
    );
    expect(
      findMissing({ ...without, env: { PATH: DEBIAN_PATH, LD_LIBRARY_PATH: '/opt/x:/usr/lib/chromium' } }),
    ).toEqual([]);
  });

  it('finds the loader in the linker cache alone, and not from a similarly named library', () => {
    const cacheOnly = probe({ isFile: () => false });
    expect(findMissing(cacheOnly)).toEqual([]);
    const lookalike = probe({
      isFile: () => false,
      ldconfigCache: () => '\tlibvulkan_lvp.so (libc6,x86-64) => /lib/x86_64-linux-gnu/libvulkan_lvp.so\n',
    });
    expect(findMissing(lookalike).map((m) => m.what)).toEqual(['libvulkan1']);
  });

  it('needs no Vulkan loader off Linux, takes CHROMIUM_PATH there, and says brew for ffmpeg on macOS', () => {
    const mac = probe({
      platform: 'darwin',
      env: { CHROMIUM_PATH: '/Applications/Chromium.app/Contents/MacOS/Chromium', PATH: '/opt/homebrew/bin:/usr/bin' },
      isExecutableFile: (p) => p.startsWith('/Applications/') || p.startsWith('/opt/homebrew/bin/'),
      isFile: () => false,
      ldconfigCache: () => '',
    });
    expect(findMissing(mac)).toEqual([]);
    expect(formatMissing(findMissing({ ...mac, isExecutableFile: (p) => p.startsWith('/Applications/') }))).toBe(
      'missing: ffmpeg (brew install ffmpeg)',
    );
  });
});
