/** Elementwise arithmetic: add, sub, mul, scale (and affine a·x + b), each with its backward. */
import { Params } from '../gpu/params';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { assertSameEngine, assertSameShape, perElementOutput, perElementWgsl } from './common';

type Binary = 'add' | 'sub' | 'mul';

const BINARY_EXPR: Record<Binary, string> = { add: 'a[i] + b[i]', sub: 'a[i] - b[i]', mul: 'a[i] * b[i]' };

function binaryWgsl(expr: string): string {
  return perElementWgsl({ read: ['a', 'b'], write: ['out'], body: `out[i] = ${expr};` });
}

const AFFINE_WGSL = perElementWgsl({
  fields: 'scale: f32, shift: f32',
  read: ['x'],
  write: ['out'],
  body: 'out[i] = p.scale * x[i] + p.shift;',
});

function binaryRaw(kind: Binary, a: Tensor, b: Tensor): Tensor {
  assertSameEngine(kind, a, b);
  assertSameShape(kind, a, b);
  const code = binaryWgsl(BINARY_EXPR[kind]);
  return perElementOutput({ name: kind, code, params: new Params().u32(a.size), read: [a, b], shape: a.shape });
}

/** out = scale·x + shift, elementwise. */
export function affine(x: Tensor, scale: number, shift = 0): Tensor {
  const params = new Params().u32(x.size).f32(scale).f32(shift);
  const out = perElementOutput({ name: 'affine', code: AFFINE_WGSL, params, read: [x], shape: x.shape });
  return record('affine', [x], out, (gy) => [affine(gy, scale)]);
}

export function scale(x: Tensor, s: number): Tensor {
  return affine(x, s, 0);
}

export function add(a: Tensor, b: Tensor): Tensor {
  const out = binaryRaw('add', a, b);
  return record('add', [a, b], out, (gy) => [a.requiresGrad ? gy : null, b.requiresGrad ? gy : null]);
}

export function sub(a: Tensor, b: Tensor): Tensor {
  const out = binaryRaw('sub', a, b);
  return record('sub', [a, b], out, (gy) => [a.requiresGrad ? gy : null, b.requiresGrad ? affine(gy, -1) : null]);
}

export function mul(a: Tensor, b: Tensor): Tensor {
  const out = binaryRaw('mul', a, b);
  return record('mul', [a, b], out, (gy) => [
    a.requiresGrad ? binaryRaw('mul', gy, b) : null,
    b.requiresGrad ? binaryRaw('mul', gy, a) : null,
  ]);
}
