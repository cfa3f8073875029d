/** The CLI's model cache: fetched from a local server in the Hub's layout, resumed, verified, reused offline. */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HubTestServer } from '../clip/hubTestServer';
import { loadModelFromDirectory } from '../clip/modelDirectory';
import { modelFileList } from '../clip/modelFiles';
import { ModelLoadError } from '../clip/modelLoadError';
import { DownloadMeter, downloadProgressLine } from './downloadProgress';
import { parseFetchModelArgs } from './fetchModelCommand';
import {
  cachedModelDir,
  ensureCachedModel,
  modelCacheRoot,
  resolveHubUrl,
  type EnsureModelOptions,
} from './modelCache';

const TINY_DIR = fileURLToPath(new URL('../../models/tiny-clip', import.meta.url));
const BIN = fileURLToPath(new URL('../../bin/text2live.mjs', import.meta.url));
const PATHS = [...modelFileList('fp32'), ...modelFileList('fp16', ['visionModel'])].map((s) => s.path);
const ID = 'test/tiny-clip';
const TEXT = 'onnx/text_model.onnx';

const hub = new HubTestServer().addModel(ID, TINY_DIR, PATHS);
beforeAll(async () => {
  await hub.start();
});
afterAll(() => hub.stop());
beforeEach(() => {
  hub.requests.length = 0;
  hub.faults.clear();
  hub.redirectLfs = true; // as huggingface.co answers LFS files
});

const freshRoot = () => mkdtempSync(join(tmpdir(), 't2l-cache-'));

