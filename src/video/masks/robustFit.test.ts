/** The background fit: known affine and projective motions recovered despite outliers; the small linear algebra. */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../nn/rng';
import { solveLinear } from './linearSolve';
import { applyMatrix, invert3, multiply3, paramsMatrix } from './motionModel';
import { fitBackgroundMotion, type FlowSamples } from './robustFit';

const [W, H] = [160, 90];

/**
 * Samples on a grid moved by `motion`, with Gaussian noise of σ px per component; a block of the frame (the
 * "object", `objectShare` of the samples) moves by (−3, 2) instead and a few per cent are random outliers.
 */
function samples(motion: Float64Array, sigma: number, objectShare: number, seed: number): FlowSamples {
  const rng = new Rng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  const xs: number[] = [];
  const ys: number[] = [];
  const us: number[] = [];
  const vs: number[] = [];
  const objectWidth = objectShare * W;
  for (let y = 1; y < H; y += 3) {
    for (let x = 1; x < W; x += 3) {
      let [u, v] = ((): [number, number] => {
        const [mx, my] = applyMatrix(motion, x, y);
        return [mx - x, my - y];
      })();
      if (x < objectWidth) [u, v] = [-3, 2];
      else if (rng.next() < 0.04) [u, v] = [rng.uniform(-8, 8), rng.uniform(-8, 8)];
      xs.push(x);
      ys.push(y);
      us.push(u + sigma * gauss());
      vs.push(v + sigma * gauss());
    }
  }
  return { x: Float64Array.from(xs), y: Float64Array.from(ys), u: Float64Array.from(us), v: Float64Array.from(vs) };
}

/** The largest displacement difference of two maps over the frame, px. */
function mapDistance(a: Float64Array, b: Float64Array): number {
  let worst = 0;
  for (const [x, y] of [
    [0, 0],
    [W - 1, 0],
    [0, H - 1],
    [W - 1, H - 1],
    [W / 2, H / 2],
  ]) {
    const [ax, ay] = applyMatrix(a, x, y);
    const [bx, by] = applyMatrix(b, x, y);
    worst = Math.max(worst, Math.hypot(ax - bx, ay - by));
  }
  return worst;
}

describe('fitBackgroundMotion', () => {
  // A pan with a slight zoom and rotation: x' = 1.01x − 0.02y + 2.5, y' = 0.015x + 0.99y − 1.2.
  const affine = paramsMatrix('affine', [1.01, -0.02, 2.5, 0.015, 0.99, -1.2]);

  it('recovers a known affine motion with 40 % of the samples on an object and 4 % random outliers', () => {
    const s = samples(affine, 0.1, 0.4, 1);
    const fit = fitBackgroundMotion(s, { width: W, height: H, model: 'affine' });
    expect(fit.params).toHaveLength(6);
    expect(mapDistance(fit.matrix, affine)).toBeLessThan(0.05);
    const truth = [1.01, -0.02, 2.5, 0.015, 0.99, -1.2];
    // Linear part within 10⁻³, translation within 0.02 px.
    fit.params.forEach((p, i) => expect(Math.abs(p - truth[i])).toBeLessThan(i % 3 === 2 ? 0.02 : 1e-3));
    // The inliers: the 58 % that follow the background (less the outliers near the model by chance).
    expect(fit.inlierFraction).toBeGreaterThan(0.5);
    expect(fit.inlierFraction).toBeLessThan(0.62);
    expect(fit.residualScale).toBeGreaterThan(0.07);
    expect(fit.residualScale).toBeLessThan(0.14);
  });

  it('without noise the fit is exact (to float rounding); a plain least squares would be pulled by the object', () => {
    const s = samples(affine, 0, 0.3, 2);
    const fit = fitBackgroundMotion(s, { width: W, height: H, model: 'affine' });
    expect(mapDistance(fit.matrix, affine)).toBeLessThan(1e-6);
    const plain = fitBackgroundMotion(s, { width: W, height: H, model: 'affine', hypotheses: 1, irlsIterations: 0 });
    expect(mapDistance(plain.matrix, affine)).toBeGreaterThan(0.5);
  });

  it('recovers a homography (perspective terms) that an affine map cannot follow', () => {
    const homography = paramsMatrix('homography', [1.02, 0.01, 3, -0.01, 1.0, 1.5, 4e-4, -3e-4]);
    const s = samples(homography, 0.05, 0.3, 3);
    const fit = fitBackgroundMotion(s, { width: W, height: H, model: 'homography' });
    expect(fit.params).toHaveLength(8);
    expect(mapDistance(fit.matrix, homography)).toBeLessThan(0.05);
    const affineFit = fitBackgroundMotion(s, { width: W, height: H, model: 'affine' });
    expect(mapDistance(affineFit.matrix, homography)).toBeGreaterThan(0.5);
  });

  it('returns the identity with no inliers when there is nothing to fit', () => {
    const none = { x: new Float64Array(2), y: new Float64Array(2), u: new Float64Array(2), v: new Float64Array(2) };
    const fit = fitBackgroundMotion(none, { width: W, height: H });
    expect(fit.params).toEqual([1, 0, 0, 0, 1, 0]);
    expect(fit.inlierFraction).toBe(0);
  });
});

describe('small linear algebra', () => {
  it('solves with pivoting and says null for a singular system', () => {
    // A zero first pivot: [[0,2,1],[1,1,0],[3,0,1]]·(1, 2, 3) = (7, 3, 6).
    const x = solveLinear(Float64Array.of(0, 2, 1, 1, 1, 0, 3, 0, 1), Float64Array.of(7, 3, 6), 3)!;
    [1, 2, 3].forEach((v, i) => expect(x[i]).toBeCloseTo(v, 12));
    expect(solveLinear(Float64Array.of(1, 2, 2, 4), Float64Array.of(1, 2), 2)).toBeNull();
  });

  it('inverts a homography (m33 scaled to 1) and refuses a singular one', () => {
    const m = paramsMatrix('homography', [1.1, 0.2, 3, -0.1, 0.9, -2, 1e-3, 2e-3]);
    const inv = invert3(m)!;
    expect(inv[8]).toBe(1);
    const id = multiply3(m, inv);
    const s = 1 / id[8];
    [1, 0, 0, 0, 1, 0, 0, 0, 1].forEach((v, i) => expect(id[i] * s).toBeCloseTo(v, 12));
    expect(invert3(Float64Array.of(1, 2, 0, 2, 4, 0, 0, 0, 1))).toBeNull();
  });
});
