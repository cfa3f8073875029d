/**
 * `text2live fetch-model [--model-id ID] [--precision fp32|fp16] [--hub-url URL]`: fills the model cache ahead of
 * time (before going offline, or in a setup script) and prints the model's folder.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_MODEL_ID } from '../clip/modelFiles';
import { MODEL_OPTIONS, parseModelChoice, type ModelChoice } from './modelOptions';
import { UsageError } from './usageError';

export type FetchModelCommand = Omit<ModelChoice, 'dir'>;

export const FETCH_MODEL_USAGE = `Usage: text2live fetch-model [options]

Downloads the CLIP model into the model cache (resuming an interrupted download, checking each file's size and
SHA-256) and prints its folder. Later runs use it without any network request.

Options:
  --model-id <id>     Hugging Face model id (default: ${DEFAULT_MODEL_ID})
  --precision <p>     fp32 | fp16 vision weights file (default: fp32)
  --hub-url <url>     the Hub or a mirror in its layout (default: $TEXT2LIVE_HUB_URL, else https://huggingface.co)
  -h, --help          this help

Cache folder: $TEXT2LIVE_CACHE_DIR, else $XDG_CACHE_HOME/text2live, else ~/.cache/text2live`;

/** Parses `fetch-model` arguments (without the command name). Returns null for --help. */
export function parseFetchModelArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): FetchModelCommand | null {
  let parsed;
  try {
    const { 'model-id': modelId, 'hub-url': hubUrl, precision } = MODEL_OPTIONS;
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: false,
      strict: true,
      options: { 'model-id': modelId, 'hub-url': hubUrl, precision, help: { type: 'boolean', short: 'h' } },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (parsed.values.help) return null;
  const { modelId, precision, hubUrl, cacheRoot } = parseModelChoice(parsed.values, env);
  return { modelId, precision, hubUrl, cacheRoot };
}
