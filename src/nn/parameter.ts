/** Trainable parameters: named, persistent tensors that require grad. */
import type { Engine } from '../gpu/engine';
import type { Tensor } from '../gpu/tensor';

export interface Parameter {
  /** Stable name used in checkpoints, e.g. `levels.0.down.conv.weight`. */
  readonly name: string;
  readonly value: Tensor;
}

/** Creates a persistent parameter tensor from host data. */
export function createParameter(engine: Engine, name: string, shape: number[], data: Float32Array): Parameter {
  const value = engine.fromArray(shape, data, name).keep();
  value.requiresGrad = true;
  return { name, value };
}

export function parameterCount(params: readonly Parameter[]): number {
  return params.reduce((n, p) => n + p.value.size, 0);
}
