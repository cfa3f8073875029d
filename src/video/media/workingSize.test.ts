import { describe, expect, it } from 'vitest';
import { workingSize } from './workingSize';

describe('workingSize', () => {
  it('gives the reference 768×432 for 16:9 sources', () => {
    expect(workingSize(1920, 1080, 768)).toEqual({ width: 768, height: 432 });
    expect(workingSize(3840, 2160, 768)).toEqual({ width: 768, height: 432 });
    expect(workingSize(1280, 720, 768)).toEqual({ width: 768, height: 432 });
    expect(workingSize(854, 480, 768)).toEqual({ width: 768, height: 432 });
  });

  it('keeps the aspect for portrait and square sources', () => {
    expect(workingSize(1080, 1920, 768)).toEqual({ width: 432, height: 768 });
    expect(workingSize(1000, 1000, 768)).toEqual({ width: 768, height: 768 });
    expect(workingSize(1440, 1080, 768)).toEqual({ width: 768, height: 576 });
  });

  it('does not upscale a small source, only makes it even', () => {
    expect(workingSize(768, 432, 768)).toEqual({ width: 768, height: 432 });
    expect(workingSize(480, 480, 768)).toEqual({ width: 480, height: 480 });
    expect(workingSize(481, 271, 768)).toEqual({ width: 480, height: 270 });
    expect(workingSize(3, 2, 768)).toEqual({ width: 2, height: 2 });
  });

  it('rounds the short side to the nearest even number, at least 2', () => {
    // 1000×563 → 768×432.4 → 432; 1000×565 → 768×433.9 → 434
    expect(workingSize(1000, 563, 768)).toEqual({ width: 768, height: 432 });
    expect(workingSize(1000, 565, 768)).toEqual({ width: 768, height: 434 });
    expect(workingSize(4000, 3, 768)).toEqual({ width: 768, height: 2 });
    expect(workingSize(480, 480, 240)).toEqual({ width: 240, height: 240 });
    const wrong: string[] = [];
    for (let w = 769; w < 1200; w += 7) {
      for (let h = 2; h < w; h += 13) {
        const s = workingSize(w, h, 768);
        const ok = s.width === 768 && s.height % 2 === 0 && s.height <= h && Math.abs(s.height - (h * 768) / w) <= 1;
        if (!ok) wrong.push(`${w}×${h} → ${s.width}×${s.height}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('refuses sizes it cannot work with', () => {
    expect(() => workingSize(1, 100, 768)).toThrow(RangeError);
    expect(() => workingSize(100, 100, 767)).toThrow(/even/);
  });
});
