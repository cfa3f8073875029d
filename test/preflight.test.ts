/** tools/preflight.mjs: silent when Chromium and the Vulkan loader are there, one line and exit code 1 otherwise. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findMissing, formatMissing, type Probe } from '../tools/preflight.mjs';

const SCRIPT = fileURLToPath(new URL('../tools/preflight.mjs', import.meta.url));

function runPreflight(env: Record<string, string | undefined>) {
  const r = spawnSync(process.execPath, [SCRIPT], { env: { ...process.env, ...env }, encoding: 'utf8' });
  return { status: r.status, output: r.stdout + r.stderr };
}

/** A Debian machine with both packages, unless a test takes something away. */
function probe(overrides: Partial<Probe> = {}): Probe {
  return {
    env: {},
    platform: 'linux',
    arch: 'x64',
    isExecutableFile: (p) => p === '/usr/bin/chromium',
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
});

describe('findMissing', () => {
  it('finds nothing missing with both packages', () => {
    expect(findMissing(probe())).toEqual([]);
  });

  it('names both packages on a fresh machine, in one line', () => {
    const missing = findMissing(probe({ isExecutableFile: () => false, isFile: () => false, ldconfigCache: () => '' }));
    expect(formatMissing(missing)).toBe(
      'missing: chromium (apt-get install chromium) and libvulkan1 (apt-get install libvulkan1)',
    );
  });

  it('finds the loader through LD_LIBRARY_PATH (Chromium’s own copy), and suggests it when it is there', () => {
    const chromiumsOwn = (p: string) => p === '/usr/lib/chromium/libvulkan.so.1';
    const without = probe({ isFile: chromiumsOwn, ldconfigCache: () => '' });
    expect(formatMissing(findMissing(without))).toBe(
      'missing: libvulkan1 (apt-get install libvulkan1, or LD_LIBRARY_PATH=/usr/lib/chromium)',
    );
    expect(findMissing({ ...without, env: { LD_LIBRARY_PATH: '/opt/x:/usr/lib/chromium' } })).toEqual([]);
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

  it('needs no Vulkan loader off Linux, and takes CHROMIUM_PATH there', () => {
    const mac = probe({
      platform: 'darwin',
      env: { CHROMIUM_PATH: '/Applications/Chromium.app/Contents/MacOS/Chromium' },
      isExecutableFile: (p) => p.startsWith('/Applications/'),
      isFile: () => false,
      ldconfigCache: () => '',
    });
    expect(findMissing(mac)).toEqual([]);
  });
});
