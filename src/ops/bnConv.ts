/**
 * BatchNorm2d (training mode), optionally LeakyReLU, then conv2d, as one autograd unit that saves only the BN
 * input: the normalised (and activated) tensor z that feeds the convolution is computed, convolved and released
 * in the forward, and recomputed from the saved input and BN statistics in the backward, where the conv's weight
 * gradient needs it. One activation-sized tensor less is held per unit between forward and backward (the skip
 * generator's concat BN → up conv, up BN → LeakyReLU → up 1×1 conv, and down1 BN → LeakyReLU → down2 conv).
 *
 * Built from the ops' own kernels (batchNorm's statistics, apply and backward; leakyRelu's, its backward run in
 * place on the conv's input gradient; conv2d's), run on the same inputs in the same way, so the output and every
 * gradient are bit for bit those of `conv2d(leakyRelu(batchNorm(x, γ, β)), W, b)`.
 */
import { EngineError } from '../gpu/errors';
import { record } from '../gpu/tape';
import type { Tensor } from '../gpu/tensor';
import { leakyReluBackwardInPlace, leakyReluForward } from './activation';
import { type Conv2dOptions, conv2dKernels, conv2dShape } from './conv';
import { batchNormApply, batchNormBackward, batchStats, checkBatchNorm } from './norm';

const OP = 'batchNormConv2d';

export interface BatchNormConv2dOptions extends Conv2dOptions {
  /** BN's eps (default 1e-5). */
  eps?: number;
  /** Slope of a LeakyReLU between BN and conv (must be > 0: its backward reads the output); omitted: none. */
  leakySlope?: number;
}

/**
 * conv2d(leakyRelu?(batchNorm(x, gamma, beta, eps)), weight, bias, {stride, padding}), recorded as one tape node
 * with inputs [x, gamma, beta, weight, bias?]. The backward recomputes the conv input instead of keeping it.
 */
export function batchNormConv2d(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  opts: BatchNormConv2dOptions = {},
): Tensor {
  const eps = opts.eps ?? 1e-5;
  const slope = opts.leakySlope;
  checkBatchNorm(OP, x, gamma, beta, eps);
  if (slope !== undefined && !(slope > 0 && Number.isFinite(slope))) {
    throw new EngineError(OP, `leakySlope must be a finite number > 0, got ${slope}`);
  }
  // z has x's shape and engine, so x stands in for it in conv2d's argument checks (all made before any work).
  const shape = conv2dShape(x, weight, bias, { stride: opts.stride, padding: opts.padding });
  const stats = batchStats(x, eps);
  /** The conv's input z: BN's output, through the activation when there is one. */
  const convInput = (): Tensor => {
    const bn = batchNormApply(x, stats, gamma, beta);
    if (slope === undefined) return bn;
    const a = leakyReluForward(bn, slope);
    bn.release();
    return a;
  };
  const z = convInput();
  const y = conv2dKernels.forward(z, weight, bias, shape);
  // Released into the pool after encoding: later users of the buffer run after the convolution.
  z.release();
  const inputs = bias ? [x, gamma, beta, weight, bias] : [x, gamma, beta, weight];
  record(OP, inputs, y, (gy) => {
    const bnNeedsGrad = x.requiresGrad || gamma.requiresGrad || beta.requiresGrad;
    // Order chosen for the smallest peak: the recomputed z first (for the weight gradient), released as soon as
    // nothing needs it; the activation's backward then runs in place on the conv input's gradient.
    const actNeedsZ = bnNeedsGrad && slope !== undefined;
    let z: Tensor | null = weight.requiresGrad || actNeedsZ ? convInput() : null;
    const gw = z && weight.requiresGrad ? conv2dKernels.gradWeight(gy, z, shape) : null;
    // Released into the pool after encoding: later users of the buffer run after the kernels that read it.
    if (z && !actNeedsZ) {
      z.release();
      z = null;
    }
    const gz = bnNeedsGrad ? conv2dKernels.gradInput(gy, weight, shape) : null;
    if (gz && z && slope !== undefined) {
      // The activation's output has its input's sign (slope > 0): PyTorch's leaky_relu_backward, on gz.
      leakyReluBackwardInPlace(z, gz, slope);
      z.release();
    }
    const gb = bias?.requiresGrad ? conv2dKernels.gradBias(gy, shape) : null;
    const grads: Array<Tensor | null> = [null, null, null, gw];
    if (gz) {
      const { dx, dgamma, dbeta } = batchNormBackward(x, gz, stats, gamma, beta, x.requiresGrad);
      gz.release();
      if (!gamma.requiresGrad) dgamma.release();
      if (!beta.requiresGrad) dbeta.release();
      grads[0] = dx;
      grads[1] = gamma.requiresGrad ? dgamma : null;
      grads[2] = beta.requiresGrad ? dbeta : null;
    }
    stats.release();
    if (bias) grads.push(gb);
    return grads;
  });
  // Without a tape nothing will read the statistics again.
  if (!y.requiresGrad) stats.release();
  return y;
}
