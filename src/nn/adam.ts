/**
 * Adam with PyTorch's semantics (torch.optim.Adam, amsgrad off): coupled L2 decay, bias correction, eps added
 * outside the square root. One fused WGSL kernel per parameter tensor; nothing is read back to the CPU.
 *
 * Step t (1-based):
 *   g = grad + wd·x
 *   m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²
 *   x = x − (lr / (1 − β1^t)) · m / (sqrt(v) / sqrt(1 − β2^t) + eps)
 */
import { Params } from '../gpu/params';
import type { Tensor } from '../gpu/tensor';
import { perElementWgsl, WG } from '../ops/common';
import type { Parameter } from './parameter';
import { Optimizer } from './optimizer';

export interface AdamOptions {
  /** Default learning rate of step() (1e-3). */
  lr?: number;
  /** [β1, β2] ([0.9, 0.999]). */
  betas?: [number, number];
  /** (1e-8) */
  eps?: number;
  /** Coupled L2 decay added to the gradient, as torch.optim.Adam's weight_decay (0). */
  weightDecay?: number;
}

const ADAM_WGSL = perElementWgsl({
  fields: 'beta1: f32, c1: f32, beta2: f32, c2: f32, stepSize: f32, bc2Sqrt: f32, eps: f32, wd: f32',
  read: ['grad'],
  write: ['x', 'm', 'v'],
  body: `
  let xi = x[i];
  let g = grad[i] + p.wd * xi;
  let mi = m[i] * p.beta1 + p.c1 * g;
  let vi = v[i] * p.beta2 + p.c2 * g * g;
  let denom = sqrt(vi) / p.bc2Sqrt + p.eps;
  m[i] = mi;
  v[i] = vi;
  x[i] = xi - p.stepSize * (mi / denom);`,
});

/** The per-parameter state tensors, in checkpoint order (`optim.<param>.<state>`). */
export const ADAM_STATE_NAMES = ['m', 'v'] as const;

export class Adam extends Optimizer {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  protected readonly stateNames = ADAM_STATE_NAMES;

  constructor(params: readonly Parameter[], opts: AdamOptions = {}) {
    super('Adam', params);
    this.lr = opts.lr ?? 1e-3;
    [this.beta1, this.beta2] = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    for (const b of [this.beta1, this.beta2]) {
      if (!(b >= 0 && b < 1)) throw new Error(`Adam: beta ${b} not in [0,1)`);
    }
    if (!(this.lr >= 0)) throw new Error(`Adam: learning rate ${this.lr} must be non-negative`);
    if (!(this.eps >= 0)) throw new Error(`Adam: eps ${this.eps} must be non-negative`);
    if (!(this.weightDecay >= 0)) throw new Error(`Adam: weight decay ${this.weightDecay} must be non-negative`);
  }

  /** m = v = 0. */
  protected initState(p: Parameter, name: string): Tensor {
    return this.engine.zeros(p.value.shape, `${p.name}.${name}`);
  }

  /**
   * One update of every parameter that has a gradient (`value.grad`); others are skipped. The step count is global
   * (torch keeps one per parameter; they agree when every parameter gets a gradient every step). Does not flush.
   */
  step(lr: number = this.lr): void {
    const e = this.engine;
    const t = this.stepCount + 1;
    const bc1 = 1 - this.beta1 ** t;
    const bc2 = 1 - this.beta2 ** t;
    const stepSize = lr / bc1;
    for (const [p, g] of this.withGradients('adam')) {
      const st = this.stateOf(p);
      e.run({
        name: 'adam',
        code: ADAM_WGSL,
        params: new Params()
          .u32(p.value.size)
          .f32(this.beta1)
          .f32(1 - this.beta1)
          .f32(this.beta2)
          .f32(1 - this.beta2)
          .f32(stepSize)
          .f32(Math.sqrt(bc2))
          .f32(this.eps)
          .f32(this.weightDecay),
        read: [g],
        write: [p.value, st.m, st.v],
        workgroups: e.grid(p.value.size, WG),
      });
    }
    this.stepCount = t;
  }
}
