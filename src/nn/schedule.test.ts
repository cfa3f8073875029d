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

  it('restores a huge step count quickly (the rate stops changing) and rejects invalid ones', () => {
    const t0 = performance.now();
    const floor = new ExponentialLr(0.0025, 0.99, 1e-5);
    floor.restore(1e15);
    expect(floor.lr).toBe(1e-5);
    expect(floor.stepCount).toBe(1e15);
    const underflow = new ExponentialLr(0.0025, 0.99, 0);
    underflow.restore(Number.MAX_SAFE_INTEGER);
    expect(underflow.lr).toBeLessThan(1e-300); // a subnormal that γ· rounds back to itself
    const constant = new ExponentialLr(0.0025, 1, 0);
    constant.restore(1e12);
    expect(constant.lr).toBe(0.0025);
    expect(performance.now() - t0).toBeLessThan(2000);
    // Restoring below the fixed point still repeats every multiplication.
    const a = new ExponentialLr(0.0025, 0.99, 1e-5);
    for (let i = 0; i < 300; i++) a.step();
    const b = new ExponentialLr(0.0025, 0.99, 1e-5);
    b.restore(300);
    expect(b.lr).toBe(a.lr);
    expect(() => b.restore(-1)).toThrow(/invalid step count/);
    expect(() => b.restore(1.5)).toThrow(/invalid step count/);
  });
});
