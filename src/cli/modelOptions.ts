/** The model options every command that needs CLIP shares: `--model DIR` or `--model-id` + `--hub-url`, `--precision`. */
import { DEFAULT_MODEL_ID, checkModelId, type Precision } from '../clip/modelFiles';
import { modelCacheRoot, resolveHubUrl } from './modelCache';
import { UsageError } from './usageError';

type Env = Readonly<Record<string, string | undefined>>;

/** Where a command's model comes from. */
export interface ModelChoice {
  /** A model folder given with `--model` (used as is, offline); null: the cached copy of `modelId`. */
  dir: string | null;
  modelId: string;
  precision: Precision;
  hubUrl: string;
  cacheRoot: string;
}

export const MODEL_OPTIONS = {
  model: { type: 'string' },
  'model-id': { type: 'string' },
  'hub-url': { type: 'string' },
  precision: { type: 'string' },
} as const;

export const MODEL_OPTIONS_USAGE = `  --model <dir>          a CLIP model folder in the Hugging Face / transformers.js layout (no download)
  --model-id <id>        without --model: the Hub model to fetch into the cache (default: ${DEFAULT_MODEL_ID})
  --hub-url <url>        the Hub or a mirror in its layout (default: $TEXT2LIVE_HUB_URL, else https://huggingface.co)
  --precision <p>        fp32 | fp16 vision weights file (default: fp32)`;

export function parsePrecision(value: string | undefined): Precision {
  const precision = value ?? 'fp32';
  if (precision !== 'fp32' && precision !== 'fp16') {
    throw new UsageError(`--precision must be fp32 or fp16, got "${precision}"`);
  }
  return precision;
}

export function parseModelChoice(
  values: { model?: string; 'model-id'?: string; 'hub-url'?: string; precision?: string },
  env: Env,
): ModelChoice {
  if (values.model !== undefined && values['model-id'] !== undefined) {
    throw new UsageError('--model (a folder) and --model-id (fetched from the Hub) exclude each other');
  }
  const modelId = values['model-id']?.trim() || DEFAULT_MODEL_ID;
  try {
    checkModelId(modelId);
  } catch (e) {
    throw new UsageError(`--model-id: ${(e as Error).message}`);
  }
  let hubUrl: string;
  try {
    hubUrl = resolveHubUrl(values['hub-url'], env);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return {
    dir: values.model?.trim() || null,
    modelId,
    precision: parsePrecision(values.precision),
    hubUrl,
    cacheRoot: modelCacheRoot(env),
  };
}
