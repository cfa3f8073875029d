/**
 * The job's session (`EditJob.saveSession` / `EditJob.restore`): a checkpoint (safetensors: the generator's
 * parameters and the optimizer state as `optim.<param>.<state>`) whose string metadata holds the format, the
 * settings (JSON) and the counters that make a resumed run repeat the original.
 *
 * A session opened from disk is untrusted: `readJobSession` checks the file, every metadata field and every tensor
 * against what the settings' generator and optimizer will hold, with no GPU, so a bad file fails with a
 * SessionRestoreError before anything is allocated for it.
 */
import { checkCheckpointTensors, CheckpointError, OPTIMIZER_PREFIX, type ExpectedTensor } from '../nn/checkpoint';
import { ADAM_STATE_NAMES } from '../nn/adam';
import { MADGRAD_STATE_NAMES } from '../nn/madgrad';
import { decodeSafetensors, SafetensorsError, type DecodedSafetensors } from '../nn/safetensors';
import { generatorParameterSpecs } from '../nn/skip';
import { ConfigError, validateConfig, type EditConfig } from './config';

export const SESSION_FORMAT = 'text2live-session-v1';

export class SessionRestoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SessionRestoreError';
  }
}

/** What a session stores besides the tensors. */
export interface JobSessionState {
  config: EditConfig;
  /** Training steps done (0..nEpochs). */
  step: number;
  /** The optimizer's step count. */
  optimizerSteps: number;
  /** The job's Rng state (uint32). */
  rng: number;
  /** The dataset's step of its last sample (−1 before the first). */
  datasetStep: number;
}

export interface JobSession extends JobSessionState {
  /** The decoded tensors, checked against the settings' generator and optimizer. */
  tensors: DecodedSafetensors;
}

/** The session metadata of a job's state. */
export function jobSessionMetadata(state: JobSessionState): Record<string, string> {
  return {
    format: SESSION_FORMAT,
    config: JSON.stringify(state.config),
    step: String(state.step),
    optimizerSteps: String(state.optimizerSteps),
    rng: String(state.rng),
    datasetStep: String(state.datasetStep),
  };
}

/** A decimal integer field of the metadata in [min, max]. */
function integerField(meta: Record<string, string>, key: string, min: number, max: number, what: string): number {
  const text = meta[key];
  if (text === undefined) throw new SessionRestoreError(`The session has no "${key}" (${what}).`);
  const value = /^-?\d{1,16}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value)) {
    throw new SessionRestoreError(`The session's "${key}" (${what}) is ${JSON.stringify(text)}, not a whole number.`);
  }
  if (value < min || value > max) {
    throw new SessionRestoreError(`The session's "${key}" (${what}) is ${value}, outside ${min}..${max}.`);
  }
  return value;
}

/** Reads and checks the metadata of a job session. */
export function parseJobSessionMetadata(meta: Record<string, string>): JobSessionState {
  if (meta.format !== SESSION_FORMAT) {
    const found = meta.format === undefined ? 'it has no format field' : `its format is ${JSON.stringify(meta.format)}`;
    throw new SessionRestoreError(`This file is not a Text2LIVE session (${found}; expected "${SESSION_FORMAT}").`);
  }
  if (meta.config === undefined) throw new SessionRestoreError('The session has no settings ("config").');
  let raw: unknown;
  try {
    raw = JSON.parse(meta.config);
  } catch (e) {
    throw new SessionRestoreError(`The session's settings are not valid JSON (${(e as Error).message}).`);
  }
  let config: EditConfig;
  try {
    config = validateConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) throw new SessionRestoreError(`The session's settings are invalid. ${e.message}`);
    throw e;
  }
  const steps = config.nEpochs;
  return {
    config,
    step: integerField(meta, 'step', 0, steps, 'steps done'),
    optimizerSteps: integerField(meta, 'optimizerSteps', 0, steps, "the optimizer's step count"),
    rng: integerField(meta, 'rng', 0, 2 ** 32 - 1, 'the random generator state'),
    datasetStep: integerField(meta, 'datasetStep', -1, steps, "the dataset's step"),
  };
}

/** The tensors a session of these settings holds: generator parameters, then the optimizer's state of each. */
export function sessionTensors(config: EditConfig): ExpectedTensor[] {
  const params = generatorParameterSpecs({
    scales: config.numScales,
    down: config.skipN33d,
    up: config.skipN33u,
    skip: config.skipN11,
  });
  const states = config.optimizer === 'adam' ? ADAM_STATE_NAMES : MADGRAD_STATE_NAMES;
  const optim = params.flatMap((p) =>
    states.map((s) => ({ name: `${OPTIMIZER_PREFIX}${p.name}.${s}`, shape: p.shape })),
  );
  return [...params.map((p) => ({ name: p.name, shape: p.shape })), ...optim];
}

/** Decodes a job session and checks all of it (no GPU). Throws SessionRestoreError naming the problem. */
export function readJobSession(bytes: Uint8Array): JobSession {
  let tensors: DecodedSafetensors;
  try {
    tensors = decodeSafetensors(bytes);
  } catch (e) {
    if (e instanceof SafetensorsError) {
      throw new SessionRestoreError(`This file is not a Text2LIVE session, or it is damaged (${e.message}).`);
    }
    throw e;
  }
  const state = parseJobSessionMetadata(tensors.metadata);
  let expected: ExpectedTensor[];
  try {
    expected = sessionTensors(state.config);
  } catch (e) {
    throw new SessionRestoreError(`The session's settings describe no valid generator (${(e as Error).message}).`);
  }
  try {
    checkCheckpointTensors(tensors.tensors, expected);
  } catch (e) {
    if (e instanceof CheckpointError) {
      throw new SessionRestoreError(`The session's weights do not match its settings (${e.message}).`);
    }
    throw e;
  }
  return { ...state, tensors };
}
