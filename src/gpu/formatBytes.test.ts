import { describe, expect, it } from 'vitest';
import { formatBytes } from './formatBytes';

describe('formatBytes', () => {
  it('writes GPU sizes in powers of 1024, whole values without decimals', () => {
    expect(formatBytes(1024 ** 3)).toBe('1 GiB');
    expect(formatBytes(32 * 1024)).toBe('32 KiB');
    expect(formatBytes(24 * 1024 ** 2)).toBe('24 MiB');
    expect(formatBytes(1.2 * 1024 ** 3)).toBe('1.2 GiB');
    expect(formatBytes(256)).toBe('256 B');
  });

  it('writes downloads and files in powers of 1000', () => {
    expect(formatBytes(352_000_000, 'si')).toBe('352.0 MB');
    expect(formatBytes(2_200, 'si')).toBe('2.2 kB');
    expect(formatBytes(612_000_000_000, 'si')).toBe('612.00 GB');
    expect(formatBytes(999, 'si')).toBe('999 B');
  });
});
