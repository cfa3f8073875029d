import { describe, expect, it } from 'vitest';
import { ExponentialLr } from './schedule';

describe('ExponentialLr', () => {
  it('gives step j the rate max(1e-5, 0.0025·0.99^(j−1)) and reaches the floor at step 551', () => {
    const s = new ExponentialLr(0.0025, 0.99, 1e-5);
    let firstFloor = -1;
    for (let j = 1; j <= 1000; j++) {
      const expected = Math.max(1e-5, 0.0025 * 0.99 ** (j - 1));
      expect(Math.abs(s.lr - expected)).toBeLessThanOrEqual(1e-15);
      if (firstFloor < 0 && s.lr === 1e-5) firstFloor = j;
      s.step();
    }
    expect(firstFloor).toBe(551);
    expect(s.lr).toBe(1e-5);
    expect(s.stepCount).toBe(1000);
  });

  it('starts at lr0 and restores a step count', () => {
    const a = new ExponentialLr(0.0025, 0.99, 1e-5);
    expect(a.lr).toBe(0.0025);
    a.step();
    expect(a.lr).toBe(0.0025 * 0.99);
    for (let i = 0; i < 41; i++) a.step();
    const b = new ExponentialLr(0.0025, 0.99, 1e-5);
    b.restore(42);
    expect(b.lr).toBe(a.lr);
    expect(() => new ExponentialLr(0, 0.99, 0)).toThrow(/invalid settings/);
  });
});
