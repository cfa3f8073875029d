/**
 * Node only: fetches a model's files from a Hugging Face Hub (or a server in its layout) into a folder, in the same
 * layout `loadModelFromDirectory` reads. Each file is resumable (`<file>.part` + Range), verified (size, and the
 * SHA-256 the Hub states on its LFS redirect) and renamed into place only when whole, so a file present under its
 * own name is complete and is never requested again. Used by the CLI's model cache (`src/cli/modelCache.ts`).
 */

import { open, stat, statfs, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FileSink } from './fileSink';
import {
  ALL_ROLES,
  DEFAULT_HUB_ENDPOINT,
  DEFAULT_HUB_REVISION,
  checkModelId,
  hubUrl,
  modelFileList,
  type ModelFileRole,
  type ModelFileSpec,
  type Precision,
} from './modelFiles';
import { decodeModelFile } from './modelManager';
import type { ModelProgressEvent } from './modelProgress';
import { downloadResumable } from './resumableDownload';
import { ensureSpace, type StorageEstimator } from './storageBudget';

export interface FetchModelOptions {
  modelId: string;
  precision?: Precision;
  include?: readonly ModelFileRole[];
  /** The Hub's address (default `https://huggingface.co`); files at `<hubUrl>/<id>/resolve/<revision>/<file>`. */
  hubUrl?: string;
  revision?: string;
  /** The model's folder: each file lands at `<dir>/<path>`. */
  dir: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
  /** Byte progress of each file; `index` / `count` count the files still to fetch. */
  onProgress?: (event: ModelProgressEvent & { index: number; count: number }) => void;
  /** A file is complete and in place; `sha256` is the stated hash it matched, null when checked by size only. */
  onFileDone?: (file: { path: string; size: number; sha256: string | null; index: number; count: number }) => void;
  retries?: number;
  retryDelayMs?: number;
  /** Free bytes on the disk that holds `dir`; default `statfs`. null: unknown (no check). */
  freeSpace?: (dir: string) => Promise<number | null>;
}

export interface FetchedModel {
  dir: string;
  /** Files fetched (or finished) by this call. */
  downloaded: string[];
  /** Files that were already complete: no request was made for them. */
  present: string[];
}

export function modelFilePath(dir: string, spec: ModelFileSpec): string {
  return join(dir, ...spec.path.split('/'));
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** The files of the model not yet complete in `dir` (no network). */
export async function missingModelFiles(
  dir: string,
  precision: Precision = 'fp32',
  include: readonly ModelFileRole[] = ALL_ROLES,
): Promise<ModelFileSpec[]> {
  const missing: ModelFileSpec[] = [];
  for (const spec of modelFileList(precision, include))
    if (!(await isFile(modelFilePath(dir, spec)))) missing.push(spec);
  return missing;
}

async function diskFreeBytes(dir: string): Promise<number | null> {
  try {
    const s = await statfs(dir);
    return s.bavail * s.bsize;
  } catch {
    return null;
  }
}

/** Checks the content the way the directory loader will: JSON parsed whole, ONNX by its first bytes. */
async function checkContent(spec: ModelFileSpec, path: string, url: string): Promise<void> {
  if (spec.format === 'json') {
    decodeModelFile(spec, new Uint8Array(await readFile(path)), url);
    return;
  }
  const handle = await open(path, 'r');
  try {
    const head = new Uint8Array(1024);
    const { bytesRead } = await handle.read(head, 0, head.byteLength, 0);
    decodeModelFile(spec, head.subarray(0, bytesRead), url);
  } finally {
    await handle.close();
  }
}

export async function fetchModelToDirectory(options: FetchModelOptions): Promise<FetchedModel> {
  const { modelId, dir } = options;
  checkModelId(modelId);
  const precision = options.precision ?? 'fp32';
  const include = options.include ?? ALL_ROLES;
  const all = modelFileList(precision, include);
  const missing = await missingModelFiles(dir, precision, include);
  const result: FetchedModel = {
    dir,
    downloaded: [],
    present: all.filter((s) => !missing.includes(s)).map((s) => s.path),
  };
  if (missing.length === 0) return result;

  await mkdir(dir, { recursive: true });
  const freeSpace = options.freeSpace ?? diskFreeBytes;
  const disk: StorageEstimator = {
    async estimate() {
      const free = await freeSpace(dir);
      return free === null ? {} : { quota: free, usage: 0 };
    },
  };
  const fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  for (const [i, spec] of missing.entries()) {
    const url = hubUrl(
      modelId,
      spec.path,
      options.hubUrl ?? DEFAULT_HUB_ENDPOINT,
      options.revision ?? DEFAULT_HUB_REVISION,
    );
    const sink = await FileSink.open(modelFilePath(dir, spec), url);
    const outcome = await downloadResumable({
      url,
      file: spec.path,
      source: 'hub',
      sink,
      fetch: fetchFn,
      signal: options.signal,
      onProgress: options.onProgress && ((e) => options.onProgress?.({ ...e, index: i + 1, count: missing.length })),
      retries: options.retries,
      retryDelayMs: options.retryDelayMs,
      readRedirects: true,
      headers: { 'Accept-Encoding': 'identity' }, // sizes and ranges in real bytes
      expected: spec.format === 'onnx' ? 'an ONNX model' : 'a JSON file',
      checkSpace: (bytes) => ensureSpace(disk, bytes, spec.path, `on the disk holding ${dir}`).then(() => undefined),
    });
    try {
      await checkContent(spec, sink.partPath, url);
    } catch (error) {
      await sink.discard();
      throw error;
    }
    await sink.finish();
    result.downloaded.push(spec.path);
    options.onFileDone?.({
      path: spec.path,
      size: outcome.size,
      sha256: outcome.sha256,
      index: i + 1,
      count: missing.length,
    });
  }
  return result;
}
