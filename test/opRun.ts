/** Runs a unary tensor op forward and backward (with a given output gradient) and reads both back. */
import type { Engine } from '../src/gpu/engine';
import { Tape } from '../src/gpu/tape';
import type { Tensor } from '../src/gpu/tensor';

export async function forwardBackward(
  e: Engine,
  shape: readonly number[],
  x: ArrayLike<number>,
  f: (x: Tensor) => Tensor,
  gy: (outSize: number) => Float32Array,
): Promise<{ y: Float32Array; gx: Float32Array; shape: readonly number[] }> {
  const res = e.tidy(() => {
    const tx = e.fromArray(shape, Float32Array.from(x));
    tx.requiresGrad = true;
    const tape = Tape.start(e);
    const ty = f(tx);
    tape.backward(ty, e.fromArray(ty.shape, gy(ty.size)));
    return { y: ty, gx: tx.grad! };
  });
  const [y, gx] = await Promise.all([res.y.read(), res.gx.read()]);
  const outShape = res.y.shape;
  res.y.release();
  res.gx.release();
  return { y, gx, shape: outShape };
}
