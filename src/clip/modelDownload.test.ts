/** Resumable, verified downloads of the browser's ModelManager, against a local server in the Hub's layout. */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { statedIntegrity } from './fileIntegrity';
import { parseContentRange } from './httpRange';
import { HubTestServer } from './hubTestServer';
import { cachedModelStatus, prepareModelStorage } from './modelCacheStatus';
import { DEFAULT_MODEL_ID, modelFileList } from './modelFiles';
import {
  ModelLoadError,
  ModelManager,
  StorageQuotaError,
  cacheStorageByteCache,
  type ByteCache,
  type ModelManagerOptions,
  type ModelProgressEvent,
} from './modelManager';
import { PARTIAL_CACHE_NAME, cacheStoragePartialStore, memoryPartialStore, type PartialStore } from './partialStore';
import { downloadResumable, type DownloadSink } from './resumableDownload';
import { requestPersistentStorage } from './storageBudget';

const TINY_DIR = fileURLToPath(new URL('../../models/tiny-clip', import.meta.url));
const PATHS = [...modelFileList('fp32'), ...modelFileList('fp16', ['visionModel'])].map((s) => s.path);
const TEXT = 'onnx/text_model.onnx';
const ID = 'test/tiny-clip';

const hub = new HubTestServer().addModel(ID, TINY_DIR, PATHS);
beforeAll(async () => {
  await hub.start();
});
afterAll(() => hub.stop());
beforeEach(() => {
  hub.requests.length = 0;
  hub.faults.clear();
  hub.redirectLfs = false; // a direct answer with the Hub's headers: what a page's fetch can read
});

class MemoryByteCache implements ByteCache {
  readonly map = new Map<string, Uint8Array>();
  async get(key: string) {
    return this.map.get(key);
  }
  async put(key: string, bytes: Uint8Array) {
    this.map.set(key, bytes.slice());
  }
  async delete(key: string) {
    this.map.delete(key);
  }
  async clear() {
    this.map.clear();
  }
}

function sameBytes(actual: Uint8Array | undefined, expected: Uint8Array): boolean {
  return actual !== undefined && Buffer.compare(actual, expected) === 0;
}

const textUrl = () => `${hub.origin}/${ID}/resolve/main/${TEXT}`;

function manager(options: ModelManagerOptions = {}): ModelManager {
  return new ModelManager({
    sources: [{ type: 'hub', endpoint: hub.origin }],
    cache: new MemoryByteCache(),
    retryDelayMs: 1,
    ...options,
  });
}

async function loadError(promise: Promise<unknown>): Promise<ModelLoadError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ModelLoadError);
    return error as ModelLoadError;
  }
  throw new Error('expected a ModelLoadError');
}

const textOnly = { modelId: ID, include: ['textModel'] as const };
const SIZE = () => hub.file(ID, TEXT).byteLength;

describe('headers', () => {
  it('reads ranges and the Hub’s integrity headers, never a git blob id or a weak tag as a SHA-256', () => {
    expect(parseContentRange('bytes 100-199/200')).toEqual({ start: 100, end: 199, size: 200 });
    expect(parseContentRange('bytes 5-9/*')).toEqual({ start: 5, end: 9, size: null });
    expect(parseContentRange('bytes */200')).toEqual({ start: null, end: null, size: 200 });
    expect(parseContentRange('bytes 9-5/200')).toBeNull();
    expect(parseContentRange(null)).toBeNull();
    const sha = 'ab'.repeat(32);
    expect(statedIntegrity(new Headers({ 'x-linked-etag': `"${sha}"`, 'x-linked-size': '12' }))).toEqual({
      linkedSize: 12,
      sha256: sha,
    });
    expect(statedIntegrity(new Headers({ etag: `"${sha}"`, 'x-linked-size': '12' })).sha256).toBe(sha);
    expect(statedIntegrity(new Headers({ etag: `"${sha}"` })).sha256).toBeNull(); // any server's ETag
    expect(statedIntegrity(new Headers({ etag: `W/"${sha}"`, 'x-linked-size': '12' })).sha256).toBeNull();
    expect(statedIntegrity(new Headers({ 'x-linked-etag': `"${'c'.repeat(40)}"` })).sha256).toBeNull(); // git sha1
  });
});

