/**
 * MADGRAD (facebookresearch/madgrad, dense path with momentum), spec §A.10. One fused WGSL kernel per parameter
 * tensor updates the parameter and its state in place; nothing is read back to the CPU.
 *
 * Per parameter tensor the state is `x0` (the parameter at its first step), `s` and `v` (ν); the step counter k is
 * global. Step k with learning rate lr_k:
 *   λ = (lr_k + eps)·sqrt(k + 1)
 *   g = grad + wd·x            (coupled L2 decay)
 *   v = v + λ·g²;  s = s + λ·g
 *   z = x0 − s / (cbrt(v) + eps)
 *   x = momentum·x + (1 − momentum)·z
 * With momentum 0 the reference recomputes x0 from x, s and v each step; keeping x0 as state is the same update.
 */
import { Params } from '../gpu/params';
import type { Tensor } from '../gpu/tensor';
import { perElementWgsl, WG } from '../ops/common';
import type { Parameter } from './parameter';
import { Optimizer } from './optimizer';

export interface MadgradOptions {
  /** Default learning rate of step() (0.0025). */
  lr?: number;
  /** β in [0,1) (0.9). */
  momentum?: number;
  /** Coupled L2 decay (0; Text2LIVE uses 0.01). */
  weightDecay?: number;
  /** Added to the cube root and to the learning rate (1e-6). */
  eps?: number;
}

const MADGRAD_WGSL = perElementWgsl({
  fields: 'lambda: f32, wd: f32, momentum: f32, ck: f32, eps: f32',
  read: ['grad', 'x0'],
  write: ['x', 's', 'v'],
  body: `
  let xi = x[i];
  let g = grad[i] + p.wd * xi;
  let vi = v[i] + p.lambda * g * g;
  let si = s[i] + p.lambda * g;
  // pow(0, y) is undefined in WGSL: the cube root of 0 is written out.
  let rms = select(pow(vi, 1.0 / 3.0), 0.0, vi <= 0.0) + p.eps;
  let z = x0[i] - si / rms;
  v[i] = vi;
  s[i] = si;
  x[i] = p.momentum * xi + p.ck * z;`,
});

/** The per-parameter state tensors, in checkpoint order (`optim.<param>.<state>`). */
export const MADGRAD_STATE_NAMES = ['s', 'v', 'x0'] as const;

export class Madgrad extends Optimizer {
  readonly lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly eps: number;
  protected readonly stateNames = MADGRAD_STATE_NAMES;

  constructor(params: readonly Parameter[], opts: MadgradOptions = {}) {
    super('Madgrad', params);
    this.lr = opts.lr ?? 0.0025;
    this.momentum = opts.momentum ?? 0.9;
    this.weightDecay = opts.weightDecay ?? 0;
    this.eps = opts.eps ?? 1e-6;
    if (!(this.momentum >= 0 && this.momentum < 1)) throw new Error(`Madgrad: momentum ${this.momentum} not in [0,1)`);
    if (!(this.lr > 0)) throw new Error(`Madgrad: learning rate ${this.lr} must be positive`);
    if (!(this.weightDecay >= 0)) throw new Error(`Madgrad: weight decay ${this.weightDecay} must be non-negative`);
    if (!(this.eps >= 0)) throw new Error(`Madgrad: eps ${this.eps} must be non-negative`);
  }

  /** As the reference at a parameter's first step: x0 = a copy of the parameter, s = v = 0. */
  protected initState(p: Parameter, name: string): Tensor {
    const e = this.engine;
    if (name !== 'x0') return e.zeros(p.value.shape, `${p.name}.${name}`);
    const x0 = e.empty(p.value.shape, `${p.name}.x0`);
    e.copy(p.value, x0, p.value.byteSize);
    return x0;
  }

  /**
   * One update of every parameter that has a gradient (`value.grad`, set by Tape.backward), with learning rate lr;
   * parameters without a gradient are skipped (their state is created at their first gradient). Encodes one kernel
   * per parameter tensor; does not flush.
   */
  step(lr: number = this.lr): void {
    const e = this.engine;
    const lambda = (lr + this.eps) * Math.sqrt(this.stepCount + 1);
    for (const [p, g] of this.withGradients('madgrad')) {
      const st = this.stateOf(p);
      e.run({
        name: 'madgrad',
        code: MADGRAD_WGSL,
        params: new Params()
          .u32(p.value.size)
          .f32(lambda)
          .f32(this.weightDecay)
          .f32(this.momentum)
          .f32(1 - this.momentum)
          .f32(this.eps),
        read: [g, st.x0],
        write: [p.value, st.s, st.v],
        workgroups: e.grid(p.value.size, WG),
      });
    }
    this.stepCount++;
  }
}
