import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadModelFromDirectory } from './modelDirectory';
import { TEXT_ROLES, hubUrl, modelFileList, selfHostedUrl } from './modelFiles';
import {
  ModelLoadError,
  ModelManager,
  cacheStorageByteCache,
  matchPickedFile,
  type ByteCache,
  type ModelProgressEvent,
  type ModelSource,
} from './modelManager';

// ---------------------------------------------------------------------------------------------------------------------
// The model folder the server hands out: the tiny test model (models/tiny-clip).

const TINY_DIR = fileURLToPath(new URL('../../models/tiny-clip', import.meta.url));

function modelFolder(): Map<string, Uint8Array> {
  const read = (path: string) => new Uint8Array(readFileSync(path));
  const files = new Map<string, Uint8Array>();
  for (const spec of [...modelFileList('fp32'), ...modelFileList('fp16', ['visionModel'])]) {
    files.set(spec.path, read(`${TINY_DIR}/${spec.path}`));
  }
  return files;
}

const FOLDER = modelFolder();
const HTML = new TextEncoder().encode('<!doctype html><html><body><div id="root"></div></body></html>\n');

// ---------------------------------------------------------------------------------------------------------------------
// A local server. Self-hosted layout: /models/<owner>/<name>/<file>; hub layout: /<owner>/<name>/resolve/main/<file>.
// Models by name: `tiny` (both layouts), `hubonly` (hub layout only), `html` (every path answers a 200 HTML page, like a
// dev server's SPA fallback), `sniff` (HTML bytes with an octet-stream type), `truncated`, `stall` and `chunked` (the
// text model is cut short, stalls half way, or comes without Content-Length), `broken` (HTTP 500).

const MODELS = new Set(['tiny', 'hubonly', 'html', 'sniff', 'truncated', 'stall', 'chunked', 'broken']);
let server: http.Server;
let origin = '';
const requests: string[] = [];

function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  requests.push(url.pathname);
  const selfHosted = /^\/models\/test\/([^/]+)\/(.+)$/.exec(url.pathname);
  const hub = /^\/test\/([^/]+)\/resolve\/main\/(.+)$/.exec(url.pathname);
  const match = selfHosted ?? hub;
  const [, model, file] = match ?? [];
  const body = file !== undefined ? FOLDER.get(file) : undefined;
  const send = (status: number, bytes: Uint8Array, type: string) => {
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': bytes.byteLength });
    res.end(bytes);
  };
  const type = file?.endsWith('.json') ? 'application/json' : 'application/octet-stream';
  if (model === 'html') return send(200, HTML, 'text/html; charset=utf-8');
  if (!match || !body || !MODELS.has(model) || (model === 'hubonly' && selfHosted)) return send(404, HTML, 'text/html');
  if (model === 'broken') return send(500, new TextEncoder().encode('oops'), 'text/plain');
  if (model === 'sniff' && file === 'onnx/text_model.onnx') return send(200, HTML, 'application/octet-stream');
  if (file === 'onnx/text_model.onnx' && (model === 'truncated' || model === 'stall')) {
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.byteLength });
    res.write(body.subarray(0, body.byteLength >> 1));
    if (model === 'truncated') setTimeout(() => res.destroy(), 20); // close mid-body
    return; // `stall`: never finishes; the client aborts
  }
  if (file === 'onnx/text_model.onnx' && model === 'chunked') {
    res.writeHead(200, { 'Content-Type': type }); // Transfer-Encoding: chunked, no Content-Length
    const step = 100_000;
    for (let i = 0; i < body.byteLength; i += step) res.write(body.subarray(i, i + step));
    res.end();
    return;
  }
  send(200, body, type);
}

beforeAll(async () => {
  server = http.createServer(handle);
  server.requestTimeout = 20_000;
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  requests.length = 0;
});

// ---------------------------------------------------------------------------------------------------------------------

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

/** `toEqual` on multi-megabyte typed arrays takes minutes; compare bytes directly. */
function expectBytes(actual: Uint8Array | undefined, expected: Uint8Array | undefined): void {
  expect(actual).toBeInstanceOf(Uint8Array);
  expect(actual!.byteLength).toBe(expected!.byteLength);
  expect(Buffer.compare(actual!, expected!)).toBe(0);
}

const selfHosted = (): ModelSource => ({ type: 'self-hosted', baseUrl: `${origin}/models/` });
const hub = (): ModelSource => ({ type: 'hub', endpoint: origin });

