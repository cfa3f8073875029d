import { describe, expect, it } from 'vitest';
import { rand } from '../../test/gpu';
import { EngineError } from '../gpu/errors';
import { cubicWeights, interpolatePositionTable, positionTableFor } from './bicubic';

/**
 * Independent float64 reference of PyTorch's bicubic upsampling (align_corners=False, given scale factors,
 * A = −0.75, clamped taps), done as two separable passes: the column axis first, then the row axis.
 * grid: [g][g][dim] → [rows][cols][dim].
 */
function bicubicRef(p: number[][][], g: number, sfRow: number, sfCol: number, dim: number): number[][][] {
  const A = -0.75;
  const kernel = (x: number) => {
    const ax = Math.abs(x);
    if (ax <= 1) return (A + 2) * ax ** 3 - (A + 3) * ax ** 2 + 1;
    if (ax < 2) return A * ax ** 3 - 5 * A * ax ** 2 + 8 * A * ax - 4 * A;
    return 0;
  };
  const resample1d = (vals: number[][], outSize: number, sf: number): number[][] => {
    const res: number[][] = [];
    for (let o = 0; o < outSize; o++) {
      const src = (o + 0.5) / sf - 0.5;
      const fl = Math.floor(src);
      const acc = new Array<number>(dim).fill(0);
      for (let j = fl - 1; j <= fl + 2; j++) {
        const wgt = kernel(src - j);
        const v = vals[Math.min(Math.max(j, 0), vals.length - 1)];
        for (let d = 0; d < dim; d++) acc[d] += wgt * v[d];
      }
      res.push(acc);
    }
    return res;
  };
  const rows = Math.floor(g * sfRow);
  const cols = Math.floor(g * sfCol);
  const colPass = p.map((row) => resample1d(row, cols, sfCol)); // [g][cols][dim]
  const out: number[][][] = [];
  for (let r = 0; r < rows; r++) out.push([]);
  for (let c = 0; c < cols; c++) {
    const column = resample1d(
      colPass.map((row) => row[c]),
      rows,
      sfRow,
    );
    for (let r = 0; r < rows; r++) out[r].push(column[r]);
  }
  return out;
}

function gridOf(table: Float32Array, g: number, dim: number): number[][][] {
  const p: number[][][] = [];
  for (let i = 0; i < g; i++) {
    p.push([]);
    for (let j = 0; j < g; j++) p[i].push([...table.subarray((1 + i * g + j) * dim, (2 + i * g + j) * dim)]);
  }
  return p;
}

describe('cubic-convolution weights', () => {
  it('match hand-derived values for A = −0.75', () => {
    // t = 1/2: W(1.5) = −0.75·(3.375 − 5·2.25 + 8·1.5 − 4) = −3/32, W(0.5) = 1.25·0.125 − 2.25·0.25 + 1 = 19/32.
    expect(cubicWeights(0.5)).toEqual([-0.09375, 0.59375, 0.59375, -0.09375]);
    // t = 1/4: W(1.25) = −27/256, W(0.25) = 225/256, W(0.75) = 67/256, W(1.75) = −9/256 (exact in binary).
    expect(cubicWeights(0.25)).toEqual([-27 / 256, 225 / 256, 67 / 256, -9 / 256]);
    expect(cubicWeights(0)).toEqual([0, 1, 0, 0]);
  });
});

