/**
 * The layered-atlas command line: `text2live atlas <clip> --out DIR [options]`. Parsing is pure (tested on its
 * own); running lives in runAtlas.ts.
 */
import { readFile } from 'node:fs/promises';
import { DEFAULT_ATLAS_CONFIG, type AtlasConfig } from '../video/atlas/atlasConfig';
import type { SizeBound } from './atlasClip';
import { parseSizeText, sizeOptionMessage } from './sizeOption';
import { parseCommandLine, UsageError } from './usageError';

export interface AtlasCommand {
  clip: string;
  /** A masks folder, zip or mask video; 'auto': motion masks even when masks are found; null: the import's own. */
  masks: string | 'auto' | null;
  backgroundOnly: boolean;
  start: number | null;
  frames: number | null;
  stride: number | null;
  /** The working size's bound (aspect kept); null: the import's 768-px long side. */
  size: SizeBound | null;
  iterations: number | null;
  seed: number | null;
  logEvery: number;
  checkpointEvery: number;
  /** JSON file of atlas config overrides (keys of AtlasConfig; advanced, and for tests). */
  configFile: string | null;
  out: string;
}

export const ATLAS_USAGE = `Usage: text2live atlas <clip> --out <dir> [options]

Decomposes a clip into a background atlas, a foreground atlas and an alpha matte (layered neural atlases) on this
machine's WebGPU adapter, and writes into --out: atlas.safetensors (the fitted model), atlas/background.png,
atlas/foreground.png, reconstruction/NNNNN.png and alpha/NNNNN.png (every frame at the working size, named by its
source frame index) and log.json (the loss terms and PSNR of every logged iteration).

<clip> is a folder or zip of frames (PNG/JPEG, with an optional masks/ folder beside them) or a video (MP4, MOV,
WebM; needs ffmpeg on PATH).

Options:
  --masks <dir|auto>     the object's masks: a folder or zip of mask images or a mask video, one per frame, or
                         "auto" for motion masks (default: the masks/ found with the frames, else motion masks)
  --background-only      one layer only (no foreground atlas, alpha 0); also when no moving object is found
  --start <n>            first source frame (default 0)
  --frames <n>           how many frames (default: all from --start, at most 70)
  --stride <n>           keep every n-th frame (default 1)
  --size <WxH>           working size bound, aspect kept (default: the long side at most 768)
  --iters <n>            fitting iterations (default ${DEFAULT_ATLAS_CONFIG.iterations})
  --seed <n>             random seed (default ${DEFAULT_ATLAS_CONFIG.seed})
  --log-every <n>        read the loss terms and PSNR every n iterations (default 10)
  --checkpoint-every <n> also save atlas.safetensors every n iterations (default 500; 0: only at the end)
  --config <file.json>   atlas config overrides (advanced: batch, resolutions, weights, …)
  --out <dir>            output folder (required)
  -h, --help             this help

Ctrl-C stops after the current iteration and writes everything for the iterations done.`;

function count(name: string, v: string | undefined, min: number): number | null {
  if (v === undefined) return null;
  const n = Number(v);
  if (v.trim() === '' || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`--${name} must be ${min === 0 ? 'a non-negative' : 'a positive'} integer, got "${v}"`);
  }
  return n;
}

/** The working-size bound's limits (`--size`; the atlas benchmark's too). */
export const ATLAS_SIZE_LIMITS = { min: 16, max: 4096 };

/** "384x216" → a size bound, both sides in 16..4096. */
export function parseSizeBound(v: string): SizeBound {
  const size = parseSizeText(v, ATLAS_SIZE_LIMITS);
  if (!size) throw new UsageError(sizeOptionMessage('size', v, ATLAS_SIZE_LIMITS));
  return size;
}

/** Parses `atlas` arguments (without the leading "atlas"). Null for --help. */
export function parseAtlasArgs(argv: readonly string[]): AtlasCommand | null {
  const parsed = parseCommandLine(
    argv,
    {
      masks: { type: 'string' },
      'background-only': { type: 'boolean' },
      start: { type: 'string' },
      frames: { type: 'string' },
      stride: { type: 'string' },
      size: { type: 'string' },
      iters: { type: 'string' },
      seed: { type: 'string' },
      'log-every': { type: 'string' },
      'checkpoint-every': { type: 'string' },
      config: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    { noun: 'clip', missing: 'missing the clip (a video, or a folder or zip of frames)' },
  );
  if (!parsed) return null;
  const v = parsed.values;
  const out = v.out?.trim();
  if (!out) throw new UsageError('--out is required (the folder the atlas and renders go into)');
  const masks = v.masks?.trim();
  if (v.masks !== undefined && !masks) throw new UsageError('--masks needs a folder, zip or video, or "auto"');
  if (masks && v['background-only']) throw new UsageError('--masks and --background-only exclude each other');
  return {
    clip: parsed.positional,
    masks: masks ?? null,
    backgroundOnly: v['background-only'] ?? false,
    start: count('start', v.start, 0),
    frames: count('frames', v.frames, 1),
    stride: count('stride', v.stride, 1),
    size: v.size === undefined ? null : parseSizeBound(v.size),
    iterations: count('iters', v.iters, 1),
    seed: count('seed', v.seed, 0),
    logEvery: count('log-every', v['log-every'], 1) ?? 10,
    checkpointEvery: count('checkpoint-every', v['checkpoint-every'], 0) ?? 500,
    configFile: v.config ?? null,
    out,
  };
}

/** Atlas config overrides from a JSON file; unknown keys are named (a typo would otherwise be ignored). */
export async function readConfigOverrides(file: string): Promise<Partial<AtlasConfig>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`Cannot read the config file ${file}: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`The config file ${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`The config file ${file} must hold a JSON object of atlas settings`);
  }
  const known = new Set(Object.keys(DEFAULT_ATLAS_CONFIG));
  const knownWeights = new Set(Object.keys(DEFAULT_ATLAS_CONFIG.weights));
  for (const [k, value] of Object.entries(parsed)) {
    if (!known.has(k)) throw new Error(`The config file ${file} has an unknown setting "${k}"`);
    if (k === 'weights') {
      if (!value || typeof value !== 'object') throw new Error(`The config file ${file}: "weights" must be an object`);
      for (const w of Object.keys(value as object)) {
        if (!knownWeights.has(w)) throw new Error(`The config file ${file} has an unknown weight "${w}"`);
      }
    }
  }
  return parsed as Partial<AtlasConfig>;
}
