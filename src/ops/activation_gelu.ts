/** QuickGELU (CLIP's MLP activation): y = x·σ(1.702x), with its backward. */
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { SIGMOID_FN_WGSL } from './activation';
import { assertSameEngine, assertSameShape, perElementOutput, perElementWgsl } from './common';

const QUICK_GELU_ALPHA = 1.702;

const FORWARD_WGSL = perElementWgsl({
  read: ['x'],
  write: ['y'],
  helpers: SIGMOID_FN_WGSL,
  body: `
  let v = x[i];
  y[i] = v * sigmoid(${QUICK_GELU_ALPHA} * v);`,
});

/** d/dx x·σ(αx) = σ(αx) + αx·σ(αx)·(1 − σ(αx)). */
const BACKWARD_WGSL = perElementWgsl({
  read: ['x', 'gy'],
  write: ['gx'],
  helpers: SIGMOID_FN_WGSL,
  body: `
  let v = x[i];
  let s = sigmoid(${QUICK_GELU_ALPHA} * v);
  gx[i] = gy[i] * (s + ${QUICK_GELU_ALPHA} * v * s * (1.0 - s));`,
});

/** QuickGELU: x·σ(1.702x), elementwise. */
export function quickGelu(x: Tensor): Tensor {
  const params = new Params().u32(x.size);
  const y = perElementOutput({ name: 'quickGelu', code: FORWARD_WGSL, params, read: [x], shape: x.shape });
  return record('quickGelu', [x], y, (gy) => [quickGeluBackward(x, gy)]);
}

/** The gradient of quickGelu at x for output gradient gy (not recorded). */
export function quickGeluBackward(x: Tensor, gy: Tensor): Tensor {
  const op = 'quickGelu-backward';
  assertSameEngine(op, x, gy);
  assertSameShape(op, x, gy);
  return perElementOutput({
    name: op,
    code: BACKWARD_WGSL,
    params: new Params().u32(x.size),
    read: [x, gy],
    shape: x.shape,
  });
}