describe('ModelManager downloads', () => {
  it('verifies the stated SHA-256 and reports a verifying phase; small files are checked by size', async () => {
    const events: ModelProgressEvent[] = [];
    const files = await manager().load({ modelId: ID, onProgress: (e) => events.push(e) });
    expect(sameBytes(files.textModel, hub.file(ID, TEXT))).toBe(true);
    const verifying = events.filter((e) => e.phase === 'verifying').map((e) => e.file);
    expect(verifying).toEqual(['onnx/vision_model.onnx', TEXT]); // the JSON files' ETags are git ids, not hashes
    const last = events.filter((e) => e.file === TEXT).at(-1)!;
    expect(last).toMatchObject({ phase: 'verifying', loaded: SIZE(), total: SIZE() });
  });

  it('through a redirect it cannot read (as in a browser), checks by size only', async () => {
    hub.redirectLfs = true;
    const events: ModelProgressEvent[] = [];
    const files = await manager().load({ ...textOnly, onProgress: (e) => events.push(e) });
    expect(sameBytes(files.textModel, hub.file(ID, TEXT))).toBe(true);
    expect(events.some((e) => e.phase === 'verifying')).toBe(false);
    expect(hub.requests.map((r) => r.path)).toEqual([`/${ID}/resolve/main/${TEXT}`, expect.stringMatching(/^\/cdn\//)]);

    // Reading the redirect (Node) verifies the hash it states.
    const read: ModelProgressEvent[] = [];
    await manager({ readRedirects: true }).load({ ...textOnly, onProgress: (e) => read.push(e) });
    expect(read.at(-1)?.phase).toBe('verifying');
  });

  it('resumes a dropped connection from the received offset with a Range request', async () => {
    hub.faults.set(`${ID}/${TEXT}`, { kind: 'drop', after: 2_000_000 });
    const events: ModelProgressEvent[] = [];
    const files = await manager().load({ ...textOnly, onProgress: (e) => events.push(e) });
    expect(sameBytes(files.textModel, hub.file(ID, TEXT))).toBe(true);
    const ranges = hub.resolveRequests(ID, TEXT).map((r) => r.range);
    expect(ranges).toHaveLength(2);
    expect(ranges[0]).toBeNull();
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(ranges[1]!)![1]);
    expect(resumedAt).toBeGreaterThan(1_000_000);
    expect(resumedAt).toBeLessThanOrEqual(2_000_000);
    expect(events.find((e) => e.retry === 1)).toMatchObject({ resumedFrom: resumedAt, loaded: resumedAt });
    for (let i = 1; i < events.length; i++) expect(events[i].loaded).toBeGreaterThanOrEqual(events[i - 1].loaded);
  });

  it('keeps the bytes of a failed download and resumes them in a later load', async () => {
    hub.faults.set(`${ID}/${TEXT}`, { kind: 'drop', after: 3_000_000, times: 2 });
    const cache = new MemoryByteCache();
    const partialStore = memoryPartialStore();
    const error = await loadError(manager({ cache, partialStore, retries: 1 }).load(textOnly));
    expect(error.kind).toBe('truncated');
    expect(error.message).toMatch(/kept; a new attempt resumes there/);
    expect(cache.map.size).toBe(0);
    const held = await partialStore.size(textUrl());
    expect(held).toEqual({ bytes: expect.any(Number), total: SIZE() });
    expect(held!.bytes).toBeGreaterThan(1_000_000);

    hub.requests.length = 0;
    const events: ModelProgressEvent[] = [];
    const files = await manager({ cache, partialStore }).load({ ...textOnly, onProgress: (e) => events.push(e) });
    expect(sameBytes(files.textModel, hub.file(ID, TEXT))).toBe(true);
    expect(hub.resolveRequests(ID, TEXT).map((r) => r.range)).toEqual([`bytes=${held!.bytes}-`]);
    expect(events[0]).toMatchObject({ loaded: held!.bytes, resumedFrom: held!.bytes, phase: 'downloading' });
    expect(await partialStore.size(textUrl())).toBeUndefined();
    expect(cache.map.has(textUrl())).toBe(true);
  });

  it('a cancel mid-file is a typed cancel, caches nothing complete, and the next load resumes', async () => {
    hub.faults.set(`${ID}/${TEXT}`, { kind: 'stall', after: 2_500_000 });
    const cache = new MemoryByteCache();
    const partialStore = memoryPartialStore();
    const controller = new AbortController();
    const error = await loadError(
      manager({ cache, partialStore }).load({
        ...textOnly,
        signal: controller.signal,
        onProgress: (e) => {
          if (e.loaded >= 2_000_000) controller.abort();
        },
      }),
    );
    expect(error.kind).toBe('cancelled');
    expect(error.message).toMatch(/MB kept, a new attempt resumes there/);
    expect(cache.map.size).toBe(0);
    const status = await cachedModelStatus({
      ...textOnly,
      sources: [{ type: 'hub', endpoint: hub.origin }],
      cache,
      partialStore,
    });
    expect(status.state).toBe('partial');
    expect(status.partialBytes).toBeGreaterThanOrEqual(2_000_000);
    expect(status.missingBytes).toBe(SIZE() - status.partialBytes);

    hub.faults.clear();
    hub.requests.length = 0;
    const files = await manager({ cache, partialStore }).load(textOnly);
    expect(sameBytes(files.textModel, hub.file(ID, TEXT))).toBe(true);
    expect(hub.resolveRequests(ID, TEXT).map((r) => r.range)).toEqual([`bytes=${status.partialBytes}-`]);
    const after = await cachedModelStatus({
      ...textOnly,
      sources: [{ type: 'hub', endpoint: hub.origin }],
      cache,
      partialStore,
    });
    expect(after).toMatchObject({ state: 'cached', cachedBytes: SIZE(), partialBytes: 0, missingBytes: 0 });
  });

  it('rejects a wrong SHA-256 or size, discards the bytes and caches nothing', async () => {
    const cache = new MemoryByteCache();
    const partialStore = memoryPartialStore();
    hub.faults.set(`${ID}/${TEXT}`, { kind: 'bad-hash' });
    const hash = await loadError(manager({ cache, partialStore }).load(textOnly));
    expect(hash.kind).toBe('hash-mismatch');
    expect(hash.message).toContain(TEXT);
    expect(hash.message).toContain('0'.repeat(64));
    expect(cache.map.size).toBe(0);
    expect(await partialStore.size(textUrl())).toBeUndefined();

    hub.faults.set(`${ID}/${TEXT}`, { kind: 'bad-size' });
    const size = await loadError(manager({ cache, partialStore }).load(textOnly));
    expect(size.kind).toBe('size-mismatch');
    expect(size.message).toMatch(new RegExp(`${SIZE()} B arrived, the server states ${SIZE() + 1} B`));
    expect(cache.map.size).toBe(0);
    expect(await partialStore.size(textUrl())).toBeUndefined();
  });

  it('starts over when the server ignores the range or the file changed, and finishes a complete partial file on 416', async () => {
    const url = textUrl();
    const whole = hub.file(ID, TEXT);
    const meta = { total: whole.byteLength, etag: null, sha256: null };

    // A server without ranges: the 200 is taken from byte 0.
    let partialStore: PartialStore = memoryPartialStore();
    await partialStore.append(url, meta, 0, whole.subarray(0, 1_000_000));
    hub.faults.set(`${ID}/${TEXT}`, { kind: 'no-range' });
    let files = await manager({ partialStore }).load(textOnly);
    expect(sameBytes(files.textModel, whole)).toBe(true);
    expect(hub.resolveRequests(ID, TEXT).map((r) => r.range)).toEqual(['bytes=1000000-']);

    // Kept bytes of another version (other ETag): the 206 is refused, the file is fetched whole.
    hub.faults.clear();
    hub.requests.length = 0;
    partialStore = memoryPartialStore();
    await partialStore.append(url, { ...meta, etag: '"older"' }, 0, whole.subarray(0, 1_000_000));
    files = await manager({ partialStore }).load(textOnly);
    expect(sameBytes(files.textModel, whole)).toBe(true);
    expect(hub.resolveRequests(ID, TEXT).map((r) => r.range)).toEqual(['bytes=1000000-', null]);

    // Every byte kept already (stopped before it was cached): 416, then verified and cached without a body.
    hub.requests.length = 0;
    partialStore = memoryPartialStore();
    await partialStore.append(url, meta, 0, whole);
    const cache = new MemoryByteCache();
    files = await manager({ partialStore, cache }).load(textOnly);
    expect(sameBytes(files.textModel, whole)).toBe(true);
    expect(hub.resolveRequests(ID, TEXT).map((r) => r.range)).toEqual([`bytes=${whole.byteLength}-`]);
    expect(cache.map.has(url)).toBe(true);
  });

  it('does not retry a failure to store the bytes (a full disk): it is not the network', async () => {
    let kept = 0;
    let written = 0;
    const sink: DownloadSink = {
      get length() {
        return written;
      },
      held: () => null,
      begin: async () => undefined,
      async write(chunk) {
        if (written > 1_000_000) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        written += chunk.byteLength;
      },
      keep: async () => void kept++,
      sha256: async () => null,
      discard: async () => undefined,
    };
    const download = downloadResumable({ url: textUrl(), file: TEXT, source: 'hub', sink, fetch, retryDelayMs: 1 });
    await expect(download).rejects.toThrow(/ENOSPC/);
    expect(hub.resolveRequests(ID, TEXT)).toHaveLength(1);
    expect(kept).toBe(1);
  });

  it('keeps partial bytes in Cache Storage across a reload, and reports them', async () => {
    const storage = new MemoryCacheStorage() as unknown as CacheStorage;
    const open = () => ({
      cache: cacheStorageByteCache(storage),
      partialStore: cacheStoragePartialStore(storage),
      checkpointBytes: 1_000_000,
    });
    hub.faults.set(`${ID}/${TEXT}`, { kind: 'drop', after: 3_500_000 });
    const error = await loadError(manager({ ...open(), retries: 0 }).load(textOnly));
    expect(error.kind).toBe('truncated');
    const segments = (storage as unknown as MemoryCacheStorage).keys(PARTIAL_CACHE_NAME);
    expect(segments.length).toBeGreaterThanOrEqual(3);

    // A reload: new objects over the same storage.
    const sources = [{ type: 'hub' as const, endpoint: hub.origin }];
    const status = await cachedModelStatus({ ...textOnly, sources, ...open() });
    expect(status.state).toBe('partial');
    expect(status.files[0]).toMatchObject({ state: 'partial', total: SIZE(), url: textUrl() });
    hub.requests.length = 0;
    const files = await manager(open()).load(textOnly);
    expect(sameBytes(files.textModel, hub.file(ID, TEXT))).toBe(true);
    expect(hub.resolveRequests(ID, TEXT)[0].range).toBe(`bytes=${status.partialBytes}-`);
    expect((storage as unknown as MemoryCacheStorage).keys(PARTIAL_CACHE_NAME)).toEqual([]);
    expect((await cachedModelStatus({ ...textOnly, sources, ...open() })).state).toBe('cached');

    await manager(open()).clearCache(ID);
    expect((await cachedModelStatus({ ...textOnly, sources, ...open() })).state).toBe('not-cached');
    expect((await cachedModelStatus({ modelId: ID, cache: undefined })).state).toBe('unavailable'); // Node: no caches
  });
});

describe('storage', () => {
  const full = (quota: number, usage: number) => ({ estimate: async () => ({ quota, usage }) });

  it('refuses a download that does not fit, with the numbers, before any request', async () => {
    const pre = await loadError(
      manager({ storage: full(200_000_000, 20_000_000) }).load({ modelId: DEFAULT_MODEL_ID }),
    );
    expect(pre).toBeInstanceOf(StorageQuotaError);
    expect(pre.kind).toBe('no-space');
    expect(pre.message).toMatch(/needs 608\.2 MB, 180\.0 MB free/);
    expect((pre as StorageQuotaError).neededBytes).toBe(608_229_300);
    expect((pre as StorageQuotaError).availableBytes).toBe(180_000_000);
    expect(hub.requests).toEqual([]);

    // Another model's sizes are known once its server states them: checked file by file, not fallen through.
    const perFile = await loadError(manager({ storage: full(10_000_000, 9_000_000) }).load(textOnly));
    expect(perFile.kind).toBe('no-space');
    expect(perFile.message).toMatch(/needs 6\.5 MB, 1\.0 MB free/);
    expect(perFile.attempts).toEqual([]);
  });

  it('asks for persistent storage and checks the quota for what is missing', async () => {
    expect(
      await requestPersistentStorage({ ...full(1, 0), persisted: async () => true, persist: async () => false }),
    ).toBe('persisted');
    expect(await requestPersistentStorage({ ...full(1, 0), persist: async () => false })).toBe('denied');
    expect(await requestPersistentStorage(full(1, 0))).toBe('unsupported');
    expect(await requestPersistentStorage(null)).toBe('unsupported');

    let asked = 0;
    const storage = { ...full(1_000_000_000, 100_000_000), persist: async () => (++asked, true) };
    const ready = await prepareModelStorage({ cache: new MemoryByteCache(), partialStore: null, storage });
    expect(ready).toMatchObject({ persistence: 'persisted', availableBytes: 900_000_000 });
    expect(ready.status).toMatchObject({ state: 'not-cached', missingBytes: 608_229_300 });
    expect(asked).toBe(1);
    const error = await loadError(
      prepareModelStorage({
        cache: new MemoryByteCache(),
        partialStore: null,
        storage: full(700_000_000, 600_000_000),
      }),
    );
    expect(error.message).toMatch(/needs 608\.2 MB, 100\.0 MB free/);
  });
});

/** Just enough of Cache Storage for the byte cache and the partial store. */
class MemoryCacheStorage {
  private readonly caches = new Map<string, Map<string, Response>>();
  async open(name: string) {
    let entries = this.caches.get(name);
    if (!entries) this.caches.set(name, (entries = new Map()));
    const store = entries;
    const key = (request: RequestInfo | URL) => (request instanceof Request ? request.url : String(request));
    return {
      async match(request: RequestInfo | URL) {
        return store.get(key(request))?.clone();
      },
      async put(request: RequestInfo | URL, response: Response) {
        store.set(key(request), new Response(await response.arrayBuffer(), { headers: response.headers }));
      },
      async delete(request: RequestInfo | URL) {
        return store.delete(key(request));
      },
      async keys() {
        return [...store.keys()].map((url) => new Request(url));
      },
    };
  }
  async delete(name: string) {
    return this.caches.delete(name);
  }
  keys(name: string) {
    return [...(this.caches.get(name)?.keys() ?? [])];
  }
}
