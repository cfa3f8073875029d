/**
 * Binary cross-entropy on probabilities (the atlas fitter's alpha bootstrap against the masks, VIDEO_ATLAS.md §2):
 *
 *   bceLoss(p, t, w) = Σ_n −w_n·(t_n·log q_n + (1 − t_n)·log(1 − q_n)) / N,   q = clamp(p, ε, 1 − ε)
 *
 * mean over all N elements (not divided by Σw); w defaults to 1. ε = 1e-6 by default: the alpha the fitter feeds in is
 * already clamped to [0.001, 0.999], so this clamp only keeps the log finite (a probability of exactly 0 or 1 from a
 * saturated float32 sigmoid); PyTorch's BCELoss clamps the log at −100 instead. As for torch.clamp, the gradient to p
 * is zero where p lies outside [ε, 1 − ε] (inclusive bounds pass it). Gradients: to p
 * −w·(t/q − (1 − t)/(1 − q))/N, to the target −w·(log q − log(1 − q))/N, to the weight the per-element loss / N.
 */
import { EngineError, shapeStr } from '../gpu/errors';
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertSameEngine, assertSameShape, perElementOutput, perElementWgsl } from './common';
import { reduceToScalar } from './reduce';
import { f32Literal } from './wgslLiteral';

/** Default clamp of the probabilities. */
export const BCE_EPS = 1e-6;

/** WGSL over bindings a (p), b (target): the clamped probability, the per-element loss and ∂/∂p, ∂/∂t. */
const BCE_WGSL = /* wgsl */ `
fn clampedP(i: u32, eps: f32) -> f32 { return clamp(a[i], eps, 1.0 - eps); }
fn bceTerm(i: u32, eps: f32) -> f32 {
  let q = clampedP(i, eps);
  return -(b[i] * log(q) + (1.0 - b[i]) * log(1.0 - q));
}
fn bceGradP(i: u32, eps: f32) -> f32 {
  let v = a[i];
  if (!(v >= eps && v <= 1.0 - eps)) { return 0.0; }
  return -(b[i] / v - (1.0 - b[i]) / (1.0 - v));
}
fn bceGradTarget(i: u32, eps: f32) -> f32 {
  let q = clampedP(i, eps);
  return -(log(q) - log(1.0 - q));
}`;

type GradTerm = 'bceGradP' | 'bceGradTarget' | 'bceTerm';

const gradKernels = new Map<string, string>();

/** Backward kernel: scale·g·w·term(i) for p and the target (w = 1 when unweighted), scale·g·bceTerm(i) for w. */
function gradWgsl(term: GradTerm, weighted: boolean): string {
  const byWeight = weighted && term !== 'bceTerm';
  const key = `${term}:${byWeight}`;
  const cached = gradKernels.get(key);
  if (cached) return cached;
  const code = perElementWgsl({
    fields: 'scale: f32, eps: f32',
    read: byWeight ? ['a', 'b', 'g', 'w'] : ['a', 'b', 'g'],
    write: ['out'],
    helpers: BCE_WGSL,
    body: `out[i] = p.scale * g[0] * ${byWeight ? 'w[i] * ' : ''}${term}(i, p.eps);`,
  });
  gradKernels.set(key, code);
  return code;
}

/**
 * Mean binary cross-entropy of probabilities p against targets in [0, 1], optionally weighted per element; returns
 * [1]. target has p's shape; weight holds p.size values. See the file comment for ε and the gradients.
 */
export function bceLoss(p: Tensor, target: Tensor, weight?: Tensor, eps = BCE_EPS): Tensor {
  const op = 'bceLoss';
  assertSameEngine(op, p, target, ...(weight ? [weight] : []));
  assertSameShape(op, p, target);
  if (weight && weight.size !== p.size) {
    throw new EngineError(op, `weight must hold ${p.size} values, got ${shapeStr(weight.shape)}`);
  }
  if (!(eps > 0 && eps < 0.5)) throw new EngineError(op, `eps must be in (0, 0.5), got ${eps}`);
  const N = p.size;
  const epsWgsl = f32Literal(eps);
  const expr = `${weight ? 'c[i] * ' : ''}bceTerm(i, ${epsWgsl})`;
  const inputs = weight ? [p, target, weight] : [p, target];
  const out = reduceToScalar(op, inputs, N, expr, 1 / N, BCE_WGSL);
  return record(op, inputs, out, (gy) => {
    const grad = (t: Tensor, term: GradTerm) =>
      t.requiresGrad
        ? perElementOutput({
            name: `${op}-backward`,
            code: gradWgsl(term, !!weight),
            params: new Params()
              .u32(N)
              .f32(1 / N)
              .f32(eps),
            read: weight && term !== 'bceTerm' ? [p, target, gy, weight] : [p, target, gy],
            shape: t.shape,
          })
        : null;
    const grads = [grad(p, 'bceGradP'), grad(target, 'bceGradTarget')];
    if (weight) grads.push(grad(weight, 'bceTerm'));
    return grads;
  });
}