async function loadError(promise: Promise<unknown>): Promise<ModelLoadError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ModelLoadError);
    return error as ModelLoadError;
  }
  throw new Error('expected a ModelLoadError');
}

describe('modelFiles', () => {
  it('builds self-hosted and hub URLs', () => {
    expect(selfHostedUrl('/models/', 'Xenova/clip-vit-base-patch32', 'onnx/text_model.onnx')).toBe(
      '/models/Xenova/clip-vit-base-patch32/onnx/text_model.onnx',
    );
    expect(hubUrl('Xenova/clip-vit-base-patch32', 'tokenizer.json')).toBe(
      'https://huggingface.co/Xenova/clip-vit-base-patch32/resolve/main/tokenizer.json',
    );
    expect(modelFileList('fp16').map((f) => f.path)).toEqual([
      'config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'onnx/vision_model_fp16.onnx',
      'onnx/text_model.onnx',
    ]);
  });
});

describe('ModelManager', () => {
  it('downloads every file with monotonic progress, then serves a second load from the cache', async () => {
    const cache = new MemoryByteCache();
    const events: ModelProgressEvent[] = [];
    const manager = new ModelManager({ sources: [selfHosted(), hub()], cache });
    const files = await manager.load({ modelId: 'test/tiny', onProgress: (e) => events.push(e) });

    expect(files.tokenizer?.model).toBeTypeOf('object');
    expect(files.tokenizerConfig?.model_max_length).toBe(77);
    expect(files.config).toBeTypeOf('object');
    expectBytes(files.textModel, FOLDER.get('onnx/text_model.onnx'));
    expectBytes(files.visionModel, FOLDER.get('onnx/vision_model.onnx'));
    expect(Object.values(files.sources)).toEqual(Array(5).fill('self-hosted'));
    expect(requests).toHaveLength(5);

    for (const spec of modelFileList('fp32')) {
      const size = FOLDER.get(spec.path)!.byteLength;
      const mine = events.filter((e) => e.file === spec.path);
      expect(mine[0].loaded).toBe(0);
      for (let i = 1; i < mine.length; i++) expect(mine[i].loaded).toBeGreaterThanOrEqual(mine[i - 1].loaded);
      expect(mine.every((e) => e.total === size && e.source === 'self-hosted')).toBe(true);
      expect(mine[mine.length - 1].loaded).toBe(size);
      if (size > 1_000_000) expect(mine.length).toBeGreaterThan(3); // streamed, not one blob
    }

    requests.length = 0;
    const cachedEvents: ModelProgressEvent[] = [];
    const again = await new ModelManager({ sources: [selfHosted(), hub()], cache }).load({
      modelId: 'test/tiny',
      onProgress: (e) => cachedEvents.push(e),
    });
    expect(requests).toEqual([]);
    expect(Object.values(again.sources)).toEqual(Array(5).fill('cache'));
    expectBytes(again.textModel, files.textModel);
    expect(cachedEvents.map((e) => e.source)).toEqual(Array(5).fill('cache'));
    expect(cachedEvents.every((e) => e.loaded === e.total)).toBe(true);

    // The fp16 vision file is a different file: one request, from the network.
    const fp16 = await new ModelManager({ sources: [selfHosted()], cache }).load({
      modelId: 'test/tiny',
      precision: 'fp16',
      include: ['visionModel'],
    });
    expectBytes(fp16.visionModel, FOLDER.get('onnx/vision_model_fp16.onnx'));
    expect(requests).toEqual(['/models/test/tiny/onnx/vision_model_fp16.onnx']);

    await manager.clearCache('test/tiny');
    expect(cache.map.size).toBe(0);
  });

  it('falls through a 404 to the hub, and reports every attempt when all fail', async () => {
    const manager = new ModelManager({ sources: [selfHosted(), hub()], cache: null });
    const files = await manager.load({ modelId: 'test/hubonly', include: ['tokenizerConfig'] });
    expect(files.sources.tokenizerConfig).toBe('hub');
    expect(requests).toEqual([
      '/models/test/hubonly/tokenizer_config.json',
      '/test/hubonly/resolve/main/tokenizer_config.json',
    ]);

    const error = await loadError(manager.load({ modelId: 'test/missing', include: TEXT_ROLES }));
    expect(error.kind).toBe('not-found');
    expect(error.file).toBe('tokenizer.json');
    expect(error.attempts.map((a) => [a.source, a.kind, a.status])).toEqual([
      ['self-hosted', 'not-found', 404],
      ['hub', 'not-found', 404],
    ]);
    expect(error.message).toContain('tokenizer.json');
    expect(error.message).toContain(`${origin}/models/test/missing/tokenizer.json`);
    expect(error.message).toContain(`${origin}/test/missing/resolve/main/tokenizer.json`);
    expect(error.message).toMatch(/HTTP 404/);
  });

  it('rejects an HTML page as the wrong file and falls through past it', async () => {
    const cache = new MemoryByteCache();
    const onlyHtml = new ModelManager({ sources: [selfHosted()], cache });
    const error = await loadError(onlyHtml.load({ modelId: 'test/html', include: ['textModel'] }));
    expect(error.kind).toBe('wrong-file');
    expect(error.message).toMatch(/onnx\/text_model\.onnx/);
    expect(error.message).toMatch(/HTML/);
    expect(cache.map.size).toBe(0);

    // HTML bytes under a binary Content-Type: caught by the ModelProto check.
    const sniffed = await loadError(onlyHtml.load({ modelId: 'test/sniff', include: ['textModel'] }));
    expect(sniffed.kind).toBe('wrong-file');
    expect(sniffed.message).toMatch(/HTML page/);

    // A dev server's HTML fallback on /models/ must not hide the hub.
    const layered = new ModelManager({
      sources: [
        { type: 'self-hosted', baseUrl: `${origin}/models/` },
        { type: 'hub', endpoint: `${origin}/hubfail` },
      ],
      cache: null,
    });
    const both = await loadError(layered.load({ modelId: 'test/html', include: ['tokenizer'] }));
    expect(both.attempts.map((a) => a.kind)).toEqual(['wrong-file', 'not-found']);
    expect(both.kind).toBe('wrong-file');
  });

  it('detects a truncated body, does not cache it, and falls through', async () => {
    const cache = new MemoryByteCache();
    // retryDelayMs: the automatic retries (from the received offset) fail the same way, quickly.
    const manager = new ModelManager({ sources: [selfHosted()], cache, retryDelayMs: 1 });
    const error = await loadError(manager.load({ modelId: 'test/truncated', include: ['textModel'] }));
    expect(error.kind).toBe('truncated');
    expect(error.message).toContain('onnx/text_model.onnx');
    expect(error.message).toContain(`${origin}/models/test/truncated/onnx/text_model.onnx`);
    expect(cache.map.size).toBe(0);

    const fallback = new ModelManager({
      sources: [selfHosted(), { type: 'self-hosted', baseUrl: `${origin}/models/` }],
      cache: null,
      retryDelayMs: 1,
    });
    // Same URL twice still fails twice; a different healthy source after it would be used (see the 404 test).
    const twice = await loadError(fallback.load({ modelId: 'test/truncated', include: ['textModel'] }));
    expect(twice.attempts.map((a) => a.kind)).toEqual(['truncated', 'truncated']);
  });

  it('reads bodies without Content-Length', async () => {
    const events: ModelProgressEvent[] = [];
    const manager = new ModelManager({ sources: [selfHosted()], cache: null });
    const files = await manager.load({
      modelId: 'test/chunked',
      include: ['textModel'],
      onProgress: (e) => events.push(e),
    });
    expectBytes(files.textModel, FOLDER.get('onnx/text_model.onnx'));
    expect(events.every((e) => e.total === null)).toBe(true);
    expect(events[events.length - 1].loaded).toBe(FOLDER.get('onnx/text_model.onnx')!.byteLength);
  });

  it('reports other HTTP statuses and unreachable servers', async () => {
    const broken = await loadError(
      new ModelManager({ sources: [selfHosted()], cache: null }).load({ modelId: 'test/broken' }),
    );
    expect(broken.kind).toBe('http');
    expect(broken.status).toBe(500);

    // A port that was just free: connection refused.
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const deadPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const offline = await loadError(
      new ModelManager({ sources: [{ type: 'hub', endpoint: `http://127.0.0.1:${deadPort}` }], cache: null }).load({
        modelId: 'test/tiny',
      }),
    );
    expect(offline.kind).toBe('offline');
    expect(offline.message).toContain(`http://127.0.0.1:${deadPort}/test/tiny/resolve/main/config.json`);

    // Node has no page location: a relative self-hosted base is skipped with a reason, the next source is used.
    const relative = await new ModelManager({ sources: [{ type: 'self-hosted' }, hub()], cache: null }).load({
      modelId: 'test/tiny',
      include: ['tokenizerConfig'],
    });
    expect(relative.sources.tokenizerConfig).toBe('hub');
  });

  it('cancels through an AbortSignal, before and during a download', async () => {
    const manager = new ModelManager({ sources: [selfHosted(), hub()], cache: new MemoryByteCache() });
    const before = await loadError(manager.load({ modelId: 'test/tiny', signal: AbortSignal.abort() }));
    expect(before.kind).toBe('cancelled');
    expect(requests).toEqual([]);

    const controller = new AbortController();
    const during = await loadError(
      manager.load({
        modelId: 'test/stall',
        include: ['textModel'],
        signal: controller.signal,
        onProgress: (e) => {
          if (e.loaded > 0) controller.abort();
        },
      }),
    );
    expect(during.kind).toBe('cancelled');
    expect(during.attempts).toEqual([]); // not fallen through to the hub
    expect(requests).toEqual(['/models/test/stall/onnx/text_model.onnx']);
  });

  it('loads picked files, matched by relative path or name', async () => {
    const blob = (path: string) => new Blob([FOLDER.get(path)! as Uint8Array<ArrayBuffer>]);
    const picked = [
      { path: 'clip/config.json', file: blob('config.json') },
      { path: 'clip/tokenizer.json', file: blob('tokenizer.json') },
      { path: 'clip/tokenizer_config.json', file: blob('tokenizer_config.json') },
      { path: 'clip/onnx/text_model.onnx', file: blob('onnx/text_model.onnx') },
      new File([FOLDER.get('onnx/vision_model.onnx')! as Uint8Array<ArrayBuffer>], 'vision_model.onnx'),
    ];
    const events: ModelProgressEvent[] = [];
    const manager = new ModelManager({
      sources: [
        { type: 'hub', endpoint: `${origin}/nothing` },
        { type: 'files', files: picked },
      ],
      cache: new MemoryByteCache(),
    });
    const files = await manager.load({ modelId: 'test/picked', onProgress: (e) => events.push(e) });
    expect(Object.values(files.sources)).toEqual(Array(5).fill('files'));
    expectBytes(files.visionModel, FOLDER.get('onnx/vision_model.onnx'));
    expectBytes(files.textModel, FOLDER.get('onnx/text_model.onnx'));
    expect(events.filter((e) => e.source === 'files').length).toBeGreaterThanOrEqual(10);

    expect(matchPickedFile(picked, modelFileList('fp16', ['visionModel'])[0])).toBeNull();
    const missing = await loadError(
      new ModelManager({ sources: [{ type: 'files', files: picked }], cache: null }).load({
        modelId: 'test/picked',
        precision: 'fp16',
      }),
    );
    expect(missing.kind).toBe('not-found');
    expect(missing.message).toContain('vision_model_fp16.onnx');
  });

  it('stores and serves files through Cache Storage', async () => {
    const storage = new MemoryCacheStorage();
    const cache = cacheStorageByteCache(storage as unknown as CacheStorage, 'text2live-models-v1');
    await new ModelManager({ sources: [selfHosted()], cache }).load({ modelId: 'test/tiny', include: TEXT_ROLES });
    expect(storage.names()).toEqual(['text2live-models-v1']);
    expect(storage.keys('text2live-models-v1')).toHaveLength(3);
    requests.length = 0;
    const again = await new ModelManager({ sources: [selfHosted()], cache }).load({
      modelId: 'test/tiny',
      include: TEXT_ROLES,
    });
    expect(requests).toEqual([]);
    expectBytes(again.textModel, FOLDER.get('onnx/text_model.onnx'));
    await cache.clear();
    expect(storage.names()).toEqual([]);
  });
});

describe('loadModelFromDirectory', () => {
  it('reads the tiny model folder with the same checks', async () => {
    const files = await loadModelFromDirectory(TINY_DIR, { modelId: 'tiny-clip', precision: 'fp16' });
    expectBytes(files.visionModel, FOLDER.get('onnx/vision_model_fp16.onnx'));
    expect(files.tokenizer?.added_tokens).toBeInstanceOf(Array);
    expect(Object.values(files.sources)).toEqual(Array(5).fill('directory'));
    const error = await loadError(loadModelFromDirectory(`${TINY_DIR}/nope`));
    expect(error.kind).toBe('not-found');
    expect(error.message).toContain('config.json');
  });
});

/** Just enough of Cache Storage for `cacheStorageByteCache`. */
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
    };
  }
  async delete(name: string) {
    return this.caches.delete(name);
  }
  names() {
    return [...this.caches.keys()];
  }
  keys(name: string) {
    return [...(this.caches.get(name)?.keys() ?? [])];
  }
}
