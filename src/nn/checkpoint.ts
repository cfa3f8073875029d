/**
 * Checkpoints as safetensors files (float32).
 *
 * Naming: each parameter is stored under its own name (e.g. `levels.0.down1.conv.weight`, `head.conv.bias`); each
 * optimizer state tensor under `optim.` + its name (Madgrad: `optim.<param>.s`, `optim.<param>.v`,
 * `optim.<param>.x0`; Adam: `optim.<param>.m`, `optim.<param>.v`). Everything else (step count, learning rate,
 * config, app version) goes into the string metadata, e.g. `{ step: String(opt.stepCount) }`.
 *
 * Resuming: build the parameters and the optimizer as for a fresh run, then
 * `const meta = await loadCheckpoint(bytes, params, opt.state()); opt.stepCount = Number(meta.step);`
 * (state() creates the optimizer tensors so they can be loaded into).
 */
import type { Tensor } from '../gpu/tensor';
import type { Parameter } from './parameter';
import {
  decodeSafetensors,
  encodeSafetensors,
  type DecodedSafetensors,
  type DecodedTensor,
  type SafetensorsEntry,
} from './safetensors';

export const OPTIMIZER_PREFIX = 'optim.';

export class CheckpointError extends Error {
  constructor(message: string) {
    super(`checkpoint: ${message}`);
    this.name = 'CheckpointError';
  }
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

function named(params: readonly Parameter[], optimizerState: readonly Parameter[] | undefined) {
  const all: Array<{ name: string; value: Tensor }> = params.map((p) => ({ name: p.name, value: p.value }));
  for (const s of optimizerState ?? []) all.push({ name: OPTIMIZER_PREFIX + s.name, value: s.value });
  const seen = new Set<string>();
  for (const t of all) {
    if (seen.has(t.name)) throw new CheckpointError(`duplicate tensor name "${t.name}"`);
    seen.add(t.name);
  }
  return all;
}

/** Reads the parameters (and optimizer state) back from the GPU and encodes them with the metadata. */
export async function saveCheckpoint(
  params: readonly Parameter[],
  opts: { optimizerState?: readonly Parameter[]; metadata?: Record<string, string> } = {},
): Promise<Uint8Array> {
  const all = named(params, opts.optimizerState);
  const datas = await Promise.all(all.map((t) => t.value.read()));
  const entries: SafetensorsEntry[] = all.map((t, i) => ({ name: t.name, shape: t.value.shape, data: datas[i] }));
  return encodeSafetensors(entries, opts.metadata);
}

/** A tensor a checkpoint must hold: its name in the file and its shape. */
export interface ExpectedTensor {
  name: string;
  shape: readonly number[];
}

/**
 * Checks a decoded checkpoint against the tensors it must hold: every expected name present with the same shape,
 * no other tensors (other `optim.` tensors are allowed when `ignoreOptimizer`), and every value finite (a NaN or
 * infinite weight is a damaged file, or a run that had already diverged). Throws a CheckpointError naming the first
 * problem. Needs no GPU, so a session can be checked before anything is allocated for it.
 */
export function checkCheckpointTensors(
  tensors: ReadonlyMap<string, DecodedTensor>,
  expected: readonly ExpectedTensor[],
  options: { ignoreOptimizer?: boolean } = {},
): void {
  for (const t of expected) {
    const f = tensors.get(t.name);
    if (!f) throw new CheckpointError(`the file has no tensor "${t.name}"`);
    const same = f.shape.length === t.shape.length && f.shape.every((d, i) => d === t.shape[i]);
    if (!same) {
      throw new CheckpointError(
        `"${t.name}" has shape ${shapeText(f.shape)} in the file but ${shapeText(t.shape)} here`,
      );
    }
  }
  const names = new Set(expected.map((t) => t.name));
  for (const name of tensors.keys()) {
    if (names.has(name)) continue;
    if (name.startsWith(OPTIMIZER_PREFIX) && options.ignoreOptimizer) continue;
    throw new CheckpointError(`the file has an unexpected tensor "${name}"`);
  }
  for (const t of expected) {
    const data = tensors.get(t.name)!.data;
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) {
        throw new CheckpointError(`"${t.name}" holds ${data[i]} at index ${i} (a damaged file or a diverged run)`);
      }
    }
  }
}

/**
 * Uploads a checkpoint (its bytes, or the file already decoded) into the existing parameter tensors (and optimizer
 * state tensors, when given) and returns its metadata. Every expected name must be present with the same shape and
 * finite values, and the file may hold no other parameters (optimizer tensors in the file are ignored when no
 * optimizer state is given). Everything is checked before anything is uploaded; the first mismatch is named in the
 * CheckpointError (a file that is not valid safetensors throws SafetensorsError).
 */
export async function loadCheckpoint(
  source: Uint8Array | DecodedSafetensors,
  params: readonly Parameter[],
  optimizerState?: readonly Parameter[],
): Promise<Record<string, string>> {
  const { tensors, metadata } = source instanceof Uint8Array ? decodeSafetensors(source) : source;
  const all = named(params, optimizerState);
  const expected = all.map((t) => ({ name: t.name, shape: t.value.shape }));
  checkCheckpointTensors(tensors, expected, { ignoreOptimizer: !optimizerState });
  if (all.length === 0) return metadata;
  const engine = all[0].value.engine;
  for (const t of all) engine.upload(t.value.buffer, tensors.get(t.name)!.data);
  await engine.sync();
  return metadata;
}
