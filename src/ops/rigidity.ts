/**
 * NLA's rigidity loss on a uv mapping (VIDEO_ATLAS.md §2): the symmetric dilation of the mapping's Jacobian,
 * estimated by finite differences, averaged over points.
 *
 * Per point n, with the mapping evaluated at the point (uv), one step δ along x (uvDx) and one along y (uvDy):
 *   J = [[a, b], [c, d]] = [ (uvDx − uv) / (δ·S) | (uvDy − uv) / (δ·S) ]   (columns: ∂uv/∂x, ∂uv/∂y; S = scale)
 *   M = JᵀJ,  loss_n = ‖M‖_F + ‖(M + εI)⁻¹‖_F
 * and the result is the mean over N. ε (default 1e-3, NLA's value) regularises only the inverse, so a rank-deficient
 * or zero J gives a large but finite loss (√2/ε for J = 0) and a finite gradient; ‖M‖_F's gradient at M = 0 is taken
 * as 0. For the identity-scaled mapping uv = S·(x, y) the loss is √2 + √2/(1 + ε), its minimum.
 * The inverse's norm is computed as ‖M + εI‖_F / det(M + εI) (true for symmetric 2×2 matrices) with
 * det(M + εI) = (ad − bc)² + ε·tr(M) + ε², which avoids the cancellation of p·r − q² for nearly singular J.
 * The global-rigidity variant is the same loss with the larger step (δ = its offset).
 */
import { EngineError } from '../gpu/errors';
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertRank, assertSameEngine, assertSameShape, perElementWgsl, WG } from './common';
import { reduceToScalar } from './reduce';
import { f32Literal } from './wgslLiteral';

/** NLA's regulariser of (JᵀJ)⁻¹. */
export const RIGIDITY_INVERSE_EPS = 1e-3;

/**
 * WGSL over bindings a (uv), b (uvDx), c (uvDy): `jacobianAt(i)` = (a, b, c, d) of J, `dilation(J)` = loss_n and
 * `dilationGrad(J)` = ∂loss_n/∂(a, b, c, d).
 */
function dilationWgsl(invStep: number, eps: number): string {
  return /* wgsl */ `
const INV_STEP = ${f32Literal(invStep)};
const EPS = ${f32Literal(eps)};
fn jacobianAt(i: u32) -> vec4f {
  let o = vec2f(a[2u * i], a[2u * i + 1u]);
  let jx = (vec2f(b[2u * i], b[2u * i + 1u]) - o) * INV_STEP;
  let jy = (vec2f(c[2u * i], c[2u * i + 1u]) - o) * INV_STEP;
  return vec4f(jx.x, jy.x, jx.y, jy.y);
}
/** M = JᵀJ as (p, q, r) = (M00, M01, M11). */
fn gram(J: vec4f) -> vec3f {
  return vec3f(J.x * J.x + J.z * J.z, J.x * J.y + J.z * J.w, J.y * J.y + J.w * J.w);
}
fn frobenius(m: vec3f) -> f32 { return sqrt(m.x * m.x + 2.0 * m.y * m.y + m.z * m.z); }
fn regularisedDet(J: vec4f, m: vec3f) -> f32 {
  let delta = J.x * J.w - J.y * J.z;
  return delta * delta + EPS * (m.x + m.z) + EPS * EPS;
}
fn dilation(J: vec4f) -> f32 {
  let m = gram(J);
  return frobenius(m) + frobenius(m + vec3f(EPS, 0.0, EPS)) / regularisedDet(J, m);
}
fn dilationGrad(J: vec4f) -> vec4f {
  let m = gram(J);
  let nM = frobenius(m);
  // ∂/∂(p, q, r) of ‖M‖_F (0 at M = 0) and of ‖M + εI‖_F / det.
  var t = vec3f(0.0);
  if (nM > 0.0) { t = vec3f(m.x, 2.0 * m.y, m.z) / nM; }
  let reg = m + vec3f(EPS, 0.0, EPS);
  let nA = frobenius(reg);
  let det = regularisedDet(J, m);
  t += vec3f(reg.x, 2.0 * reg.y, reg.z) / (nA * det);
  // Through (p, q, r) = (a² + c², ab + cd, b² + d²), then the det's own dependence on J.
  let viaGram = vec4f(2.0 * J.x * t.x + J.y * t.y, J.x * t.y + 2.0 * J.y * t.z,
                      2.0 * J.z * t.x + J.w * t.y, J.z * t.y + 2.0 * J.w * t.z);
  let delta = J.x * J.w - J.y * J.z;
  let dDet = 2.0 * delta * vec4f(J.w, -J.z, -J.y, J.x) + 2.0 * EPS * J;
  return viaGram - (nA / (det * det)) * dDet;
}`;
}

