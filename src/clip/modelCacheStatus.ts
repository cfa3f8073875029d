/**
 * For the page: is the model cached (complete, partly, not at all), and is there room for the rest? The page calls
 * these instead of opening Cache Storage itself, so the cache layout stays private to `src/clip`.
 */

import type { ByteCache } from './byteCache';
import type { CachedFileStatus } from './cacheProbe';
import {
  ALL_ROLES,
  DEFAULT_HUB_ENDPOINT,
  DEFAULT_HUB_REVISION,
  DEFAULT_MODEL_ID,
  DEFAULT_SELF_HOSTED_BASE,
  modelFileList,
  type ModelFileRole,
  type Precision,
} from './modelFiles';
import { ModelManager, type ModelSource } from './modelManager';
import type { PartialStore } from './partialStore';
import {
  browserStorage,
  ensureSpace,
  requestPersistentStorage,
  type PersistResult,
  type StorageEstimator,
} from './storageBudget';

export interface ModelCacheQuery {
  modelId?: string;
  precision?: Precision;
  include?: readonly ModelFileRole[];
  /** The self-hosted base the worker loads from (default `/models/`); the Hub is always looked up too. */
  baseUrl?: string;
  hubEndpoint?: string;
  revision?: string;
  /** The exact sources instead of `baseUrl` + the Hub. */
  sources?: readonly ModelSource[];
  /** Default: Cache Storage, as the worker's `ModelManager` uses it. */
  cache?: ByteCache | null;
  partialStore?: PartialStore | null;
}

export interface CachedModelStatus {
  /**
   * `cached`: every file complete (a load makes no request); `partial`: some bytes kept (a load resumes);
   * `not-cached`: nothing; `unavailable`: this browser context has no Cache Storage (private mode, insecure page).
   */
  state: 'cached' | 'partial' | 'not-cached' | 'unavailable';
  /** Bytes of the complete files. */
  cachedBytes: number;
  /** Bytes kept of unfinished files. */
  partialBytes: number;
  /**
   * Bytes still to download, when every missing size is known (a partial file's stated size; the default model's
   * approximate sizes from the manifest); null when some size is unknown.
   */
  missingBytes: number | null;
  files: CachedFileStatus[];
}

function managerFor(query: ModelCacheQuery): ModelManager {
  const sources: readonly ModelSource[] = query.sources ?? [
    { type: 'self-hosted', baseUrl: query.baseUrl ?? DEFAULT_SELF_HOSTED_BASE },
    {
      type: 'hub',
      endpoint: query.hubEndpoint ?? DEFAULT_HUB_ENDPOINT,
      revision: query.revision ?? DEFAULT_HUB_REVISION,
    },
  ];
  return new ModelManager({ sources, cache: query.cache, partialStore: query.partialStore, storage: null });
}

/** What is cached of a model; reads only entry headers, makes no network request. */
export async function cachedModelStatus(query: ModelCacheQuery = {}): Promise<CachedModelStatus> {
  const modelId = query.modelId ?? DEFAULT_MODEL_ID;
  const precision = query.precision ?? 'fp32';
  const include = query.include ?? ALL_ROLES;
  if (query.cache === undefined && typeof globalThis.caches === 'undefined') {
    return { state: 'unavailable', cachedBytes: 0, partialBytes: 0, missingBytes: null, files: [] };
  }
  const files = await managerFor(query).cacheStatus(modelId, precision, include);
  const approx = new Map(modelFileList(precision, include).map((s) => [s.path, s.approxBytes]));
  let cachedBytes = 0;
  let partialBytes = 0;
  let missingBytes: number | null = 0;
  for (const f of files) {
    if (f.state === 'cached') cachedBytes += f.bytes;
    else {
      if (f.state === 'partial') partialBytes += f.bytes;
      const total = f.total ?? (modelId === DEFAULT_MODEL_ID ? (approx.get(f.path) ?? null) : null);
      missingBytes = missingBytes === null || total === null ? null : missingBytes + Math.max(0, total - f.bytes);
    }
  }
  const state = files.every((f) => f.state === 'cached')
    ? 'cached'
    : files.some((f) => f.state !== 'missing')
      ? 'partial'
      : 'not-cached';
  return { state, cachedBytes, partialBytes, missingBytes, files };
}

export interface PreparedModelStorage {
  /** What `navigator.storage.persist()` gave ('unsupported' in workers and old browsers). */
  persistence: PersistResult;
  status: CachedModelStatus;
  /** Free bytes the storage reports; null when it cannot tell. */
  availableBytes: number | null;
}

/**
 * Before a download, from the page: asks for persistent storage, then checks that what is missing of the model fits
 * the quota. Throws `StorageQuotaError` (a `ModelLoadError` of kind `no-space`, with `neededBytes` and
 * `availableBytes`, e.g. "needs 612.0 MB, 180.0 MB free") when it does not. `persist: false` skips the request.
 */
export async function prepareModelStorage(
  query: ModelCacheQuery & { storage?: StorageEstimator | null; persist?: boolean } = {},
): Promise<PreparedModelStorage> {
  const storage = query.storage !== undefined ? query.storage : browserStorage();
  const status = await cachedModelStatus(query);
  const persistence = query.persist === false ? 'unsupported' : await requestPersistentStorage(storage);
  const needed = status.missingBytes ?? 0;
  const first = status.files.find((f) => f.state !== 'cached')?.path ?? '';
  const availableBytes =
    needed > 0 && status.state !== 'unavailable' ? await ensureSpace(storage, needed, first) : null;
  return { persistence, status, availableBytes };
}
