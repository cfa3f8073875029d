/** Losses reduced to a scalar. */
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertSameEngine, assertSameShape, perElementOutput, perElementWgsl } from './common';
import { reduceToScalar } from './reduce';

/** out[i] = scale · g[0] · (a[i] − b[i]): the gradient of the mean squared error for a (scale 2/n) or b (−2/n). */
const MSE_BACKWARD_WGSL = perElementWgsl({
  fields: 'scale: f32',
  read: ['a', 'b', 'g'],
  write: ['out'],
  body: 'out[i] = p.scale * g[0] * (a[i] - b[i]);',
});

function mseGrad(a: Tensor, b: Tensor, gy: Tensor, scale: number): Tensor {
  const params = new Params().u32(a.size).f32(scale);
  return perElementOutput({ name: 'mse-backward', code: MSE_BACKWARD_WGSL, params, read: [a, b, gy], shape: a.shape });
}

/** Mean over all elements of (a − b)², shape [1] (PyTorch's F.mse_loss with reduction='mean'). */
export function mse(a: Tensor, b: Tensor): Tensor {
  assertSameEngine('mse', a, b);
  assertSameShape('mse', a, b);
  const n = a.size;
  const out = reduceToScalar('mse', [a, b], n, '(a[i] - b[i]) * (a[i] - b[i])', 1 / n);
  return record('mse', [a, b], out, (gy) => [
    a.requiresGrad ? mseGrad(a, b, gy, 2 / n) : null,
    b.requiresGrad ? mseGrad(a, b, gy, -2 / n) : null,
  ]);
}
