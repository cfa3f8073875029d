/** Shape checks shared by the flow kernels' wrappers. */
import { EngineError, shapeStr } from '../../gpu/errors';
import type { Tensor } from '../../gpu/tensor';

/** [N, C, H, W] of a rank-4 tensor, with C checked when `channels` is given. */
export function dims4(op: string, t: Tensor, what: string, channels?: number): [number, number, number, number] {
  if (t.shape.length !== 4 || (channels !== undefined && t.shape[1] !== channels)) {
    const want = channels === undefined ? '[N,C,H,W]' : `[N,${channels},H,W]`;
    throw new EngineError(op, `${what} must be ${want}, got ${shapeStr(t.shape)}`);
  }
  const [n, c, h, w] = t.shape;
  return [n, c, h, w];
}

/** Throws unless `t` is [n, channels, h, w]. */
export function expectShape(op: string, t: Tensor, what: string, shape: readonly number[]): void {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new EngineError(op, `${what} must be ${shapeStr(shape)}, got ${shapeStr(t.shape)}`);
  }
}

/**
 * The number of forward pairs n = F − 1 of a batch of `pairs` pairs over `frames` frames: the batch holds either
 * the forward pairs alone (pairs = n) or forward and backward ones (pairs = 2n).
 */
export function forwardPairs(op: string, frames: number, pairs: number): number {
  const n = frames - 1;
  if (n < 1 || (pairs !== n && pairs !== 2 * n)) {
    throw new EngineError(op, `${pairs} pairs do not fit ${frames} frames (expected ${n} or ${2 * n})`);
  }
  return n;
}
