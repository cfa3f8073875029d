/** Shared by the optimizers: restoring named state tensors from host data. */
import type { Engine } from '../gpu/engine';
import type { Parameter } from './parameter';

/** Checks every target is present with the right size, then uploads all of them (nothing is written on error). */
export function uploadNamedState(
  engine: Engine,
  owner: string,
  targets: readonly Parameter[],
  data: ReadonlyMap<string, Float32Array>,
): void {
  for (const t of targets) {
    const d = data.get(t.name);
    if (!d) throw new Error(`${owner}.loadState: missing "${t.name}"`);
    if (d.length !== t.value.size) {
      throw new Error(`${owner}.loadState: "${t.name}" has ${d.length} values, expected ${t.value.size}`);
    }
  }
  for (const t of targets) engine.upload(t.value.buffer, data.get(t.name)!);
}
