/** Morphology, distance transform and components against brute-force TypeScript references. */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../nn/rng';
import { fillHoles, labelComponents, objectComponents, removeSmallComponents } from './components';
import { squaredDistanceTransform } from './distanceTransform';
import { close, dilate, erode, open } from './morphology';

/** A random mask: each pixel object with probability `density`. */
function randomMask(width: number, height: number, seed: number, density = 0.45): Uint8Array {
  const rng = new Rng(seed);
  return Uint8Array.from({ length: width * height }, () => (rng.next() < density ? 255 : 0));
}

/** Brute force: max (dilate) or min (erode) over the disc's pixels inside the frame. */
function refMorph(mask: Uint8Array, w: number, h: number, r: number, op: 'dilate' | 'erode'): Uint8Array {
  const out = new Uint8Array(w * h);
  const reach = Math.floor(r);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let any = false;
      let all = true;
      for (let dy = -reach; dy <= reach; dy++) {
        for (let dx = -reach; dx <= reach; dx++) {
          if (dx * dx + dy * dy > r * r) continue;
          const [nx, ny] = [x + dx, y + dy];
          if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
          const on = mask[ny * w + nx] !== 0;
          any ||= on;
          all &&= on;
        }
      }
      out[y * w + x] = (op === 'dilate' ? any : all) ? 255 : 0;
    }
  }
  return out;
}

describe('squaredDistanceTransform', () => {
  it('equals the brute-force squared distance to the nearest feature pixel', () => {
    const [w, h] = [19, 13];
    const m = randomMask(w, h, 3, 0.08);
    const d = squaredDistanceTransform(w, h, (k) => m[k] !== 0);
    for (let k = 0; k < w * h; k++) {
      let best = Infinity;
      for (let q = 0; q < w * h; q++) {
        if (m[q] === 0) continue;
        best = Math.min(best, ((k % w) - (q % w)) ** 2 + (Math.floor(k / w) - Math.floor(q / w)) ** 2);
      }
      expect(d[k]).toBe(best);
    }
  });

  it('is FAR or more everywhere when there is no feature', () => {
    const d = squaredDistanceTransform(5, 4, () => false);
    for (const v of d) expect(v).toBeGreaterThanOrEqual(1e19);
  });
});

describe('binary morphology with a disc', () => {
  it('dilate, erode, open and close match the brute-force references (borders take no part)', () => {
    for (const [w, h, seed] of [
      [23, 17, 1],
      [16, 31, 2],
    ]) {
      for (const density of [0.2, 0.6]) {
        const m = randomMask(w, h, seed + density * 10, density);
        for (const r of [0, 1, 1.5, 2, 3.5]) {
          const d = refMorph(m, w, h, r, 'dilate');
          const e = refMorph(m, w, h, r, 'erode');
          expect(dilate(m, w, h, r), `dilate r=${r}`).toEqual(d);
          expect(erode(m, w, h, r), `erode r=${r}`).toEqual(e);
          expect(open(m, w, h, r), `open r=${r}`).toEqual(refMorph(e, w, h, r, 'dilate'));
          expect(close(m, w, h, r), `close r=${r}`).toEqual(refMorph(d, w, h, r, 'erode'));
        }
      }
    }
  });

  it('keeps an object that fills the frame, and refuses a wrong size', () => {
    const full = new Uint8Array(12).fill(255);
    expect(erode(full, 4, 3, 2)).toEqual(full);
    expect(() => dilate(new Uint8Array(5), 2, 2, 1)).toThrow(RangeError);
  });
});

/** Brute-force components: repeated neighbour propagation of the smallest index until nothing changes. */
function refLabels(member: boolean[], w: number, h: number, conn: 4 | 8): number[] {
  const lab = member.map((m, k) => (m ? k : -1));
  for (let changed = true; changed;) {
    changed = false;
    for (let k = 0; k < w * h; k++) {
      if (lab[k] < 0) continue;
      const [x, y] = [k % w, Math.floor(k / w)];
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          if ((dx === 0 && dy === 0) || (conn === 4 && dx !== 0 && dy !== 0)) continue;
          const [nx, ny] = [x + dx, y + dy];
          if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
          const q = ny * w + nx;
          if (lab[q] >= 0 && lab[q] < lab[k]) {
            lab[k] = lab[q];
            changed = true;
          }
        }
      }
    }
  }
  return lab;
}

describe('connected components', () => {
  it('partition the pixels as the brute-force reference, with its areas, for 4- and 8-connectivity', () => {
    const [w, h] = [21, 15];
    const m = randomMask(w, h, 9, 0.5);
    for (const conn of [4, 8] as const) {
      const member = Array.from(m, (v) => v !== 0);
      const c = labelComponents(w, h, (k) => member[k], conn);
      const ref = refLabels(member, w, h, conn);
      const pairs = new Map<number, number>();
      for (let k = 0; k < w * h; k++) {
        expect(c.labels[k] < 0).toBe(ref[k] < 0);
        if (ref[k] < 0) continue;
        if (!pairs.has(c.labels[k])) pairs.set(c.labels[k], ref[k]);
        expect(pairs.get(c.labels[k])).toBe(ref[k]);
      }
      expect(new Set(ref.filter((v) => v >= 0)).size).toBe(c.areas.length);
      c.areas.forEach((area, id) => expect(area).toBe(c.labels.filter((l) => l === id).length));
    }
  });

  /** A mask from rows of '#' (object) and '.' (background). */
  const grid = (rows: string[]) => ({
    w: rows[0].length,
    h: rows.length,
    m: Uint8Array.from(rows.join(''), (ch) => (ch === '#' ? 255 : 0)),
  });
  const show = (m: Uint8Array, w: number) =>
    Array.from({ length: m.length / w }, (_, y) =>
      Array.from(m.subarray(y * w, (y + 1) * w), (v) => (v ? '#' : '.')).join(''),
    );

  it('removes the components below the area, diagonal neighbours counting as connected', () => {
    const g = grid(['#.....', '.#..##', '..#.##', '......', '....#.']);
    expect(objectComponents(g.m, g.w, g.h).areas).toEqual([3, 4, 1]);
    expect(show(removeSmallComponents(g.m, g.w, g.h, 3), g.w)).toEqual([
      '#.....',
      '.#..##',
      '..#.##',
      '......',
      '......',
    ]);
  });

  it('fills enclosed holes (also behind a diagonal wall) but not background that reaches the border', () => {
    const g = grid(['.#####.', '.#...#.', '.#.#.#.', '.#####.', '...#...', '..#.#..', '...#...', '#......', '.#.....']);
    expect(show(fillHoles(g.m, g.w, g.h), g.w)).toEqual([
      '.#####.',
      '.#####.',
      '.#####.',
      '.#####.',
      '...#...',
      '..###..',
      '...#...',
      '#......',
      '.#.....',
    ]);
    // A size limit leaves the larger hole open.
    expect(show(fillHoles(g.m, g.w, g.h, 2), g.w).slice(1, 3)).toEqual(['.#...#.', '.#.#.#.']);
  });
});
