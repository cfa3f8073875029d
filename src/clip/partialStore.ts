/**
 * Where an unfinished download keeps its bytes so the next attempt resumes with a Range request instead of starting
 * over. The browser keeps them in Cache Storage (`text2live-partial-v1`), so they survive a cancel, a failed
 * attempt and a page reload or crash; without Cache Storage they live in memory for the manager's lifetime.
 *
 * A partial file is a chain of segments appended as the download goes (`checkpointBytes` apart, 16 MB by default),
 * each keyed by its URL plus its start offset. Appending never rewrites what is stored, so checkpoints stay cheap;
 * a reload loses at most the last segment's worth. Only files of known size are kept (a resumed body must fit a
 * known whole).
 */

export interface PartialMeta {
  /** The whole file's size. */
  total: number;
  /** The response's ETag when it had one: a resumed answer with another ETag is another file. */
  etag: string | null;
  /** The SHA-256 the server stated, when it did. */
  sha256: string | null;
}

export interface PartialDownload {
  meta: PartialMeta;
  /** `meta.total` bytes, of which the first `length` are the file's. */
  buffer: Uint8Array;
  length: number;
}

export interface PartialStore {
  load(key: string): Promise<PartialDownload | undefined>;
  /** Bytes held and the whole size, without reading the bytes (for cache status). */
  size(key: string): Promise<{ bytes: number; total: number } | undefined>;
  /** Stores `bytes` as the file's bytes from `offset` on. Copies `bytes` before it returns. */
  append(key: string, meta: PartialMeta, offset: number, bytes: Uint8Array): Promise<void>;
  delete(key: string): Promise<void>;
  clear(): Promise<void>;
}

export const PARTIAL_CACHE_NAME = 'text2live-partial-v1';
const OFFSET_PARAM = 'text2live-partial-offset';

function sameMeta(a: PartialMeta, b: PartialMeta): boolean {
  return a.total === b.total && a.etag === b.etag && a.sha256 === b.sha256;
}

/** Partial files in memory: resumes within one manager (Node tests, browsers without Cache Storage). */
export function memoryPartialStore(): PartialStore {
  const files = new Map<string, { meta: PartialMeta; segments: Uint8Array[]; length: number }>();
  return {
    async load(key) {
      const file = files.get(key);
      if (!file || file.length === 0) return undefined;
      const buffer = new Uint8Array(file.meta.total);
      let offset = 0;
      for (const s of file.segments) {
        buffer.set(s, offset);
        offset += s.byteLength;
      }
      return { meta: { ...file.meta }, buffer, length: file.length };
    },
    async size(key) {
      const file = files.get(key);
      return file ? { bytes: file.length, total: file.meta.total } : undefined;
    },
    async append(key, meta, offset, bytes) {
      const copy = bytes.slice();
      let file = files.get(key);
      if (!file || !sameMeta(file.meta, meta) || file.length !== offset) {
        if (offset !== 0) return; // not contiguous with what is held: keep nothing rather than a gap
        file = { meta: { ...meta }, segments: [], length: 0 };
        files.set(key, file);
      }
      file.segments.push(copy);
      file.length += copy.byteLength;
    },
    async delete(key) {
      files.delete(key);
    },
    async clear() {
      files.clear();
    },
  };
}

function segmentKey(key: string, offset: number): string {
  const url = new URL(key);
  url.searchParams.set(OFFSET_PARAM, String(offset));
  return url.href;
}

function metaOf(response: Response): PartialMeta | null {
  const total = Number(response.headers.get('x-text2live-total'));
  if (!Number.isSafeInteger(total) || total <= 0) return null;
  return {
    total,
    etag: response.headers.get('x-text2live-etag') || null,
    sha256: response.headers.get('x-text2live-sha256') || null,
  };
}

function segmentLength(response: Response): number {
  const n = Number(response.headers.get('content-length'));
  return Number.isSafeInteger(n) ? n : -1;
}

/** Partial files as Cache Storage segments. If `caches` is missing or cannot be opened, nothing is kept. */
export function cacheStoragePartialStore(
  storage: CacheStorage | undefined = globalThis.caches,
  name: string = PARTIAL_CACHE_NAME,
): PartialStore {
  let opened: Promise<Cache | null> | null = null;
  const open = (): Promise<Cache | null> => {
    opened ??= storage ? storage.open(name).catch(() => null) : Promise.resolve(null);
    return opened;
  };
  /** Follows the chain of segments from offset 0; stops at a gap or a segment of another file. */
  async function walk(
    key: string,
    read: boolean,
  ): Promise<PartialDownload | { meta: PartialMeta; length: number } | undefined> {
    const cache = await open();
    const first = await cache?.match(segmentKey(key, 0));
    const meta = first ? metaOf(first) : null;
    if (!cache || !first || !meta) return undefined;
    const buffer = read ? new Uint8Array(meta.total) : null;
    let length = 0;
    let response: Response | undefined = first;
    while (response) {
      const m = metaOf(response);
      const n = segmentLength(response);
      if (!m || !sameMeta(m, meta) || n <= 0 || length + n > meta.total) break;
      if (buffer) {
        const bytes = new Uint8Array(await response.arrayBuffer());
        if (bytes.byteLength !== n) break;
        buffer.set(bytes, length);
      }
      length += n;
      if (length === meta.total) break;
      response = await cache.match(segmentKey(key, length));
    }
    if (length === 0) return undefined;
    return buffer ? { meta, buffer, length } : { meta, length };
  }
  return {
    async load(key) {
      const found = await walk(key, true);
      return found && 'buffer' in found ? found : undefined;
    },
    async size(key) {
      const found = await walk(key, false);
      return found ? { bytes: found.length, total: found.meta.total } : undefined;
    },
    async append(key, meta, offset, bytes) {
      const body = new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }); // copies now
      const cache = await open();
      if (!cache) return;
      await cache.put(
        segmentKey(key, offset),
        new Response(body, {
          headers: {
            'Content-Type': 'application/octet-stream',
            'Content-Length': String(body.size),
            'X-Text2live-Total': String(meta.total),
            'X-Text2live-Etag': meta.etag ?? '',
            'X-Text2live-Sha256': meta.sha256 ?? '',
          },
        }),
      );
    },
    async delete(key) {
      const cache = await open();
      if (!cache) return;
      const target = new URL(key).href;
      for (const request of await cache.keys()) {
        const url = new URL(request.url);
        if (!url.searchParams.has(OFFSET_PARAM)) continue;
        url.searchParams.delete(OFFSET_PARAM);
        if (url.href === target) await cache.delete(request);
      }
    },
    async clear() {
      opened = null;
      await storage?.delete(name);
    },
  };
}
