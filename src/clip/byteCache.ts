/** The store of complete model files, keyed by URL: Cache Storage in the browser, anything with this shape in tests. */

export const MODEL_CACHE_NAME = 'text2live-models-v1';

export interface ByteCache {
  get(key: string): Promise<Uint8Array | undefined>;
  put(key: string, bytes: Uint8Array, contentType: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** Drop everything this cache holds. */
  clear(): Promise<void>;
  /** The stored file's size without reading it (cache status, quota checks); without it `get` is used. */
  size?(key: string): Promise<number | undefined>;
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
    async size(key) {
      const cache = await open();
      const response = await cache?.match(key);
      if (!response) return undefined;
      const length = Number(response.headers.get('content-length'));
      if (Number.isSafeInteger(length) && length >= 0) return length;
      return (await response.blob()).size; // a Blob handle: the bytes are not read into memory
    },
  };
}

/** The stored size of `key`, through `size()` when the cache has it. */
export async function cachedSize(cache: ByteCache, key: string): Promise<number | undefined> {
  try {
    return cache.size ? await cache.size(key) : (await cache.get(key))?.byteLength;
  } catch {
    return undefined;
  }
}
