import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { testEngine } from '../../test/gpu';
import { HubTestServer } from '../clip/hubTestServer';
import { modelFileList } from '../clip/modelFiles';
import { decodeSafetensors } from '../nn/safetensors';
import { parseEditArgs, UsageError } from './editCommand';
import { cachedModelDir } from './modelCache';
import { runEdit } from './runEdit';

const PHOTO = new URL('../../../shared/data/images/woman-on-bench.png', import.meta.url).pathname;
const BIN = new URL('../../bin/text2live.mjs', import.meta.url).pathname;
const run = promisify(execFile);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('text2live edit: arguments', () => {
  it('parses prompts with the defaults users expect', () => {
    const cmd = parseEditArgs([
      'photo.jpg',
      '--prompt',
      'golden horse',
      '--src',
      'horse',
      '--roi',
      'horse',
      '--model',
      'm',
    ])!;
    expect(cmd).toMatchObject({
      image: 'photo.jpg',
      prompt: 'golden horse',
      fullPrompt: 'golden horse',
      inputPrompt: 'horse',
      roi: 'horse',
      quality: 'standard',
      out: 'results',
      seed: null,
    });
    expect(parseEditArgs(['--help'])).toBeNull();
  });

  it('takes the model from --model, or from the cache (fetched from the hub) without it', () => {
    const env = { TEXT2LIVE_CACHE_DIR: '/cache', TEXT2LIVE_HUB_URL: 'http://mirror.local/' };
    expect(parseEditArgs(['a.jpg', '--prompt', 'x', '--model', 'm'], env)!.modelSource).toEqual({
      dir: 'm',
      modelId: 'Xenova/clip-vit-base-patch32',
      precision: 'fp32',
      hubUrl: 'http://mirror.local',
      cacheRoot: '/cache',
    });
    const fetched = parseEditArgs(['a.jpg', '--prompt', 'x', '--precision', 'fp16', '--hub-url', 'http://h:1'], env)!;
    expect(fetched.model).toBeNull();
    expect(fetched.precision).toBe('fp16');
    expect(fetched.modelSource).toMatchObject({ dir: null, hubUrl: 'http://h:1', precision: 'fp16' });
    expect(() => parseEditArgs(['a.jpg', '--prompt', 'x', '--model', 'm', '--model-id', 'a/b'], env)).toThrow(
      /exclude each other/,
    );
    expect(() => parseEditArgs(['a.jpg', '--prompt', 'x', '--model-id', '../up'], env)).toThrow(/--model-id/);
    expect(() => parseEditArgs(['a.jpg', '--prompt', 'x', '--hub-url', 'file:///x'], env)).toThrow(/http\(s\) URL/);
  });

  it('rejects wrong arguments with a clear message', () => {
    expect(() => parseEditArgs(['a.jpg', '--model', 'm'])).toThrow(/--prompt is required/);
    expect(() => parseEditArgs(['--prompt', 'x', '--model', 'm'])).toThrow(/missing the input image/);
    expect(() => parseEditArgs(['a.jpg', '--prompt', 'x', '--model', 'm', '--quality', 'best'])).toThrow(
      /--quality must be one of/,
    );
    expect(() => parseEditArgs(['a.jpg', '--prompt', 'x', '--model', 'm', '--steps', '-3'])).toThrow(UsageError);
    expect(() => parseEditArgs(['a.jpg', '--prompt', 'x', '--model', 'm', '--colour', 'red'])).toThrow(
      /Unknown option '--colour'/,
    );
  });
});

