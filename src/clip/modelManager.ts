/**
 * Finds, downloads, checks and caches the CLIP model files (layout in `modelFiles.ts`).
 *
 * Sources are tried in order for each file (default: the self-hosted `/models/` folder, then the Hugging Face Hub;
 * files the user picked can be added). Before any network request the byte cache (Cache Storage in the browser) is
 * consulted for every network source's URL, so a second load makes no request at all.
 *
 * Downloads go through `downloadResumable` (`resumableDownload.ts`): streamed into one preallocated buffer when the
 * size is known (a 350 MB file never exists twice in memory), with byte progress; a dropped connection is retried
 * from the received offset with a Range request; a cancelled or failed download keeps its bytes in a `PartialStore`
 * (Cache Storage `text2live-partial-v1` in the browser, so they survive a reload) and the next load resumes there.
 * Every file is checked: its size against what the server stated, its SHA-256 where the server states one (the
 * Hub's `X-Linked-Etag`, see `fileIntegrity.ts`), and its content (an HTML page or garbage where JSON/ONNX belongs
 * is `wrong-file`). Bad bytes are discarded, never cached; a complete file is cached only after these checks.
 * Before downloading, the missing bytes are checked against the storage quota (`StorageQuotaError`).
 *
 * Any failure except cancellation and a full quota falls through to the next source (a 404 or a dev server's HTML
 * fallback on `/models/` → the Hub); the final error lists every attempt.
 *
 * Browser-safe: no Node imports here. The Node directory loader lives in `modelDirectory.ts`, the Node fetcher in
 * `modelFetchNode.ts`.
 */

import {
  ALL_ROLES,
  DEFAULT_HUB_ENDPOINT,
  DEFAULT_HUB_REVISION,
  DEFAULT_MODEL_ID,
  DEFAULT_SELF_HOSTED_BASE,
  checkModelId,
  hubUrl,
  modelFileList,
  selfHostedUrl,
  type ModelFileRole,
  type ModelFileSpec,
  type Precision,
} from './modelFiles';
import { formatBytes } from '../gpu/formatBytes';
import { cacheStorageByteCache, type ByteCache } from './byteCache';
import { probeFile, type CachedFileStatus } from './cacheProbe';
import { ModelLoadError, cancelledError, isAbortError, type ModelLoadAttempt } from './modelLoadError';
import type { LoadedFrom, ModelProgressEvent } from './modelProgress';
import { MemorySink } from './memorySink';
import { cacheStoragePartialStore, memoryPartialStore, type PartialStore } from './partialStore';
import { downloadResumable } from './resumableDownload';
import { browserStorage, ensureSpace, type StorageEstimator } from './storageBudget';

export { MODEL_CACHE_NAME, cacheStorageByteCache, type ByteCache } from './byteCache';
export type { CachedFileStatus } from './cacheProbe';
export { ModelLoadError, type ModelLoadAttempt, type ModelLoadErrorKind } from './modelLoadError';
export type { LoadedFrom, ModelProgressEvent } from './modelProgress';
export { StorageQuotaError } from './storageBudget';

// ---------------------------------------------------------------------------------------------------------------------
// Public types

/** A file the user picked: a `File` (its `webkitRelativePath` is used when set) or a blob with an explicit path. */
export type PickedFile = File | { path: string; file: Blob };

export type ModelSource =
  | { type: 'self-hosted'; /** Default `/models/`; files at `<baseUrl><id>/<file>`. */ baseUrl?: string }
  | { type: 'hub'; endpoint?: string; revision?: string }
  | { type: 'files'; files: Iterable<PickedFile> | ArrayLike<PickedFile> };

export type ModelSourceType = ModelSource['type'];

export type JsonObject = Record<string, unknown>;

/** The loaded files; a field is present when its role was included. */
export interface ClipModelFiles {
  modelId: string;
  precision: Precision;
  config?: JsonObject;
  tokenizer?: JsonObject;
  tokenizerConfig?: JsonObject;
  visionModel?: Uint8Array;
  textModel?: Uint8Array;
  /** Where each included file came from. */
  sources: Partial<Record<ModelFileRole, LoadedFrom>>;
}

