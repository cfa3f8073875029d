/**
 * The atlas fitter's flow-consistency terms (VIDEO_ATLAS.md §2): weighted distances between where a point maps and
 * where its flow-matched point maps, reduced to a scalar mean over the N rows given.
 *
 *   weightedPointDistance(a, b, w) = Σ_n w_n·‖a_n − b_n‖₂ / N     a, b: [N, 2], w: [N]
 *   weightedAbsDifference(a, b, w) = Σ_n w_n·|a_n − b_n| / N        a, b, w: [N] (or any shape of N values)
 *
 * The mean is over all N rows, valid or not (w carries the validity: (1 − α)·valid, α·valid). NLA averages over the
 * valid rows only; the fitter gets exactly that by drawing its flow points from the valid pixels (the masks are fixed
 * once the flow is computed), or by scaling the loss weight by N / N_valid. A distance in frame pixels is the uv
 * distance times W/(2S): fold that factor into the loss weight (the norm is homogeneous).
 *
 * Gradients to a, b and w. At a = b the norm's (and |·|'s) gradient is taken as 0, as PyTorch does.
 */
import { EngineError, shapeStr } from '../gpu/errors';
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertSameEngine, assertSameShape, perElementOutput, perElementWgsl } from './common';
import { reduceToScalar } from './reduce';

/** WGSL: a_n − b_n for the [N, 2] bindings a, b. */
const POINT_DIFF_WGSL = /* wgsl */ `
fn pointDiff(n: u32) -> vec2f { return vec2f(a[2u * n] - b[2u * n], a[2u * n + 1u] - b[2u * n + 1u]); }`;

/** Gradient for a (sign +1) or b (sign −1), one invocation per coordinate: sign·g·w·(a − b)/‖a − b‖ / N. */
const DISTANCE_POINT_GRAD_WGSL = perElementWgsl({
  fields: 'scale: f32',
  read: ['a', 'b', 'w', 'g'],
  write: ['out'],
  helpers: POINT_DIFF_WGSL,
  body: `
  let n = i / 2u;
  let d = pointDiff(n);
  let len = length(d);
  var v = 0.0;
  if (len > 0.0) { v = p.scale * g[0] * w[n] * (a[i] - b[i]) / len; }
  out[i] = v;`,
});

const DISTANCE_WEIGHT_GRAD_WGSL = perElementWgsl({
  fields: 'scale: f32',
  read: ['a', 'b', 'g'],
  write: ['out'],
  helpers: POINT_DIFF_WGSL,
  body: 'out[i] = p.scale * g[0] * length(pointDiff(i));',
});

/** sign·g·w·sgn(a − b) / N (sgn(0) = 0). */
const ABS_VALUE_GRAD_WGSL = perElementWgsl({
  fields: 'scale: f32',
  read: ['a', 'b', 'w', 'g'],
  write: ['out'],
  body: 'out[i] = p.scale * g[0] * w[i] * sign(a[i] - b[i]);',
});

const ABS_WEIGHT_GRAD_WGSL = perElementWgsl({
  fields: 'scale: f32',
  read: ['a', 'b', 'g'],
  write: ['out'],
  body: 'out[i] = p.scale * g[0] * abs(a[i] - b[i]);',
});

/** The weight holds one value per row; [N] or [N, 1] (an MLP's output) both do. */
function checkWeight(op: string, rows: number, weight: Tensor): void {
  if (weight.size !== rows) {
    throw new EngineError(op, `weight must hold ${rows} values ([${rows}]), got ${shapeStr(weight.shape)}`);
  }
}

/** Σ w·‖a − b‖₂ / N over points a, b [N, 2] with weights w [N]; returns [1]. */
export function weightedPointDistance(a: Tensor, b: Tensor, weight: Tensor): Tensor {
  const op = 'weightedPointDistance';
  assertSameEngine(op, a, b, weight);
  assertSameShape(op, a, b);
  if (a.shape.length !== 2 || a.shape[1] !== 2) throw new EngineError(op, `a must be [N,2], got ${shapeStr(a.shape)}`);
  const N = a.shape[0];
  checkWeight(op, N, weight);
  const out = reduceToScalar(op, [a, b, weight], N, 'c[i] * length(pointDiff(i))', 1 / N, POINT_DIFF_WGSL);
  return record(op, [a, b, weight], out, (gy) => {
    const pointGrad = (sign: number) =>
      perElementOutput({
        name: `${op}-backward`,
        code: DISTANCE_POINT_GRAD_WGSL,
        params: new Params().u32(2 * N).f32(sign / N),
        read: [a, b, weight, gy],
        shape: a.shape,
      });
    return [
      a.requiresGrad ? pointGrad(1) : null,
      b.requiresGrad ? pointGrad(-1) : null,
      weight.requiresGrad
        ? perElementOutput({
            name: `${op}-weight-backward`,
            code: DISTANCE_WEIGHT_GRAD_WGSL,
            params: new Params().u32(N).f32(1 / N),
            read: [a, b, gy],
            shape: weight.shape,
          })
        : null,
    ];
  });
}

/** Σ w·|a − b| / N over a, b, w of N values each ([N], or e.g. [N, 1] alphas); returns [1]. */
export function weightedAbsDifference(a: Tensor, b: Tensor, weight: Tensor): Tensor {
  const op = 'weightedAbsDifference';
  assertSameEngine(op, a, b, weight);
  assertSameShape(op, a, b);
  const N = a.size;
  checkWeight(op, N, weight);
  const out = reduceToScalar(op, [a, b, weight], N, 'c[i] * abs(a[i] - b[i])', 1 / N);
  return record(op, [a, b, weight], out, (gy) => {
    const valueGrad = (sign: number) =>
      perElementOutput({
        name: `${op}-backward`,
        code: ABS_VALUE_GRAD_WGSL,
        params: new Params().u32(N).f32(sign / N),
        read: [a, b, weight, gy],
        shape: a.shape,
      });
    return [
      a.requiresGrad ? valueGrad(1) : null,
      b.requiresGrad ? valueGrad(-1) : null,
      weight.requiresGrad
        ? perElementOutput({
            name: `${op}-weight-backward`,
            code: ABS_WEIGHT_GRAD_WGSL,
            params: new Params().u32(N).f32(1 / N),
            read: [a, b, gy],
            shape: weight.shape,
          })
        : null,
    ];
  });
}
