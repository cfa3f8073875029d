/**
 * CLIP-space distances between V view embeddings and T target embeddings (spec §A.8): the spherical
 * distance of the composition and screen losses and the cosine similarity of the directional loss. Both
 * return the full [V, T] matrix; the losses average it. Sizes are small (E = 512, V ≤ 32, T ≤ 28), so the
 * kernels are one invocation per output with a loop over E.
 */
import { EngineError, shapeStr } from '../gpu/errors';
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertSameEngine, perElementOutput, perElementWgsl } from './common';
import { normalizeRows, pairCosine, pairCosineCoefficients, pairGrad, rowNorms } from './similarity';

/** F.normalize's eps in the spherical distance. */
export const SPHERICAL_NORMALIZE_EPS = 1e-12;

function checkPair(op: string, x: Tensor, y: Tensor): [number, number, number] {
  assertSameEngine(op, x, y);
  if (x.shape.length !== 2 || y.shape.length !== 2 || x.shape[1] !== y.shape[1]) {
    throw new EngineError(
      op,
      `expected x [V,E] and y [T,E] with the same E, got ${shapeStr(x.shape)} and ${shapeStr(y.shape)}`,
    );
  }
  return [x.shape[0], y.shape[0], x.shape[1]];
}

/** ‖a_r − c_s‖² for pair i = r·others + s of rows a [R,E], c [S,E] (both spherical kernels, fields others, dim). */
const PAIR_SQUARED_DISTANCE_WGSL = /* wgsl */ `
fn pairSquaredDistance(i: u32) -> f32 {
  let s = i % p.others;
  let r = i / p.others;
  var d2 = 0.0;
  for (var k = 0u; k < p.dim; k++) {
    let u = a[r * p.dim + k] - c[s * p.dim + k];
    d2 += u * u;
  }
  return d2;
}`;

/** out[r,s] = 2·asin(min(‖a_r − c_s‖/2, 1))² for unit rows a [R,E], c [S,E]. */
const SPHERICAL_WGSL = perElementWgsl({
  fields: 'others: u32, dim: u32',
  read: ['a', 'c'],
  write: ['out'],
  helpers: PAIR_SQUARED_DISTANCE_WGSL,
  body: `
  let h = min(0.5 * sqrt(pairSquaredDistance(i)), 1.0);
  let t = asin(h);
  out[i] = 2.0 * t * t;`,
});

/**
 * K[r,s] = G[r,s]·f'(d)/d with f(d) = 2·asin(d/2)², d = ‖a_r − c_s‖: f'(d)/d = 2·asin(d/2)/(d·sqrt(1 − d²/4)),
 * its limit 1 at d = 0 (where the direction a_r − c_s is zero, so the value does not matter). Then
 * dL/da_r = Σ_s K_rs (a_r − c_s) and dL/dc_s = −Σ_r K_rs (a_r − c_s).
 */
const SPHERICAL_COEF_WGSL = perElementWgsl({
  fields: 'others: u32, dim: u32',
  read: ['a', 'c', 'g'],
  write: ['out'],
  helpers: PAIR_SQUARED_DISTANCE_WGSL,
  body: `
  let d = sqrt(pairSquaredDistance(i));
  var kk = 1.0;
  if (d > 0.0) {
    let h = min(0.5 * d, 1.0);
    kk = 2.0 * asin(h) / (d * sqrt(1.0 - h * h));
  }
  out[i] = g[i] * kk;`,
});

/** The pairwise part of the spherical distance on already normalised rows a [R,E], c [S,E] → [R,S]. */
function sphericalPairs(a: Tensor, c: Tensor): Tensor {
  const op = 'sphericalDistance';
  const [rows, others, dim] = [a.shape[0], c.shape[0], a.shape[1]];
  const params = () =>
    new Params()
      .u32(rows * others)
      .u32(others)
      .u32(dim);
  const shape = [rows, others];
  const out = perElementOutput({ name: op, code: SPHERICAL_WGSL, params: params(), read: [a, c], shape });
  return record(op, [a, c], out, (gy) => {
    const k = perElementOutput({
      name: `${op}-coef`,
      label: `${op}-backward`,
      code: SPHERICAL_COEF_WGSL,
      params: params(),
      read: [a, c, gy],
      shape,
    });
    const common = { c: k, h: k, norms: null, batch: 1, dim, cs: -1 };
    const ga = a.requiresGrad ? pairGrad(op, { ...common, a, other: c, rows, others, transposed: false }) : null;
    const gc = c.requiresGrad
      ? pairGrad(op, { ...common, a: c, other: a, rows: others, others: rows, transposed: true })
      : null;
    k.release();
    return [ga, gc];
  });
}

/**
 * Spherical distance between every view embedding x [V,E] and target y [T,E] → [V,T]:
 * D = 2·arcsin(‖x̂ − ŷ‖/2)² with x̂ = x/max(‖x‖, 1e-12), ŷ likewise (= θ²/2, θ the angle between x and y).
 * The half-distance is clamped to ≤ 1 before the arcsine (it can only exceed 1 by rounding). Differentiable
 * in x and y.
 */
export function sphericalDistance(x: Tensor, y: Tensor): Tensor {
  checkPair('sphericalDistance', x, y);
  const xh = normalizeRows(x, SPHERICAL_NORMALIZE_EPS);
  const yh = normalizeRows(y, SPHERICAL_NORMALIZE_EPS);
  return sphericalPairs(xh, yh);
}

/**
 * Cosine similarity of every row of x [V,E] with every row of y [T,E] → [V,T]:
 *   cos_vt = ⟨x_v, y_t⟩ / max(‖x_v‖·‖y_t‖, eps),  eps = 1e-8 by default.
 * This is the formula of PyTorch ≤ 1.11's F.cosine_similarity (w12 / sqrt(clamp_min(w1·w2, eps²))), the
 * version the reference ran; PyTorch ≥ 1.12 clamps each norm separately (x/max(‖x‖,eps)·y/max(‖y‖,eps)),
 * which only differs for near-zero vectors. Backward for x and y, with m = max(‖x‖‖y‖, eps), G = dL/dcos:
 *   dL/dx_v = Σ_t (G_vt/m_vt)·y_t − (x_v/‖x_v‖)·Σ_t [‖x_v‖‖y_t‖ ≥ eps]·G_vt·cos_vt·‖y_t‖/m_vt,
 * and symmetrically for y.
 */
export function cosineSimilarityRows(x: Tensor, y: Tensor, eps = 1e-8): Tensor {
  const op = 'cosineSimilarityRows';
  const [v, t, dim] = checkPair(op, x, y);
  if (!(eps >= 0) || !Number.isFinite(eps)) throw new EngineError(op, `eps must be a finite number ≥ 0, got ${eps}`);
  const nx = rowNorms(x, op);
  const ny = rowNorms(y, op);
  const out = pairCosine(op, x, y, nx, ny, [v, t], v, t, dim, eps);
  return record(op, [x, y], out, (gy) => {
    const { coef, ha, hc } = pairCosineCoefficients(op, gy, out, nx, ny, 1, v, t, eps, false);
    const common = { c: coef, batch: 1, dim, cs: 1 };
    const gx = x.requiresGrad
      ? pairGrad(op, { ...common, a: x, other: y, h: ha, norms: nx, rows: v, others: t, transposed: false })
      : null;
    const gyy = y.requiresGrad
      ? pairGrad(op, { ...common, a: y, other: x, h: hc, norms: ny, rows: t, others: v, transposed: true })
      : null;
    coef.release();
    ha.release();
    hc.release();
    return [gx, gyy];
  });
}