export interface ModelManagerOptions {
  /** Tried in order for every file. Default: `defaultModelSources()` (self-hosted `/models/`, then the Hub). */
  sources?: readonly ModelSource[];
  /** Default: Cache Storage `text2live-models-v1` where `caches` exists, else no cache. `null`: no cache. */
  cache?: ByteCache | null;
  fetch?: typeof fetch;
  /**
   * Where unfinished downloads keep their bytes for resuming. Default: Cache Storage `text2live-partial-v1` when the
   * default cache is used, else memory (resumes within this manager). `null`: nothing kept.
   */
  partialStore?: PartialStore | null;
  /**
   * Checked before downloading: the missing bytes must fit in `estimate()`'s quota − usage, else `StorageQuotaError`.
   * Default: `navigator.storage` when the default cache is used; `null`: no check. Only files that get cached count.
   */
  storage?: StorageEstimator | null;
  /** Automatic retries of a dropped connection, from the received offset. Default 3. */
  retries?: number;
  /** Wait before the first retry, doubled for each next one. Default 500 ms. */
  retryDelayMs?: number;
  /** Partial bytes are stored every this many bytes (default 16 MiB): what a reload or crash can lose at most. */
  checkpointBytes?: number;
  /** Follow redirects by hand to read the Hub's size and SHA-256 headers on them (Node's fetch; not browsers). */
  readRedirects?: boolean;
}

export interface LoadModelOptions {
  modelId?: string;
  /** Which vision file: `onnx/vision_model.onnx` (fp32, default) or `onnx/vision_model_fp16.onnx`. */
  precision?: Precision;
  /** Which files; default all five. `TEXT_ROLES` / `VISION_ROLES` in `modelFiles.ts`. */
  include?: readonly ModelFileRole[];
  onProgress?: (event: ModelProgressEvent) => void;
  signal?: AbortSignal;
}

// ---------------------------------------------------------------------------------------------------------------------
// Sources and cache

/** Self-hosted `/models/` (or `baseUrl`), then the Hub, then the picked files when given — the documented order. */
export function defaultModelSources(pickedFiles?: ModelSource & { type: 'files' }): ModelSource[] {
  const sources: ModelSource[] = [{ type: 'self-hosted', baseUrl: DEFAULT_SELF_HOSTED_BASE }, { type: 'hub' }];
  if (pickedFiles) sources.push(pickedFiles);
  return sources;
}

// ---------------------------------------------------------------------------------------------------------------------
// Content checks (shared with the directory loader)

function preview(bytes: Uint8Array): string {
  const head = bytes.subarray(0, 48);
  let text = '';
  for (const b of head) text += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
  return JSON.stringify(text);
}

function looksLikeHtml(bytes: Uint8Array): boolean {
  let i = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3; // UTF-8 BOM
  while (
    i < bytes.length &&
    i < 1024 &&
    (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)
  )
    i++;
  return bytes[i] === 0x3c; // '<'
}

/**
 * An ONNX file is a serialized `ModelProto`, and exporters write field 1 (`ir_version`, a varint) first: tag byte
 * 0x08 followed by a small version number.
 */
export function looksLikeOnnx(bytes: Uint8Array): boolean {
  return bytes.length >= 16 && bytes[0] === 0x08 && bytes[1] >= 1 && bytes[1] < 0x80;
}

/**
 * Checks a file's bytes and decodes them: JSON files are parsed (must be an object; `tokenizer.json` must look like a
 * tokenizers file), ONNX files must start like a ModelProto. Throws `ModelLoadError('wrong-file')`.
 */
