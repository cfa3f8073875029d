/**
 * Finds, downloads, checks and caches the CLIP model files (layout in `modelFiles.ts`).
 *
 * Sources are tried in order for each file (default: the self-hosted `/models/` folder, then the Hugging Face Hub;
 * files the user picked can be added). Before any network request the byte cache (Cache Storage in the browser) is
 * consulted for every network source's URL, so a second load makes no request at all.
 *
 * Downloads stream through `response.body.getReader()` into one preallocated buffer when Content-Length is known (a
 * 350 MB file never exists twice in memory), emit byte progress, and are checked: a short body is `truncated`, an HTML
 * page or garbage where JSON/ONNX belongs is `wrong-file`. Any failure except cancellation falls through to the next
 * source (a 404 or a dev server's HTML fallback on `/models/` → the Hub); the final error lists every attempt.
 *
 * Browser-safe: no Node imports here. The Node directory loader lives in `modelDirectory.ts`.
 */

import {
  ALL_ROLES,
  DEFAULT_HUB_ENDPOINT,
  DEFAULT_HUB_REVISION,
  DEFAULT_MODEL_ID,
  DEFAULT_SELF_HOSTED_BASE,
  checkModelId,
  formatBytes,
  hubUrl,
  modelFileList,
  selfHostedUrl,
  type ModelFileRole,
  type ModelFileSpec,
  type Precision,
} from './modelFiles';

export const MODEL_CACHE_NAME = 'text2live-models-v1';

// ---------------------------------------------------------------------------------------------------------------------
// Public types

/** A file the user picked: a `File` (its `webkitRelativePath` is used when set) or a blob with an explicit path. */
export type PickedFile = File | { path: string; file: Blob };

export type ModelSource =
  | { type: 'self-hosted'; /** Default `/models/`; files at `<baseUrl><id>/<file>`. */ baseUrl?: string }
  | { type: 'hub'; endpoint?: string; revision?: string }
  | { type: 'files'; files: Iterable<PickedFile> | ArrayLike<PickedFile> };

export type ModelSourceType = ModelSource['type'];
/** Where bytes came from, as reported in progress events and `ClipModelFiles.sources`. */
export type LoadedFrom = ModelSourceType | 'cache' | 'directory';

export interface ModelProgressEvent {
  /** The file's path in the model folder (`onnx/text_model.onnx`). */
  file: string;
  loaded: number;
  /** Expected bytes (Content-Length, the picked file's size, the cached size); null when unknown. */
  total: number | null;
  source: LoadedFrom;
  url?: string;
}

export type ModelLoadErrorKind = 'not-found' | 'offline' | 'truncated' | 'wrong-file' | 'http' | 'cancelled';

export interface ModelLoadAttempt {
  source: ModelSourceType | 'directory';
  /** URL, picked-file path or directory path. */
  location: string;
  kind: ModelLoadErrorKind;
  message: string;
  status?: number;
}

export class ModelLoadError extends Error {
  readonly kind: ModelLoadErrorKind;
  /** The file's path in the model folder. */
  readonly file: string;
  /** The URL (or path) of the failing attempt; for the final error, of the last attempt. */
  readonly url?: string;
  readonly status?: number;
  /** Every source tried for this file, in order (one entry for a single-attempt error). */
  readonly attempts: readonly ModelLoadAttempt[];

  constructor(
    kind: ModelLoadErrorKind,
    file: string,
    message: string,
    details: { url?: string; status?: number; attempts?: readonly ModelLoadAttempt[]; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'ModelLoadError';
    this.kind = kind;
    this.file = file;
    this.url = details.url;
    this.status = details.status;
    this.attempts = details.attempts ?? [];
  }
}

/** A byte store keyed by URL. The browser default is Cache Storage (`cacheStorageByteCache`); tests inject their own. */
export interface ByteCache {
  get(key: string): Promise<Uint8Array | undefined>;
  put(key: string, bytes: Uint8Array, contentType: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** Drop everything this cache holds. */
  clear(): Promise<void>;
}

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

/**
 * Cache Storage as a `ByteCache`. Opened lazily; if `caches` is missing or unusable (Node, insecure context, some
 * private modes) every lookup misses and every store is skipped. Store failures (quota) are not fatal either.
 */
export function cacheStorageByteCache(
  storage: CacheStorage | undefined = globalThis.caches,
  name: string = MODEL_CACHE_NAME,
): ByteCache {
  let opened: Promise<Cache | null> | null = null;
  const open = (): Promise<Cache | null> => {
    opened ??= storage ? storage.open(name).catch(() => null) : Promise.resolve(null);
    return opened;
  };
  return {
    async get(key) {
      const cache = await open();
      const response = await cache?.match(key);
      if (!response) return undefined;
      return new Uint8Array(await response.arrayBuffer());
    },
    async put(key, bytes, contentType) {
      const cache = await open();
      if (!cache) return;
      const body = new Blob([bytes as Uint8Array<ArrayBuffer>], { type: contentType });
      await cache.put(
        key,
        new Response(body, { headers: { 'Content-Type': contentType, 'Content-Length': String(bytes.byteLength) } }),
      );
    },
    async delete(key) {
      const cache = await open();
      await cache?.delete(key);
    },
    async clear() {
      opened = null;
      await storage?.delete(name);
    },
  };
}

function defaultCache(): ByteCache | null {
  return typeof globalThis.caches === 'undefined' ? null : cacheStorageByteCache();
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
        `(${formatBytes(bytes.byteLength)}, starts with ${preview(bytes)}).`,
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

function isAbort(error: unknown, signal?: AbortSignal): boolean {
  return signal?.aborted === true || (error instanceof Error && error.name === 'AbortError');
}

function cancelled(file: string, location: string, cause?: unknown): ModelLoadError {
  return new ModelLoadError('cancelled', file, `Loading ${file} was cancelled (${location}).`, {
    url: location,
    cause,
  });
}

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
          `Download of ${file} from ${location} broke off after ${formatBytes(loaded)}` +
            (expected !== null ? ` of ${formatBytes(expected)}` : '') +
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
      `Download of ${file} from ${location} is truncated: received ${formatBytes(loaded)} (${loaded} B) of ` +
        `${formatBytes(expected)} (${expected} B, Content-Length).`,
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
    if (error.kind === 'cancelled') throw error;
    return { ok: false, attempt: { source, location, kind: error.kind, message: error.message, status: error.status } };
  }
  throw error;
}

export class ModelManager {
  private readonly sources: readonly ModelSource[];
  private readonly cache: ByteCache | null;
  private readonly fetchFn: typeof fetch;