/** Per point: the gradients of loss_n · g/N with respect to uv, uvDx and uvDy. */
function backwardWgsl(invStep: number, eps: number): string {
  return perElementWgsl({
    fields: 'invN: f32',
    read: ['a', 'b', 'c', 'gy'],
    write: ['gUv', 'gDx', 'gDy'],
    helpers: dilationWgsl(invStep, eps),
    body: `
  let gJ = dilationGrad(jacobianAt(i)) * (gy[0] * p.invN * INV_STEP);
  gDx[2u * i] = gJ.x;
  gDx[2u * i + 1u] = gJ.z;
  gDy[2u * i] = gJ.y;
  gDy[2u * i + 1u] = gJ.w;
  gUv[2u * i] = -(gJ.x + gJ.y);
  gUv[2u * i + 1u] = -(gJ.z + gJ.w);`,
  });
}

/** The two kernels' WGSL for one (1/(δ·S), ε) pair, built once (the pipeline cache then hashes one string). */
const kernelsByConstants = new Map<string, { helpers: string; backward: string }>();
function kernelsFor(invStep: number, eps: number): { helpers: string; backward: string } {
  const key = `${invStep}:${eps}`;
  let k = kernelsByConstants.get(key);
  if (!k) {
    k = { helpers: dilationWgsl(invStep, eps), backward: backwardWgsl(invStep, eps) };
    kernelsByConstants.set(key, k);
  }
  return k;
}

/**
 * Mean over N of ‖JᵀJ‖_F + ‖(JᵀJ + εI)⁻¹‖_F with J = [(uvDx − uv)/δ | (uvDy − uv)/δ] / scale (see the file comment).
 * uv, uvDx, uvDy: [N, 2] (all learnable); delta: the finite-difference step in the mapping's input units; scale: the
 * mapping's identity scale S. Returns [1].
 */
export function rigidityLoss(
  uv: Tensor,
  uvDx: Tensor,
  uvDy: Tensor,
  delta: number,
  scale: number,
  inverseEps = RIGIDITY_INVERSE_EPS,
): Tensor {
  const op = 'rigidityLoss';
  assertSameEngine(op, uv, uvDx, uvDy);
  assertRank(op, uv, 2, 'uv');
  if (uv.shape[1] !== 2) throw new EngineError(op, `uv must be [N,2], got [${uv.shape.join(',')}]`);
  assertSameShape(op, uv, uvDx);
  assertSameShape(op, uv, uvDy);
  const invStep = 1 / (delta * scale);
  if (!Number.isFinite(invStep) || invStep === 0) {
    throw new EngineError(op, `delta·scale must be finite and non-zero, got ${delta}·${scale}`);
  }
  if (!(inverseEps > 0) || !Number.isFinite(inverseEps)) {
    throw new EngineError(op, `inverseEps must be positive, got ${inverseEps}`);
  }
  const N = uv.shape[0];
  const kernels = kernelsFor(invStep, inverseEps);
  const out = reduceToScalar(op, [uv, uvDx, uvDy], N, 'dilation(jacobianAt(i))', 1 / N, kernels.helpers);
  return record(op, [uv, uvDx, uvDy], out, (gy) => {
    const e = uv.engine;
    const grads = [uv, uvDx, uvDy].map(() => e.empty(uv.shape, `${op}-backward`));
    e.run({
      name: `${op}-backward`,
      code: kernels.backward,
      params: new Params().u32(N).f32(1 / N),
      read: [uv, uvDx, uvDy, gy],
      write: grads,
      workgroups: e.grid(N, WG),
    });
    return [uv, uvDx, uvDy].map((t, k) => {
      if (t.requiresGrad) return grads[k];
      grads[k].release();
      return null;
    });
  });
}