export function decodeModelFile(spec: ModelFileSpec, bytes: Uint8Array, location: string): JsonObject | Uint8Array {
  const wrong = (what: string) =>
    new ModelLoadError(
      'wrong-file',
      spec.path,
      `${spec.path} from ${location} is not ${spec.format === 'onnx' ? 'an ONNX model' : 'a JSON file'}: ${what} ` +
        `(${formatBytes(bytes.byteLength, 'si')}, starts with ${preview(bytes)}).`,
      { url: location },
    );
  const html = looksLikeHtml(bytes) ? 'got an HTML page (a missing file answered by a web page?)' : null;
  if (spec.format === 'onnx') {
    if (!looksLikeOnnx(bytes)) throw wrong(html ?? 'it does not start like a protobuf ModelProto (byte 0x08)');
    return bytes;
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw wrong(html ?? 'it does not parse as UTF-8 JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw wrong('the JSON is not an object');
  const json = value as JsonObject;
  if (spec.role === 'tokenizer' && (typeof json.model !== 'object' || !Array.isArray(json.added_tokens))) {
    throw wrong('it is JSON but not a tokenizers file (no "model" / "added_tokens")');
  }
  return json;
}

/** Puts a decoded file into the result object under its role. */
export function assignModelFile(result: ClipModelFiles, role: ModelFileRole, value: JsonObject | Uint8Array): void {
  if (value instanceof Uint8Array) {
    if (role === 'visionModel' || role === 'textModel') result[role] = value;
    else throw new Error(`assignModelFile: ${role} must be JSON`);
  } else if (role === 'config' || role === 'tokenizer' || role === 'tokenizerConfig') {
    result[role] = value;
  } else {
    throw new Error(`assignModelFile: ${role} must be bytes`);
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Downloading

/** Bytes between two progress events while streaming (plus one at the start and one at the end). */
const PROGRESS_STEP = 256 * 1024;

const isAbort = isAbortError;
const cancelled = cancelledError;

function concat(chunks: readonly Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1 && chunks[0].byteLength === length) return chunks[0];
  const out = new Uint8Array(length);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

/**
 * Reads a byte stream into one buffer. With `expected` known the buffer is preallocated and chunks are copied in as
 * they arrive; if more arrives than expected (a body whose Content-Length described a compressed encoding we could
 * not see) it falls back to collecting chunks. Read errors surface as `truncated` (the connection died mid-body).
 */
async function readStream(
  stream: ReadableStream<Uint8Array>,
  expected: number | null,
  file: string,
  location: string,
  onLoaded: (loaded: number) => void,
  signal?: AbortSignal,
): Promise<Uint8Array> {
  const reader = stream.getReader();
  let buffer: Uint8Array | null = expected !== null ? new Uint8Array(expected) : null;
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  let reported = 0;
  try {
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (error) {
        if (isAbort(error, signal)) throw cancelled(file, location, error);
        throw new ModelLoadError(
          'truncated',
          file,
          `Download of ${file} from ${location} broke off after ${formatBytes(loaded, 'si')}` +
            (expected !== null ? ` of ${formatBytes(expected, 'si')}` : '') +
            ` (${error instanceof Error ? error.message : String(error)}).`,
          { url: location, cause: error },
        );
      }
      if (result.done) break;
      const chunk = result.value;
      if (buffer && loaded + chunk.byteLength <= buffer.byteLength) {
        buffer.set(chunk, loaded);
      } else {
        if (buffer) {
          chunks.push(buffer.subarray(0, loaded));
          buffer = null;
        }
        chunks.push(chunk);
      }
      loaded += chunk.byteLength;
      if (loaded - reported >= PROGRESS_STEP) {
        reported = loaded;
        onLoaded(loaded);
      }
    }
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    throw error;
  } finally {
    reader.releaseLock();
  }
  if (signal?.aborted) throw cancelled(file, location, signal.reason);
  if (expected !== null && loaded < expected) {
    throw new ModelLoadError(
      'truncated',
      file,
      `Download of ${file} from ${location} is truncated: received ${formatBytes(loaded, 'si')} (${loaded} B) of ` +
        `${formatBytes(expected, 'si')} (${expected} B, Content-Length).`,
      { url: location },
    );
  }
  if (reported !== loaded || loaded === 0) onLoaded(loaded);
  return buffer ? buffer : concat(chunks, loaded);
}

function resolveUrl(url: string): string | null {
  try {
    const base = (globalThis as { location?: { href: string } }).location?.href;
    return new URL(url, base).href;
  } catch {
    return null;
  }
}

function contentTypeFor(spec: ModelFileSpec): string {
  return spec.format === 'json' ? 'application/json' : 'application/octet-stream';
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function normalizePickedPath(path: string): string {
  return path.replace(/\\/g, '/').replace(/^(\.\/|\/)+/, '');
}

/** The picked file for a spec: by relative path (the folder's own name may prefix it), else by file name. */
export function matchPickedFile(
  files: Iterable<PickedFile> | ArrayLike<PickedFile>,
  spec: ModelFileSpec,
): { path: string; blob: Blob } | null {
  const list = Array.from(files as ArrayLike<PickedFile>).map((f) => {
    const path = 'path' in f && 'file' in f ? f.path : (f as File).webkitRelativePath || (f as File).name;
    return { path: normalizePickedPath(path), blob: 'path' in f && 'file' in f ? f.file : (f as File) };
  });
  const byLength = (a: { path: string }, b: { path: string }) => a.path.length - b.path.length;
  const byPath = list.filter((f) => f.path === spec.path || f.path.endsWith(`/${spec.path}`)).sort(byLength);
  if (byPath.length > 0) return byPath[0];
  const name = basename(spec.path);
  const byName = list.filter((f) => basename(f.path) === name).sort(byLength);
  return byName[0] ?? null;
}

type Attempt =
  { ok: true; value: JsonObject | Uint8Array; from: LoadedFrom } | { ok: false; attempt: ModelLoadAttempt };

function failure(source: ModelLoadAttempt['source'], error: unknown, location: string): Attempt {
  if (error instanceof ModelLoadError) {
    if (error.kind === 'cancelled' || error.kind === 'no-space') throw error; // not a reason to try elsewhere
    return { ok: false, attempt: { source, location, kind: error.kind, message: error.message, status: error.status } };
  }
  throw error;
}

export class ModelManager {
  private readonly sources: readonly ModelSource[];
  private readonly cache: ByteCache | null;
  private readonly fetchFn: typeof fetch;
  private readonly partial: PartialStore | null;
  private readonly storage: StorageEstimator | null;
  private readonly options: ModelManagerOptions;

  constructor(options: ModelManagerOptions = {}) {
    this.options = options;
    this.sources = options.sources ?? defaultModelSources();
    const browserCache = options.cache === undefined && typeof globalThis.caches !== 'undefined';
    this.cache = options.cache === undefined ? (browserCache ? cacheStorageByteCache() : null) : options.cache;
    this.fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.partial =
      options.partialStore !== undefined
        ? options.partialStore
        : browserCache
          ? cacheStoragePartialStore()
          : memoryPartialStore();
    this.storage = options.storage !== undefined ? options.storage : browserCache ? browserStorage() : null;
  }

  /** Loads the requested files one after another (small JSON first). */
  async load(options: LoadModelOptions = {}): Promise<ClipModelFiles> {
    const modelId = options.modelId ?? DEFAULT_MODEL_ID;
    checkModelId(modelId);
    const precision = options.precision ?? 'fp32';
    const specs = modelFileList(precision, options.include ?? ALL_ROLES);
    if (options.signal?.aborted) throw cancelled(specs[0]?.path ?? '', 'before start', options.signal.reason);
    await this.checkSpaceFor(modelId, specs);
    const result: ClipModelFiles = { modelId, precision, sources: {} };
    for (const spec of specs) {
      const { value, from } = await this.loadFile(modelId, spec, options);
      assignModelFile(result, spec.role, value);
      result.sources[spec.role] = from;
    }
    return result;
  }

  /** The network URLs of a file, one per URL-based source, in source order (also the cache keys). */
  urlsFor(modelId: string, spec: ModelFileSpec): { source: ModelSourceType; url: string | null; raw: string }[] {
    const out: { source: ModelSourceType; url: string | null; raw: string }[] = [];
    for (const s of this.sources) {
      if (s.type === 'files') continue;
      const raw =
        s.type === 'self-hosted'
          ? selfHostedUrl(s.baseUrl ?? DEFAULT_SELF_HOSTED_BASE, modelId, spec.path)
          : hubUrl(modelId, spec.path, s.endpoint ?? DEFAULT_HUB_ENDPOINT, s.revision ?? DEFAULT_HUB_REVISION);
      out.push({ source: s.type, url: resolveUrl(raw), raw });
    }
    return out;
  }

  /** What the cache holds of each file (complete, partial or missing), without reading any bytes or the network. */
  async cacheStatus(modelId: string, precision: Precision = 'fp32', include: readonly ModelFileRole[] = ALL_ROLES) {
    checkModelId(modelId);
    const files: CachedFileStatus[] = [];
    for (const spec of modelFileList(precision, include)) {
      const urls = this.urlsFor(modelId, spec).map((u) => u.url);
      files.push(await probeFile(spec, urls, this.cache, this.partial));
    }
    return files;
  }

  /** Removes the cached copies of a model's files, complete and partial (all precisions), or with no id everything. */
  async clearCache(modelId?: string): Promise<void> {
    if (modelId === undefined) {
      await this.partial?.clear();
      return this.cache?.clear();
    }
    const specs = [...modelFileList('fp32'), ...modelFileList('fp16', ['visionModel'])];
    for (const spec of specs) {
      for (const { url } of this.urlsFor(modelId, spec)) {
        if (!url) continue;
        await this.cache?.delete(url);
        await this.partial?.delete(url);
      }
    }
  }

  /**
   * Fails early with `StorageQuotaError` when the files that are not cached cannot fit. Sizes: a partial file's
   * stated size, else for the default model the manifest's approximate sizes; other models' unknown sizes are
   * checked file by file once the server states them.
   */
  private async checkSpaceFor(modelId: string, specs: readonly ModelFileSpec[]): Promise<void> {
    if (!this.cache || !this.storage || !this.sources.some((s) => s.type !== 'files')) return;
    let needed = 0;
    let first: string | null = null;
    for (const spec of specs) {
      const status = await probeFile(
        spec,
        this.urlsFor(modelId, spec).map((u) => u.url),
        this.cache,
        this.partial,
      );
      if (status.state === 'cached') continue;
      const total = status.total ?? (modelId === DEFAULT_MODEL_ID ? spec.approxBytes : null);
      if (total === null) continue;
      needed += Math.max(0, total - status.bytes);
      first ??= spec.path;
    }
    if (first !== null && needed > 0) await ensureSpace(this.storage, needed, first);
  }

  async loadFile(
    modelId: string,
    spec: ModelFileSpec,
    options: Pick<LoadModelOptions, 'onProgress' | 'signal'> = {},
  ): Promise<{ value: JsonObject | Uint8Array; from: LoadedFrom }> {
    const { onProgress, signal } = options;
    const checkAbort = (where: string) => {
      if (signal?.aborted) throw cancelled(spec.path, where, signal.reason);
    };
    checkAbort('before start');
    const urls = this.urlsFor(modelId, spec);

    // 1. The cache, for any source's URL: a hit means no request at all.
    if (this.cache) {
      for (const { url } of urls) {
        if (!url) continue;
        let bytes: Uint8Array | undefined;
        try {
          bytes = await this.cache.get(url);
        } catch {
          bytes = undefined;
        }
        checkAbort(url);
        if (!bytes) continue;
        try {
          const value = decodeModelFile(spec, bytes, `cache (${url})`);
          onProgress?.({
            file: spec.path,
            loaded: bytes.byteLength,
            total: bytes.byteLength,
            source: 'cache',
            url,
            phase: 'downloading',
          });
          return { value, from: 'cache' };
        } catch {
          await this.cache.delete(url).catch(() => undefined); // a bad entry: drop it and download again
        }
      }
    }

    // 2. The sources in order.
    const attempts: ModelLoadAttempt[] = [];
    let urlIndex = 0;
    for (const source of this.sources) {
      let outcome: Attempt;
      if (source.type === 'files') {
        outcome = await this.fromPickedFiles(source.files, spec, onProgress, signal);
      } else {
        const { url, raw } = urls[urlIndex++];
        outcome = url
          ? await this.fromUrl(source.type, url, spec, onProgress, signal)
          : {
              ok: false,
              attempt: {
                source: source.type,
                location: raw,
                kind: 'not-found',
                message: `${raw} is a relative URL and there is no page location to resolve it against.`,
              },
            };
      }
      if (outcome.ok) return { value: outcome.value, from: outcome.from };
      attempts.push(outcome.attempt);
    }

    const decisive = [...attempts].reverse().find((a) => a.kind !== 'not-found') ?? attempts[attempts.length - 1];
    const kind = decisive?.kind ?? 'not-found';
    const lines = attempts.map((a) => `  - ${a.source}: ${a.message}`);
    throw new ModelLoadError(
      kind,
      spec.path,
      `Could not load ${spec.path} of model ${modelId}` +
        (attempts.length === 0 ? ': no sources configured.' : `. Tried:\n${lines.join('\n')}`),
      { url: decisive?.location, status: decisive?.status, attempts },
    );
  }

  /** Downloads (or resumes) one URL, checks it, and caches it only when every check passed. */
  private async fromUrl(
    source: ModelSourceType,
    url: string,
    spec: ModelFileSpec,
    onProgress: LoadModelOptions['onProgress'],
    signal: AbortSignal | undefined,
  ): Promise<Attempt> {
    // Partial bytes are only worth keeping where the complete file will be cached too.
    const partial = this.cache ? this.partial : null;
    const storage = this.cache ? this.storage : null;
    try {
      const sink = await MemorySink.open(partial, url, this.options.checkpointBytes);
      await downloadResumable({
        url,
        file: spec.path,
        source,
        sink,
        fetch: this.fetchFn,
        signal,
        onProgress,
        retries: this.options.retries,
        retryDelayMs: this.options.retryDelayMs,
        readRedirects: this.options.readRedirects,
        expected: spec.format === 'onnx' ? 'an ONNX model' : 'a JSON file',
        checkSpace: storage ? (bytes) => ensureSpace(storage, bytes, spec.path).then(() => undefined) : undefined,
      });
      let value: JsonObject | Uint8Array;
      try {
        value = decodeModelFile(spec, sink.bytes(), url);
      } catch (error) {
        await sink.discard(); // complete but not this file: nothing to resume
        throw error;
      }
      const bytes = await sink.finish(); // drops the partial copy before the whole file is stored: no double quota
      if (this.cache) {
        try {
          await this.cache.put(url, bytes, contentTypeFor(spec));
        } catch (error) {
          console.warn(`Could not cache ${url}:`, error);
        }
      }
      return { ok: true, value, from: source };
    } catch (error) {
      return failure(source, error, url);
    }
  }

  private async fromPickedFiles(
    files: Iterable<PickedFile> | ArrayLike<PickedFile>,
    spec: ModelFileSpec,
    onProgress: LoadModelOptions['onProgress'],
    signal: AbortSignal | undefined,
  ): Promise<Attempt> {
    const match = matchPickedFile(files, spec);
    if (!match) {
      return {
        ok: false,
        attempt: {
          source: 'files',
          location: spec.path,
          kind: 'not-found',
          message: `none of the picked files is ${spec.path} (matched by relative path or by the name ${basename(spec.path)}).`,
        },
      };
    }
    const location = `picked file ${match.path}`;
    try {
      const total = match.blob.size;
      const emit = (loaded: number) => onProgress?.({ file: spec.path, loaded, total, source: 'files' });
      emit(0);
      const bytes = await readStream(match.blob.stream(), total, spec.path, location, emit, signal);
      return { ok: true, value: decodeModelFile(spec, bytes, location), from: 'files' };
    } catch (error) {
      return failure('files', error, location);
    }
  }
}

/** One-shot convenience: `new ModelManager(managerOptions).load(options)`. */
export function loadClipModel(options: LoadModelOptions & ModelManagerOptions = {}): Promise<ClipModelFiles> {
  const { modelId, precision, include, onProgress, signal, ...manager } = options;
  return new ModelManager(manager).load({ modelId, precision, include, onProgress, signal });
}

/** The named file of a load result, or a clear error when it was not included. */
export function requireModelFile<R extends ModelFileRole>(
  files: ClipModelFiles,
  role: R,
): NonNullable<ClipModelFiles[R]> {
  const value = files[role];
  if (value === undefined) throw new Error(`The model files of ${files.modelId} do not include ${role}.`);
  return value as NonNullable<ClipModelFiles[R]>;
}