describe('text2live edit: the command', () => {
  it('exits non-zero with a message for unknown options, missing files and unloadable models', async () => {
    const unknown = await cli(['edit', PHOTO, '--prompt', 'x', '--model', 'models/tiny-clip', '--fast']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown option '--fast'/);
    const missing = await cli(['edit', 'no/such/photo.jpg', '--prompt', 'x', '--model', 'models/tiny-clip']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no\/such\/photo\.jpg/);
    const notImage = join(mkdtempSync(join(tmpdir(), 't2l-')), 'notes.png');
    writeFileSync(notImage, 'this is not a picture');
    const bad = await cli(['edit', notImage, '--prompt', 'x', '--model', 'models/tiny-clip']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/notes\.png/);
    const noModel = await cli(['edit', PHOTO, '--prompt', 'x', '--model', 'no/such/model']);
    expect(noModel.code).toBe(1);
    expect(noModel.stderr).toMatch(/config\.json|not found/);
    expect((await cli(['paint'])).code).toBe(2);
  });

  it('edits a real photo, and an interrupted run keeps its last snapshot and session', async () => {
    const engine = await testEngine();
    const dir = mkdtempSync(join(tmpdir(), 't2l-edit-'));
    const configFile = join(dir, 'tiny.json');
    // A tiny generator and two CLIP views keep this fast on a software adapter.
    writeFileSync(
      configFile,
      JSON.stringify({
        resize_input: 40,
        num_scales: 2,
        skip_n33d: 8,
        skip_n33u: 8,
        skip_n11: 4,
        n_aug: 2,
        log_images_freq: 1,
      }),
    );
    const base = [
      '--prompt',
      'red dress',
      '--src',
      'woman',
      '--model',
      'models/tiny-clip',
      '--config',
      configFile,
      '--seed',
      '3',
    ];

    const stopped = join(dir, 'stopped');
    const abort = new AbortController();
    const interrupted = await runEdit(parseEditArgs([PHOTO, ...base, '--steps', '3', '--out', stopped])!, {
      log: () => {},
      progress: () => abort.abort(), // Ctrl-C during the first step
      signal: abort.signal,
      engine,
    });
    expect(interrupted).toMatchObject({ interrupted: true, stepsDone: 1, totalSteps: 3 });
    expect(existsSync(join(stopped, 'snapshots', 'step-00001-composite.png'))).toBe(true);
    expect(existsSync(join(stopped, 'composite.png'))).toBe(false);
    expect(decodeSafetensors(readFileSync(join(stopped, 'session.safetensors'))).metadata.step).toBe('1');
    expect(JSON.parse(readFileSync(join(stopped, 'log.json'), 'utf8'))).toHaveLength(1);

    // Without --model: the model comes from a hub (a local server in its layout) through the model cache.
    const hub = new HubTestServer().addModel(
      'test/tiny-clip',
      'models/tiny-clip',
      modelFileList('fp32').map((f) => f.path),
    );
    await hub.start();
    const cacheRoot = join(dir, 'cache');
    const env = { TEXT2LIVE_CACHE_DIR: cacheRoot, TEXT2LIVE_HUB_URL: hub.origin };
    const fromHub = base.filter((a, i) => a !== '--model' && base[i - 1] !== '--model');
    const done = join(dir, 'done');
    const lines: string[] = [];
    const cmd = parseEditArgs([PHOTO, ...fromHub, '--model-id', 'test/tiny-clip', '--steps', '1', '--out', done], env)!;
    const result = await runEdit(cmd, {
      log: (l) => lines.push(l),
      progress: (l) => lines.push(l),
      signal: new AbortController().signal,
      engine,
    }).finally(() => hub.stop());
    expect(result).toMatchObject({ interrupted: false, stepsDone: 1 });
    expect(lines[0]).toMatch(
      /^model: fetching 5 files of test\/tiny-clip \(fp32\) from http:\/\/127\.0\.0\.1:\d+ into /,
    );
    expect(lines.some((l) => /\[5\/5\] onnx\/text_model\.onnx .*100%/.test(l))).toBe(true);
    expect(existsSync(join(cachedModelDir(cacheRoot, 'test/tiny-clip'), 'onnx', 'text_model.onnx'))).toBe(true);
    expect(lines.some((l) => /step 1\/1 .*steps\/s .*ETA/.test(l))).toBe(true);
    for (const name of ['composite', 'edit', 'alpha', 'greenscreen']) {
      const meta = await sharp(join(done, `${name}.png`)).metadata();
      // The final render is at the photo's original resolution (512×512).
      expect([meta.width, meta.height]).toEqual([512, 512]);
    }
    expect((await sharp(join(done, 'edit.png')).metadata()).channels).toBe(4);
    const log = JSON.parse(readFileSync(join(done, 'log.json'), 'utf8'));
    expect(Object.keys(log[0].losses)).toEqual(
      expect.arrayContaining(['total', 'composition', 'direction', 'screen', 'structure', 'sparsityL0', 'sparsityL1']),
    );
    expect(JSON.parse(readFileSync(join(done, 'config.json'), 'utf8')).screenText).toBe('red dress');
  });
});
