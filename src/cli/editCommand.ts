/**
 * The headless editor's command line: `text2live edit <image> --prompt "golden horse" [options]`.
 * Parsing is pure (tested on its own); running lives in runEdit.ts.
 */
import { QUALITY_LEVELS, type QualityLevel } from '../edit/quality';
import { MODEL_OPTIONS, MODEL_OPTIONS_USAGE, parseModelChoice, type ModelChoice } from './modelOptions';
import { parseCommandLine, UsageError } from './usageError';

export { UsageError };

export interface EditCommand {
  image: string;
  /** What the edit layer shows (screen text). */
  prompt: string;
  /** What the whole edited image shows (composition text); default: the prompt. */
  fullPrompt: string;
  /** What the input shows (source text for the direction loss). */
  inputPrompt: string;
  /** Region of interest: enables the relevancy bootstrap for the whole run. */
  roi: string | null;
  quality: QualityLevel;
  steps: number | null;
  seed: number | null;
  /** `--model` folder, or null: the cached copy of `modelSource.modelId`, fetched first when missing. */
  model: string | null;
  precision: 'fp32' | 'fp16';
  /** Where the model comes from (folder, or Hub + cache folder). */
  modelSource: ModelChoice;
  out: string;
  /** JSON file of config overrides (camelCase keys or the reference's snake_case keys). */
  configFile: string | null;
  /** Write a checkpoint every this many steps (besides the end); default: the snapshot frequency. */
  checkpointEvery: number | null;
}

export const EDIT_USAGE = `Usage: text2live edit <image> --prompt <text> [--model <dir>] [options]

Trains a Text2LIVE edit layer for one image on this machine's WebGPU adapter and writes
composite.png, edit.png (RGBA), alpha.png, greenscreen.png, snapshots/, log.json and
session.safetensors (generator + optimizer state + settings) into --out.
Without --model, the CLIP model is fetched once from the Hub into the model cache
($TEXT2LIVE_CACHE_DIR, else $XDG_CACHE_HOME/text2live, else ~/.cache/text2live) and reused.

Options:
  --prompt <text>        what the edit layer shows, e.g. "golden horse" (required)
  --full-prompt <text>   what the whole edited image shows (default: the prompt)
  --src <text>           what the input shows, e.g. "horse" (default: "photo")
  --roi <text>           region to edit, e.g. "horse": initialises the layer from a CLIP relevancy map
  --quality <level>      ${QUALITY_LEVELS.join(' | ')} (default: standard)
  --steps <n>            override the number of optimizer steps
  --seed <n>             random seed (default: a random one, recorded in the session)
${MODEL_OPTIONS_USAGE}
  --config <file.json>   config overrides (any key of the reference image config)
  --checkpoint-every <n> also save the session every n steps (default: with each snapshot)
  --out <dir>            output folder (default: results)
  -h, --help             this help`;

function positiveInt(name: string, v: string | undefined, allowZero = false): number | null {
  if (v === undefined) return null;
  const n = Number(v);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1)) {
    throw new UsageError(`--${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got "${v}"`);
  }
  return n;
}

/** Parses `edit` arguments (without the leading "edit"); `env` supplies the cache folder and hub URL. Null for --help. */
export function parseEditArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): EditCommand | null {
  const parsed = parseCommandLine(
    argv,
    {
      prompt: { type: 'string' },
      'full-prompt': { type: 'string' },
      src: { type: 'string' },
      roi: { type: 'string' },
      quality: { type: 'string' },
      steps: { type: 'string' },
      seed: { type: 'string' },
      ...MODEL_OPTIONS,
      config: { type: 'string' },
      'checkpoint-every': { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    { noun: 'image', missing: 'missing the input image' },
  );
  if (!parsed) return null;
  const v = parsed.values;
  const prompt = v.prompt?.trim();
  if (!prompt) throw new UsageError('--prompt is required (what the edit layer shows, e.g. "golden horse")');
  const quality = (v.quality ?? 'standard') as QualityLevel;
  if (!QUALITY_LEVELS.includes(quality)) {
    throw new UsageError(`--quality must be one of ${QUALITY_LEVELS.join(', ')}, got "${v.quality}"`);
  }
  const modelSource = parseModelChoice(v, env);
  return {
    image: parsed.positional,
    prompt,
    fullPrompt: v['full-prompt']?.trim() || prompt,
    inputPrompt: v.src?.trim() || 'photo',
    roi: v.roi?.trim() || null,
    quality,
    steps: positiveInt('steps', v.steps),
    seed: positiveInt('seed', v.seed, true),
    model: modelSource.dir,
    precision: modelSource.precision,
    modelSource,
    out: v.out ?? 'results',
    configFile: v.config ?? null,
    checkpointEvery: positiveInt('checkpoint-every', v['checkpoint-every']),
  };
}