  constructor(options: ModelManagerOptions = {}) {
    this.sources = options.sources ?? defaultModelSources();
    this.cache = options.cache === undefined ? defaultCache() : options.cache;
    this.fetchFn = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** Loads the requested files one after another (small JSON first). */
  async load(options: LoadModelOptions = {}): Promise<ClipModelFiles> {
    const modelId = options.modelId ?? DEFAULT_MODEL_ID;
    checkModelId(modelId);
    const precision = options.precision ?? 'fp32';
    const result: ClipModelFiles = { modelId, precision, sources: {} };
    for (const spec of modelFileList(precision, options.include ?? ALL_ROLES)) {
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

  /** Removes the cached copies of a model's files (all precisions), or with no id the whole cache. */
  async clearCache(modelId?: string): Promise<void> {
    if (!this.cache) return;
    if (modelId === undefined) return this.cache.clear();
    const specs = [...modelFileList('fp32'), ...modelFileList('fp16', ['visionModel'])];
    for (const spec of specs) for (const { url } of this.urlsFor(modelId, spec)) if (url) await this.cache.delete(url);
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
          onProgress?.({ file: spec.path, loaded: bytes.byteLength, total: bytes.byteLength, source: 'cache', url });
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
    const kind: ModelLoadErrorKind = decisive?.kind ?? 'not-found';
    const lines = attempts.map((a) => `  - ${a.source}: ${a.message}`);
    throw new ModelLoadError(
      kind,
      spec.path,
      `Could not load ${spec.path} of model ${modelId}` +
        (attempts.length === 0 ? ': no sources configured.' : `. Tried:\n${lines.join('\n')}`),
      { url: decisive?.location, status: decisive?.status, attempts },
    );
  }

  private async fromUrl(
    source: ModelSourceType,
    url: string,
    spec: ModelFileSpec,
    onProgress: LoadModelOptions['onProgress'],
    signal: AbortSignal | undefined,
  ): Promise<Attempt> {
    try {
      const bytes = await this.download(source, url, spec, onProgress, signal);
      const value = decodeModelFile(spec, bytes, url);
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

  private async download(
    source: ModelSourceType,
    url: string,
    spec: ModelFileSpec,
    onProgress: LoadModelOptions['onProgress'],
    signal: AbortSignal | undefined,
  ): Promise<Uint8Array> {
    let response: Response;
    try {
      // `no-store`: we keep our own copy in Cache Storage; the HTTP cache would hold a second one.
      response = await this.fetchFn(url, { signal, cache: 'no-store', redirect: 'follow' });
    } catch (error) {
      if (isAbort(error, signal)) throw cancelled(spec.path, url, error);
      const detail = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : '';
      throw new ModelLoadError(
        'offline',
        spec.path,
        `${spec.path}: could not reach ${url} (network error${detail ? `: ${detail}` : ''}; offline?).`,
        { url, cause: error },
      );
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      const notFound = response.status === 404 || response.status === 410;
      throw new ModelLoadError(
        notFound ? 'not-found' : 'http',
        spec.path,
        notFound
          ? `${spec.path}: not found at ${url} (HTTP ${response.status}).`
          : `${spec.path}: ${url} answered HTTP ${response.status} ${response.statusText}.`.replace(' .', '.'),
        { url, status: response.status },
      );
    }
    const contentType = response.headers.get('content-type') ?? '';
    if (/text\/html/i.test(contentType)) {
      await response.body?.cancel().catch(() => undefined);
      throw new ModelLoadError(
        'wrong-file',
        spec.path,
        `${spec.path} from ${url} is not ${spec.format === 'onnx' ? 'an ONNX model' : 'a JSON file'}: the server ` +
          `sent an HTML page (Content-Type ${contentType}; a missing file answered by a web page?).`,
        { url },
      );
    }
    // Content-Length counts encoded bytes; with a (visible) content encoding the decoded size is unknown.
    const encoding = (response.headers.get('content-encoding') ?? 'identity').toLowerCase();
    const lengthHeader = response.headers.get('content-length');
    const declared = lengthHeader !== null && /^\d+$/.test(lengthHeader.trim()) ? Number(lengthHeader) : null;
    const expected = encoding === 'identity' ? declared : null;
    const emit = (loaded: number) => onProgress?.({ file: spec.path, loaded, total: expected, source, url });
    emit(0);
    if (!response.body) {
      // No stream (unusual): read at once.
      const bytes = new Uint8Array(await response.arrayBuffer());
      emit(bytes.byteLength);
      return bytes;
    }
    return readStream(response.body, expected, spec.path, url, emit, signal);
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
  const { sources, cache, fetch, ...load } = options;
  return new ModelManager({ sources, cache, fetch }).load(load);
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