function options(cacheRoot: string, more: Partial<EnsureModelOptions> = {}): EnsureModelOptions {
  return { modelId: ID, precision: 'fp32', hubUrl: hub.origin, cacheRoot, retryDelayMs: 1, ...more };
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

function sameFile(path: string, expected: Uint8Array): boolean {
  return existsSync(path) && Buffer.compare(readFileSync(path), expected) === 0;
}

describe('model cache folder and hub', () => {
  it('follows TEXT2LIVE_CACHE_DIR, then XDG_CACHE_HOME, then ~/.cache', () => {
    expect(modelCacheRoot({ TEXT2LIVE_CACHE_DIR: '/data/t2l', XDG_CACHE_HOME: '/x' }, '/home/u')).toBe('/data/t2l');
    expect(modelCacheRoot({ XDG_CACHE_HOME: '/x' }, '/home/u')).toBe('/x/text2live');
    expect(modelCacheRoot({ XDG_CACHE_HOME: 'relative' }, '/home/u')).toBe('/home/u/.cache/text2live');
    expect(modelCacheRoot({}, '/home/u')).toBe('/home/u/.cache/text2live');
    expect(cachedModelDir('/c', 'Xenova/clip-vit-base-patch32')).toBe('/c/models/Xenova/clip-vit-base-patch32/main');
    expect(() => cachedModelDir('/c', '../etc')).toThrow(/Invalid model id/);
    expect(resolveHubUrl(undefined, {})).toBe('https://huggingface.co');
    expect(resolveHubUrl(undefined, { TEXT2LIVE_HUB_URL: 'http://mirror:8080/' })).toBe('http://mirror:8080');
    expect(resolveHubUrl('http://a', { TEXT2LIVE_HUB_URL: 'http://b' })).toBe('http://a');
    expect(() => resolveHubUrl('ftp://a', {})).toThrow(/http\(s\) URL/);
    expect(parseFetchModelArgs(['--precision', 'fp16'], { TEXT2LIVE_CACHE_DIR: '/c' })).toMatchObject({
      modelId: 'Xenova/clip-vit-base-patch32',
      precision: 'fp16',
      cacheRoot: '/c',
    });
    expect(() => parseFetchModelArgs(['--precision', 'int8'], {})).toThrow(/fp32 or fp16/);
  });

  it('draws a progress line with bytes, percent, speed and ETA', () => {
    const event = { file: TEXT, source: 'hub' as const, index: 5, count: 5, phase: 'downloading' as const };
    expect(downloadProgressLine({ ...event, loaded: 127_000_000, total: 254_000_000 }, 8_100_000, 0)).toBe(
      '████████████░░░░░░░░░░░░ [5/5] onnx/text_model.onnx  127.0 MB / 254.0 MB  50%  8.1 MB/s  ETA 16s',
    );
    expect(downloadProgressLine({ ...event, loaded: 5, total: 10 }, 0, 3)).toMatch(
      /50% {2}ETA -- {2}\(resumed at 3 B\)$/,
    );
    expect(downloadProgressLine({ ...event, loaded: 10, total: 10, phase: 'verifying' }, 0, 0)).toBe(
      '[5/5] onnx/text_model.onnx  10 B  verifying SHA-256…',
    );
    let now = 0;
    const meter = new DownloadMeter(1000, () => now);
    expect(meter.line({ ...event, loaded: 0, total: 4_000_000 })).toMatch(/0 B \/ 4\.0 MB {2}0%/);
    now = 500;
    expect(meter.line({ ...event, loaded: 1_000_000, total: 4_000_000 })).toBeNull(); // throttled
    now = 1000;
    expect(meter.line({ ...event, loaded: 2_000_000, total: 4_000_000 })).toMatch(/50% {2}2\.0 MB\/s {2}ETA 1s/);
    expect(meter.line({ ...event, loaded: 4_000_000, total: 4_000_000 })).toMatch(/100%/); // a file's end always shows
  });
});

describe('ensureCachedModel', () => {
  it('fetches every file verified, then reuses the folder with no request', async () => {
    const root = freshRoot();
    const lines: string[] = [];
    const logs: string[] = [];
    const dir = await ensureCachedModel(options(root, { progress: (l) => lines.push(l), log: (l) => logs.push(l) }));
    expect(dir).toBe(cachedModelDir(root, ID));
    for (const spec of modelFileList('fp32'))
      expect(sameFile(join(dir, spec.path), hub.file(ID, spec.path))).toBe(true);
    expect(existsSync(join(dir, `${TEXT}.part`))).toBe(false);
    expect(logs).toEqual([`model: fetching 5 files of ${ID} (fp32) from ${hub.origin} into ${dir}`]);
    expect(lines.some((l) => l.includes(`[5/5] ${TEXT}`) && l.includes('100%'))).toBe(true);
    expect(lines.at(-1)).toBe(`[5/5] ${TEXT}  6.5 MB  SHA-256 verified`);
    expect(lines).toContain('[1/5] config.json  1.3 kB  size checked'); // a git blob id is not a content hash
    // The ONNX files' SHA-256 came from the Hub's redirect (X-Linked-Etag) and was checked.
    expect(lines.filter((l) => l.includes('verifying SHA-256')).map((l) => l.split(' ')[1])).toEqual([
      'onnx/vision_model.onnx',
      TEXT,
    ]);
    expect(hub.requests.filter((r) => r.path.startsWith('/cdn/'))).toHaveLength(2);

    hub.requests.length = 0;
    expect(await ensureCachedModel(options(root, { log: (l) => logs.push(l) }))).toBe(dir);
    expect(hub.requests).toEqual([]);
    expect(logs).toHaveLength(1);
    const files = await loadModelFromDirectory(dir, { modelId: ID });
    expect(files.textModel?.byteLength).toBe(hub.file(ID, TEXT).byteLength);

    // fp16 is one more file.
    await ensureCachedModel(options(root, { precision: 'fp16' }));
    expect(hub.resolveRequests(ID, 'onnx/vision_model_fp16.onnx')).toHaveLength(1);
    expect(hub.requests.filter((r) => !r.path.startsWith('/cdn/'))).toHaveLength(1);
  });

  it('resumes a dropped download from its .part file with a Range request', async () => {
    const root = freshRoot();
    const dir = cachedModelDir(root, ID);
    hub.faults.set(`${ID}/${TEXT}`, { kind: 'drop', after: 3_000_000 });
    const error = await loadError(ensureCachedModel(options(root, { retries: 0 })));
    expect(error.kind).toBe('truncated');
    expect(error.file).toBe(TEXT);
    const held = statSync(join(dir, `${TEXT}.part`)).size;
    expect(held).toBeGreaterThan(1_000_000);
    expect(existsSync(join(dir, TEXT))).toBe(false);
    expect(existsSync(join(dir, 'config.json'))).toBe(true); // finished files stay

    hub.requests.length = 0;
    const lines: string[] = [];
    await ensureCachedModel(options(root, { progress: (l) => lines.push(l) }));
    expect(sameFile(join(dir, TEXT), hub.file(ID, TEXT))).toBe(true);
    expect(existsSync(join(dir, `${TEXT}.part`))).toBe(false);
    expect(existsSync(join(dir, `${TEXT}.part.json`))).toBe(false);
    // Only the unfinished file was requested, from its offset, through the redirect.
    expect(hub.requests.map((r) => r.range)).toEqual([`bytes=${held}-`, `bytes=${held}-`]);
    expect(lines[0]).toMatch(/\[1\/1\] onnx\/text_model\.onnx .*\(resumed at \d/);

    // Within one run, a drop is retried from the received offset.
    const again = freshRoot();
    hub.faults.set(`${ID}/${TEXT}`, { kind: 'drop', after: 2_000_000 });
    hub.requests.length = 0;
    const retried: string[] = [];
    await ensureCachedModel(options(again, { include: ['textModel'], progress: (l) => retried.push(l) }));
    expect(sameFile(join(cachedModelDir(again, ID), TEXT), hub.file(ID, TEXT))).toBe(true);
    expect(retried.some((l) => l.includes('(connection dropped, retry 1)'))).toBe(true);
    expect(hub.resolveRequests(ID, TEXT).map((r) => r.range)).toEqual([null, expect.stringMatching(/^bytes=\d+-$/)]);
  });

  it('refuses a file whose SHA-256 is not the one the Hub states, keeping nothing of it', async () => {
    const root = freshRoot();
    const dir = cachedModelDir(root, ID);
    hub.faults.set(`${ID}/${TEXT}`, { kind: 'bad-hash' });
    const error = await loadError(ensureCachedModel(options(root)));
    expect(error.kind).toBe('hash-mismatch');
    expect(error.message).toMatch(
      /onnx\/text_model\.onnx .* is corrupt: its SHA-256 is [0-9a-f]{64}, the server states 0{64}/,
    );
    expect(existsSync(join(dir, TEXT))).toBe(false);
    expect(existsSync(join(dir, `${TEXT}.part`))).toBe(false);

    hub.faults.clear();
    await ensureCachedModel(options(root));
    expect(sameFile(join(dir, TEXT), hub.file(ID, TEXT))).toBe(true);
  });

  it('checks the free disk space once the sizes are known', async () => {
    const root = freshRoot();
    const error = await loadError(ensureCachedModel(options(root, { freeSpace: async () => 1_000_000 })));
    expect(error.kind).toBe('no-space');
    expect(error.file).toBe('tokenizer.json');
    expect(error.message).toMatch(/needs 2\.2 MB, 1\.0 MB free \(on the disk holding .*test\/tiny-clip\/main\)/);
  });

  it('restarts a .part whose file changed on the Hub', async () => {
    const root = freshRoot();
    const dir = cachedModelDir(root, ID);
    hub.faults.set(`${ID}/${TEXT}`, { kind: 'drop', after: 2_000_000 });
    await loadError(ensureCachedModel(options(root, { retries: 0, include: ['textModel'] })));
    hub.faults.set(`${ID}/${TEXT}`, { kind: 'changed' }); // new sha256 on the redirect: the kept bytes are not its
    hub.requests.length = 0;
    await ensureCachedModel(options(root, { include: ['textModel'] }));
    const served = readFileSync(join(dir, TEXT));
    expect(Buffer.compare(served, hub.file(ID, TEXT))).not.toBe(0);
    expect(hub.resolveRequests(ID, TEXT).map((r) => r.range)).toEqual([expect.stringMatching(/^bytes=/), null]);
  });
});

describe('text2live fetch-model', () => {
  const run = promisify(execFile);
  async function cli(args: string[], env: Record<string, string>) {
    try {
      const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
        timeout: 60_000,
        env: { ...process.env, ...env },
      });
      return { code: 0, stdout, stderr };
    } catch (e) {
      const err = e as { code: number; stdout: string; stderr: string };
      return { code: err.code, stdout: err.stdout, stderr: err.stderr };
    }
  }

  it('fills the cache from --hub-url and prints the folder; later runs work offline', async () => {
    const root = freshRoot();
    const env = { TEXT2LIVE_CACHE_DIR: root };
    const first = await cli(['fetch-model', '--model-id', ID, '--hub-url', hub.origin], env);
    expect(first.stderr).toMatch(/model: fetching 5 files/);
    expect(first.stderr).toMatch(/\[5\/5\] onnx\/text_model\.onnx .*100%/);
    expect(first).toMatchObject({ code: 0, stdout: `${cachedModelDir(root, ID)}\n` });

    // A dead hub (the env var, as a user would set it): nothing is requested, so it does not matter.
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const dead = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    hub.requests.length = 0;
    const offline = await cli(['fetch-model', '--model-id', ID], { ...env, TEXT2LIVE_HUB_URL: dead });
    expect(offline).toMatchObject({ code: 0, stdout: first.stdout, stderr: '' });
    expect(hub.requests).toEqual([]);

    const unreachable = await cli(['fetch-model', '--model-id', ID, '--precision', 'fp16'], {
      ...env,
      TEXT2LIVE_HUB_URL: dead,
    });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/vision_model_fp16\.onnx: could not reach .*offline\?/);
    const usage = await cli(['fetch-model', '--hub-url', 'nope'], env);
    expect(usage.code).toBe(2);
  });
});
