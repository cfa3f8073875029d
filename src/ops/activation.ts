/** Pointwise activations: leaky ReLU (and ReLU, its slope-0 case) and sigmoid, each with its backward. */
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { perElementOutput, perElementWgsl, WG } from './common';

const LEAKY_RELU_WGSL = perElementWgsl({
  fields: 'slope: f32',
  read: ['x'],
  write: ['out'],
  body: `
  let v = x[i];
  out[i] = select(v * p.slope, v, v > 0.0);`,
});

/**
 * PyTorch's leaky_relu_backward: gy where x > 0, slope·gy elsewhere (x = 0 included). `s` is the input, or the
 * output where slope > 0 (same sign, and 0 where x is 0).
 */
const LEAKY_RELU_BACKWARD_WGSL = perElementWgsl({
  fields: 'slope: f32',
  read: ['s', 'gy'],
  write: ['gx'],
  body: `
  let g = gy[i];
  gx[i] = select(g * p.slope, g, s[i] > 0.0);`,
});

/** LEAKY_RELU_BACKWARD_WGSL writing over gy (g) in place: same arithmetic, one tensor less. */
const LEAKY_RELU_BACKWARD_INPLACE_WGSL = perElementWgsl({
  fields: 'slope: f32',
  read: ['s'],
  write: ['g'],
  body: `
  let v = g[i];
  g[i] = select(v * p.slope, v, s[i] > 0.0);`,
});

/** WGSL `sigmoid(z)`, overflow-free: exp is only taken of −|z| (also QuickGELU's). */
export const SIGMOID_FN_WGSL = /* wgsl */ `
fn sigmoid(z: f32) -> f32 {
  let e = exp(-abs(z));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), z >= 0.0);
}`;

const SIGMOID_WGSL = perElementWgsl({
  read: ['x'],
  write: ['out'],
  helpers: SIGMOID_FN_WGSL,
  body: 'out[i] = sigmoid(x[i]);',
});

/** gx = gy · y · (1 − y) from the saved output y. */
const SIGMOID_BACKWARD_WGSL = perElementWgsl({
  read: ['y', 'gy'],
  write: ['gx'],
  body: `
  let s = y[i];
  gx[i] = gy[i] * s * (1.0 - s);`,
});

/**
 * F.leaky_relu(x, slope): x where x > 0, slope·x elsewhere. With slope > 0 the output has the input's sign, so the
 * backward reads the output, not x: a caller may release x once nothing else needs it (the generator does, which
 * saves one activation-sized tensor per layer).
 */
export function leakyRelu(x: Tensor, slope = 0.2): Tensor {
  const out = leakyReluForward(x, slope);
  const signOf = slope > 0 ? out : x;
  return record('leakyRelu', [x], out, (gy) => [leakyReluBackward(signOf, gy, slope)]);
}

/** leakyRelu's forward kernel, no tape. */
export function leakyReluForward(x: Tensor, slope: number): Tensor {
  return perElementOutput({
    name: 'leakyRelu',
    code: LEAKY_RELU_WGSL,
    params: new Params().u32(x.size).f32(slope),
    read: [x],
    shape: x.shape,
  });
}

/**
 * leakyRelu's backward kernel, no tape: gx from gy and `signOf`, the input, or where slope > 0 the output (a fused
 * unit may pass an output it recomputed).
 */
export function leakyReluBackward(signOf: Tensor, gy: Tensor, slope: number): Tensor {
  return perElementOutput({
    name: 'leakyRelu-backward',
    code: LEAKY_RELU_BACKWARD_WGSL,
    params: new Params().u32(signOf.size).f32(slope),
    read: [signOf, gy],
    shape: signOf.shape,
  });
}

/**
 * leakyReluBackward overwriting gy with gx (the same values): for a fused unit whose gy is its own
 * intermediate, so that the gradient does not need a second buffer. No tape.
 */
export function leakyReluBackwardInPlace(signOf: Tensor, gy: Tensor, slope: number): void {
  const e = gy.engine;
  e.run({
    name: 'leakyRelu-backward-inplace',
    code: LEAKY_RELU_BACKWARD_INPLACE_WGSL,
    params: new Params().u32(gy.size).f32(slope),
    read: [signOf],
    write: [gy],
    workgroups: e.grid(gy.size, WG),
  });
}

/** ReLU max(x, 0) (the atlas MLPs'); the gradient at x = 0 is 0, as in PyTorch. */
export function relu(x: Tensor): Tensor {
  return leakyRelu(x, 0);
}

/** Logistic sigmoid 1 / (1 + e^−x). */
export function sigmoid(x: Tensor): Tensor {
  const params = () => new Params().u32(x.size);
  const out = perElementOutput({ name: 'sigmoid', code: SIGMOID_WGSL, params: params(), read: [x], shape: x.shape });
  return record('sigmoid', [x], out, (gy) => [
    perElementOutput({
      name: 'sigmoid-backward',
      code: SIGMOID_BACKWARD_WGSL,
      params: params(),
      read: [out, gy],
      shape: x.shape,
    }),
  ]);
}
