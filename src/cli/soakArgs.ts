/** Command-line arguments of `npm run soak` (soak.ts), validated before any GPU work. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TINY_EDIT_PHOTO } from '../../test/tinyEdit';
import { BenchUsageError, integerOption, parseBenchOptions } from './benchArgs';

export const SOAK_USAGE = `Usage: npm run soak -- [options]

Trains one edit at the tiny level (the tiny CLIP, a 2-scale generator, a 40 px working image) for many steps, as
the app does (full-image steps, previews, checkpoints, full-resolution downloads), and watches for leaks: the
buffer pool's live/allocated bytes, the GPU buffers alive on the device, and the process's memory.

  --steps N            training steps (default 500)
  --every N            print a report every N steps (default 50)
  --sample-every N     measure every N steps; the verdicts fit a line through these samples (default 10)
  --warmup N           steps before the first sample the verdicts use (default: the smaller of 100 and a fifth
                       of --steps): the pipelines compile and the pool fills first
  --render-every N     a preview (EditJob.render at the working size) every N steps (default 5; 0: none)
  --checkpoint-every N a checkpoint (EditJob.saveSession) every N steps (default 10; 0: none)
  --download-every N   a full-resolution render, as a download makes, every N steps (default 100; 0: none)
  --full-image-every N a full-image step every N steps (the edit's sourceImageEvery; default 10)
  --model DIR          the CLIP vision tower: DIR/config.json + DIR/onnx/vision_model.onnx (default models/tiny-clip)
  --image FILE         the photo (default shared/data/images/dog-on-bench.png)
  --seed N             edit seed (default 1)
  --json FILE          also write every sample and the verdicts as JSON
  --help               this text`;

export interface SoakOptions {
  steps: number;
  every: number;
  sampleEvery: number;
  warmup: number;
  renderEvery: number;
  checkpointEvery: number;
  downloadEvery: number;
  fullImageEvery: number;
  model: string;
  image: string;
  seed: number;
  json?: string;
}

export const DEFAULT_SOAK_MODEL = 'models/tiny-clip';

/** Parses the soak's arguments; null for `--help`. Throws BenchUsageError on a mistake. */
export function parseSoakArgs(args: readonly string[]): SoakOptions | null {
  const values = parseBenchOptions(args, {
    steps: { type: 'string' },
    every: { type: 'string' },
    'sample-every': { type: 'string' },
    warmup: { type: 'string' },
    'render-every': { type: 'string' },
    'checkpoint-every': { type: 'string' },
    'download-every': { type: 'string' },
    'full-image-every': { type: 'string' },
    model: { type: 'string' },
    image: { type: 'string' },
    seed: { type: 'string' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return null;
  const steps = integerOption('steps', values.steps, 500, 1);
  const every = integerOption('every', values.every, 50, 1);
  const sampleEvery = integerOption('sample-every', values['sample-every'], Math.min(10, every), 1);
  const warmup = integerOption('warmup', values.warmup, Math.min(100, Math.floor(steps / 5)), 0);
  if (warmup >= steps) throw new BenchUsageError(`--warmup must be below --steps (${steps}), got ${warmup}`);
  const model = values.model ?? DEFAULT_SOAK_MODEL;
  for (const f of ['config.json', join('onnx', 'vision_model.onnx')]) {
    if (!existsSync(join(model, f))) throw new BenchUsageError(`--model ${model}: ${join(model, f)} does not exist`);
  }
  const image = values.image ?? TINY_EDIT_PHOTO;
  if (!existsSync(image)) throw new BenchUsageError(`--image ${image} does not exist`);
  if (values.json !== undefined && values.json.trim() === '') throw new BenchUsageError('--json needs a file name');
  return {
    steps,
    every,
    sampleEvery,
    warmup,
    renderEvery: integerOption('render-every', values['render-every'], 5, 0),
    checkpointEvery: integerOption('checkpoint-every', values['checkpoint-every'], 10, 0),
    downloadEvery: integerOption('download-every', values['download-every'], 100, 0),
    fullImageEvery: integerOption('full-image-every', values['full-image-every'], 10, 1),
    model,
    image,
    seed: integerOption('seed', values.seed, 1, 0),
    ...(values.json !== undefined ? { json: values.json } : {}),
  };
}
