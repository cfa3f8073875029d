/**
 * The command line's model cache: the CLIP files fetched once from the Hub into a user cache folder and reused
 * from there without any request. Shared by every command that needs a model (`edit`, `fetch-model`, later
 * `atlas` and `edit-video`).
 *
 * Folder: `$TEXT2LIVE_CACHE_DIR`, else `$XDG_CACHE_HOME/text2live`, else `~/.cache/text2live`; a model lives in
 * `<root>/models/<owner>/<name>/<revision>/` in the Hub's layout, so `--model` can point at it too.
 * Hub: `$TEXT2LIVE_HUB_URL` (or `--hub-url`), else https://huggingface.co.
 */

import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fetchModelToDirectory, missingModelFiles, type FetchModelOptions } from '../clip/modelFetchNode';
import { DEFAULT_HUB_ENDPOINT, DEFAULT_HUB_REVISION, checkModelId, type Precision } from '../clip/modelFiles';
import { DownloadMeter, fileDoneLine } from './downloadProgress';

export const CACHE_DIR_ENV = 'TEXT2LIVE_CACHE_DIR';
export const HUB_URL_ENV = 'TEXT2LIVE_HUB_URL';

type Env = Readonly<Record<string, string | undefined>>;

/** The cache root for this user (see the module comment). */
export function modelCacheRoot(env: Env = process.env, home: string = homedir()): string {
  const own = env[CACHE_DIR_ENV]?.trim();
  if (own) return resolve(own);
  const xdg = env.XDG_CACHE_HOME?.trim();
  // The XDG spec ignores relative paths.
  return xdg && isAbsolute(xdg) ? join(xdg, 'text2live') : join(home, '.cache', 'text2live');
}

/** The Hub to fetch from: `--hub-url`, else `$TEXT2LIVE_HUB_URL`, else huggingface.co. Throws on a non-http URL. */
export function resolveHubUrl(option: string | undefined, env: Env = process.env): string {
  const value = option?.trim() || env[HUB_URL_ENV]?.trim() || DEFAULT_HUB_ENDPOINT;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`the hub URL must be an http(s) URL, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`the hub URL must be an http(s) URL, got "${value}"`);
  }
  return value.replace(/\/+$/, '');
}

/** Where a model's files live in the cache. */
export function cachedModelDir(root: string, modelId: string, revision: string = DEFAULT_HUB_REVISION): string {
  checkModelId(modelId);
  return join(root, 'models', ...modelId.split('/'), encodeURIComponent(revision));
}

export interface EnsureModelOptions extends Pick<
  FetchModelOptions,
  'fetch' | 'signal' | 'retries' | 'retryDelayMs' | 'freeSpace' | 'include'
> {
  modelId: string;
  precision: Precision;
  hubUrl: string;
  cacheRoot: string;
  revision?: string;
  /** A line about what happens (printed once). */
  log?: (line: string) => void;
  /** The progress line (overwritten in place on a terminal). */
  progress?: (line: string) => void;
  /** At most one progress line per this many ms (a terminal: 100; a log file: 2000). */
  progressIntervalMs?: number;
}

/**
 * The model's folder in the cache, fetching what is missing first (resuming `.part` files). When every file is
 * there, no request is made at all, so a cached model works offline.
 */
export async function ensureCachedModel(options: EnsureModelOptions): Promise<string> {
  const revision = options.revision ?? DEFAULT_HUB_REVISION;
  const dir = cachedModelDir(options.cacheRoot, options.modelId, revision);
  const missing = await missingModelFiles(dir, options.precision, options.include);
  if (missing.length === 0) return dir;
  options.log?.(
    `model: fetching ${missing.length} file${missing.length === 1 ? '' : 's'} of ${options.modelId} (${options.precision}) ` +
      `from ${options.hubUrl} into ${dir}`,
  );
  const meter = new DownloadMeter(options.progressIntervalMs ?? 100);
  await fetchModelToDirectory({
    modelId: options.modelId,
    precision: options.precision,
    include: options.include,
    hubUrl: options.hubUrl,
    revision,
    dir,
    fetch: options.fetch,
    signal: options.signal,
    retries: options.retries,
    retryDelayMs: options.retryDelayMs,
    freeSpace: options.freeSpace,
    onProgress: (event) => {
      const line = meter.line(event);
      if (line !== null) options.progress?.(line);
    },
    onFileDone: (file) => options.progress?.(fileDoneLine(file)),
  });
  return dir;
}