describe('interpolatePositionTable', () => {
  it('passes a square table through unchanged', () => {
    const t = rand((1 + 49) * 6, 1);
    const out = interpolatePositionTable(t, 7, 7, 7, 6);
    expect(out).not.toBe(t);
    expect([...out]).toEqual([...t]);
  });

  it('resamples hp = wp = grid when the image is not square (a = b = grid + 0.1)', () => {
    const t = rand((1 + 49) * 4, 2);
    const out = interpolatePositionTable(t, 7, 7, 7, 4, false);
    const ref = bicubicRef(gridOf(t, 7, 4), 7, 7.1 / 7, 7.1 / 7, 4);
    let worst = 0;
    let moved = 0;
    for (let k = 0; k < 49; k++)
      for (let d = 0; d < 4; d++) {
        worst = Math.max(worst, Math.abs(out[(1 + k) * 4 + d] - ref[Math.floor(k / 7)][k % 7][d]));
        moved = Math.max(moved, Math.abs(out[(1 + k) * 4 + d] - t[(1 + k) * 4 + d]));
      }
    expect(worst).toBeLessThan(1e-6);
    expect(moved).toBeGreaterThan(1e-3);
  });

  it('matches a hand-derived 2×2 → [wp = 3, hp = 1] case', () => {
    // P = [[1, 2], [3, 5]], CLS = 9, dim 1. Row axis: sf = 3.1/2, src = (o + ½)·20/31 − ½ = −11/62, 29/62,
    // 69/62. Column axis: sf = 1.1/2, one output at src = ½·20/11 − ½ = 9/22, i.e. floor 0, t = 9/22, taps
    // (−1, 0, 1, 2) clamped to (0, 0, 1, 1). Each output is Σ W_row(·) W_col(·) P over the 4×4 taps; with
    // exact rationals: 12000210089/10150866176, 6370091601/2537716544, 40156888539/10150866176.
    const t = Float32Array.from([9, 1, 2, 3, 5]);
    const out = interpolatePositionTable(t, 2, 1, 3, 1);
    expect(out.length).toBe(4);
    expect(out[0]).toBe(9);
    expect(out[1]).toBeCloseTo(12000210089 / 10150866176, 6); // 1.1821858
    expect(out[2]).toBeCloseTo(6370091601 / 2537716544, 6); // 2.5101667
    expect(out[3]).toBeCloseTo(40156888539 / 10150866176, 6); // 3.9560061
  });

  it('places the [wp, hp] grid transposed for hp = 7, wp = 11', () => {
    const [g, hp, wp, dim] = [7, 7, 11, 3];
    const t = new Float32Array((1 + g * g) * dim);
    t.set([0.5, -0.25, 2], 0);
    for (let i = 0; i < g; i++)
      for (let j = 0; j < g; j++) {
        const r = (1 + i * g + j) * dim;
        t[r] = i; // varies along the row axis only
        t[r + 1] = j * j; // varies along the column axis only
        t[r + 2] = Math.sin(i + 2 * j);
      }
    const out = interpolatePositionTable(t, g, hp, wp, dim);
    expect(out.length).toBe((1 + hp * wp) * dim);
    expect([...out.subarray(0, dim)]).toEqual([0.5, -0.25, 2]);
    const ref = bicubicRef(gridOf(t, g, dim), g, (wp + 0.1) / g, (hp + 0.1) / g, dim);
    expect(ref.length).toBe(wp);
    expect(ref[0].length).toBe(hp);
    let worst = 0;
    for (let k = 0; k < hp * wp; k++)
      for (let d = 0; d < dim; d++) {
        worst = Math.max(worst, Math.abs(out[(1 + k) * dim + d] - ref[Math.floor(k / hp)][k % hp][d]));
      }
    expect(worst).toBeLessThan(1e-5);
    // Channel 0 depends on the grid row only: token k's value is a function of k div hp (not of k div wp).
    for (let k = 0; k < hp * wp; k++) {
      expect(out[(1 + k) * dim]).toBeCloseTo(out[(1 + Math.floor(k / hp) * hp) * dim], 6);
    }
    // The row axis is upsampled 7 → 11: row values increase across the 11 rows of 7 tokens each.
    const rowVals = Array.from({ length: wp }, (_, r) => out[(1 + r * hp) * dim]);
    for (let r = 1; r < wp; r++) expect(rowVals[r]).toBeGreaterThanOrEqual(rowVals[r - 1] - 1e-6);
    expect(rowVals[0]).toBeLessThan(0.1);
    expect(rowVals[wp - 1]).toBeGreaterThan(5.9);
  });

  it('matches the reference for a few other grids and caches per size', () => {
    const t = rand((1 + 49) * 5, 3);
    for (const [hp, wp] of [
      [6, 10],
      [10, 6],
      [5, 5],
      [10, 10],
      [1, 1],
    ]) {
      const out = interpolatePositionTable(t, 7, hp, wp, 5);
      const ref = bicubicRef(gridOf(t, 7, 5), 7, (wp + 0.1) / 7, (hp + 0.1) / 7, 5);
      let worst = 0;
      for (let k = 0; k < hp * wp; k++)
        for (let d = 0; d < 5; d++) {
          worst = Math.max(worst, Math.abs(out[(1 + k) * 5 + d] - ref[Math.floor(k / hp)][k % hp][d]));
        }
      expect(worst).toBeLessThan(1e-6);
    }
    const a = positionTableFor(t, 7, 7, 10, 5);
    expect(positionTableFor(t, 7, 7, 10, 5)).toBe(a);
    expect([...a]).toEqual([...interpolatePositionTable(t, 7, 7, 10, 5)]);
    expect(() => interpolatePositionTable(t, 7, 7, 10, 6)).toThrow(EngineError);
  });
});
