import { describe, expect, it } from 'vitest';
import { naturalCompare, naturalSort } from './naturalSort';

describe('naturalSort', () => {
  it('orders digit runs as numbers', () => {
    const names = ['10.png', '2.png', '1.png', 'frame10.jpg', 'frame2.jpg', 'frame1.jpg', '00010.png', '00009.png'];
    expect(naturalSort(names, (n) => n)).toEqual([
      '1.png',
      '2.png',
      '00009.png',
      '00010.png',
      '10.png',
      'frame1.jpg',
      'frame2.jpg',
      'frame10.jpg',
    ]);
  });

  it('ignores case and is total (ties broken the same way every time)', () => {
    expect(naturalSort(['b2', 'B1', 'a10', 'A9'], (n) => n)).toEqual(['A9', 'a10', 'B1', 'b2']);
    expect(naturalCompare('01', '1')).not.toBe(0);
    expect(Math.sign(naturalCompare('01', '1'))).toBe(-Math.sign(naturalCompare('1', '01')));
    expect(naturalCompare('x', 'x')).toBe(0);
  });

  it('orders DAVIS-style names like a plain sort would, and shot_9 before shot_10', () => {
    const davis = Array.from({ length: 120 }, (_, i) => `${String(i).padStart(5, '0')}.jpg`);
    expect(naturalSort([...davis].reverse(), (n) => n)).toEqual(davis);
    expect(naturalSort(['shot_10_b.png', 'shot_9_a.png'], (n) => n)).toEqual(['shot_9_a.png', 'shot_10_b.png']);
  });
});
