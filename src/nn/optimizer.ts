/**
 * What the optimizers share: the parameter list, per-parameter state tensors created at a parameter's first
 * update, the global step count, checkpoint naming (`<param>.<state>`), restore and disposal. Subclasses
 * declare their state names, how a state starts, and the update kernel.
 */
import type { Engine } from '../gpu/engine';
import { EngineError, shapeStr } from '../gpu/errors';
import type { Tensor } from '../gpu/tensor';
import type { Parameter } from './parameter';

export type OptimizerState = Readonly<Record<string, Tensor>>;

export abstract class Optimizer {
  /** Steps taken. Restore it with loadState or by assignment when resuming. */
  stepCount = 0;
  protected readonly engine: Engine;
  private readonly states = new Map<Parameter, OptimizerState>();

  constructor(
    /** Names the optimizer in errors ("Adam", "Madgrad"). */
    private readonly kind: string,
    readonly params: readonly Parameter[],
  ) {
    if (params.length === 0) throw new Error(`${kind}: no parameters`);
    this.engine = params[0].value.engine;
    const names = new Set<string>();
    for (const p of params) {
      if (names.has(p.name)) throw new Error(`${kind}: duplicate parameter name "${p.name}"`);
      names.add(p.name);
    }
  }

  /** The per-parameter state tensors, in checkpoint order. */
  protected abstract readonly stateNames: readonly string[];

  /** A new state tensor of parameter p (kept; released by dispose). */
  protected abstract initState(p: Parameter, name: string): Tensor;

  /** p's state, created as the reference does at its first step. */
  protected stateOf(p: Parameter): OptimizerState {
    let st = this.states.get(p);
    if (!st) {
      st = Object.fromEntries(this.stateNames.map((n) => [n, this.initState(p, n).keep()]));
      this.states.set(p, st);
    }
    return st;
  }

  /** The parameters that have a gradient this step, with it (checked against the parameter's size). */
  protected withGradients(op: string): Array<[Parameter, Tensor]> {
    const out: Array<[Parameter, Tensor]> = [];
    for (const p of this.params) {
      const g = p.value.grad;
      if (!g) continue;
      if (g.size !== p.value.size) {
        throw new EngineError(op, `gradient ${shapeStr(g.shape)} does not match ${p.name} ${shapeStr(p.value.shape)}`);
      }
      out.push([p, g]);
    }
    return out;
  }

  /**
   * The state tensors for checkpoints, named `<param>.<state>`, in parameter order. Creates the state of
   * parameters that have none yet (as their first step would), so a fresh optimizer can be loaded into. The step
   * count is not a tensor: keep `stepCount` with the checkpoint.
   */
  state(): Parameter[] {
    return this.params.flatMap((p) => {
      const st = this.stateOf(p);
      return this.stateNames.map((n) => ({ name: `${p.name}.${n}`, value: st[n] }));
    });
  }

  /**
   * Restores the state from host data named as in state() and the step count. Every name must be present with
   * the right size; nothing is written on error.
   */
  loadState(data: ReadonlyMap<string, Float32Array>, stepCount: number): void {
    const targets = this.state();
    for (const t of targets) {
      const d = data.get(t.name);
      if (!d) throw new Error(`${this.kind}.loadState: missing "${t.name}"`);
      if (d.length !== t.value.size) {
        throw new Error(`${this.kind}.loadState: "${t.name}" has ${d.length} values, expected ${t.value.size}`);
      }
    }
    for (const t of targets) this.engine.upload(t.value.buffer, data.get(t.name)!);
    this.stepCount = stepCount;
  }

  /** Releases the state tensors (not the parameters). */
  dispose(): void {
    for (const st of this.states.values()) for (const t of Object.values(st)) t.release();
    this.states.clear();
  }
}
