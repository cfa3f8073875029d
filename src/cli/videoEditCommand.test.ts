/** `text2live edit-video` arguments: defaults, presets, the atlas or the fit first, resume, and the usage errors. */
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_MODEL_ID } from '../clip/modelFiles';
import { defaultLayer, resolveVideoConfig } from '../video/edit/videoConfig';
import { DEFAULT_CRF } from '../video/media/ffmpegEncode.node.js';
import { main } from './main';
import { UsageError } from './usageError';
import {
  FIT_FOLDER,
  parseVideoEditArgs,
  VIDEO_EDIT_USAGE,
  videoEditSettings,
  withSourceDefault,
} from './videoEditCommand';

const ENV = { TEXT2LIVE_CACHE_DIR: '/tmp/t2l-cache' };
const parse = (args: string[]) => parseVideoEditArgs(args, ENV);
const fails = (args: string[], message: RegExp) => {
  expect(() => parse(args)).toThrow(UsageError);
  expect(() => parse(args)).toThrow(message);
};

afterEach(() => vi.restoreAllMocks());

describe('text2live edit-video: arguments', () => {
  it('parses an edit on a fitted atlas with the defaults', () => {
    const cmd = parse(['clip.mp4', '--atlas', 'fit/', '--prompt', ' golden swan ', '--out', 'edited'])!;
    expect(cmd).toMatchObject({
      clip: 'clip.mp4',
      atlas: 'fit/',
      fit: null,
      prompt: 'golden swan',
      fullPrompt: null,
      inputPrompt: null,
      roi: null,
      layer: null,
      preset: null,
      quality: 'preview',
      steps: null,
      seed: null,
      model: null,
      out: 'edited',
      fps: null,
      crf: DEFAULT_CRF,
      resume: null,
    });
    expect(cmd.modelSource).toMatchObject({ dir: null, modelId: DEFAULT_MODEL_ID, cacheRoot: '/tmp/t2l-cache' });
    const { settings, preset } = videoEditSettings(cmd);
    expect(preset).toBeNull();
    expect(settings).toEqual({ screenText: 'golden swan', compText: 'golden swan' });
    // Nothing names the object: the background; the source text defaults as `text2live edit`'s does.
    expect(defaultLayer(settings, preset, true)).toBe('background');
    expect(withSourceDefault(settings).srcText).toBe('photo');
    expect(resolveVideoConfig(cmd.quality, withSourceDefault(settings))).toMatchObject({ nEpochs: 300, nAug: 4 });
  });

  it('takes every edit option, and the layer as fg/bg or in words', () => {
    const cmd = parse([
      'frames/',
      '--atlas',
      'a.safetensors',
      '--prompt',
      'golden swan',
      '--full-prompt',
      'a golden swan on a lake',
      '--src',
      'swan',
      '--roi',
      'swan',
      '--layer',
      'fg',
      '--quality',
      'tiny',
      '--steps',
      '12',
      '--seed',
      '0',
      '--fps',
      '29.97',
      '--crf',
      '23',
      '--model',
      'models/tiny-clip',
      '--out',
      'o',
    ])!;
    expect(cmd).toMatchObject({ layer: 'foreground', quality: 'tiny', steps: 12, seed: 0, fps: 29.97, crf: 23 });
    expect(cmd.model).toBe('models/tiny-clip');
    expect(videoEditSettings(cmd).settings).toEqual({
      screenText: 'golden swan',
      compText: 'a golden swan on a lake',
      srcText: 'swan',
      nEpochs: 12,
      bootstrapText: 'swan',
      bootstrapEpoch: 12,
      seed: 0,
    });
    expect(parse(['c', '--atlas', 'a', '--prompt', 'x', '--layer', 'Background', '--out', 'o'])!.layer).toBe(
      'background',
    );
  });

  it('takes the prompts and layer from a preset, its own steps only at the reference quality', () => {
    const cmd = parse(['c', '--atlas', 'a', '--preset', 'car-turn-nighttime', '--out', 'o'])!;
    expect(cmd.prompt).toBeNull();
    const { settings, preset } = videoEditSettings(cmd);
    expect(preset!.layer).toBe('background');
    expect(settings).toMatchObject({
      screenText: ['nighttime', 'night'],
      srcText: ['countryside', 'countryside with trees'],
    });
    expect(settings.nEpochs).toBeUndefined();
    const ref = parse(['c', '--atlas', 'a', '--preset', 'car-turn-nighttime', '--quality', 'reference', '--out', 'o'])!;
    expect(videoEditSettings(ref).settings.nEpochs).toBe(1500);
    // --prompt replaces the preset's screen and composition texts; its source text stays.
    const own = parse(['c', '--atlas', 'a', '--preset', 'blackswan-gold', '--prompt', 'silver swan', '--out', 'o'])!;
    const s = videoEditSettings(own);
    expect(s.settings).toMatchObject({
      screenText: 'silver swan',
      compText: 'silver swan',
      srcText: ['black swan', 'swan'],
    });
    expect(defaultLayer(s.settings, s.preset, true)).toBe('foreground');
    expect(defaultLayer(s.settings, s.preset, false)).toBe('background');
  });

  it('fits the atlas first with the atlas options when there is no --atlas', () => {
    const cmd = parse([
      'clip.mp4',
      '--prompt',
      'x',
      '--masks',
      'auto',
      '--start',
      '2',
      '--frames',
      '20',
      '--stride',
      '2',
      '--size',
      '384x216',
      '--iters',
      '50',
      '--atlas-seed',
      '7',
      '--atlas-config',
      'tiny.json',
      '--seed',
      '3',
      '--out',
      'edited',
    ])!;
    expect(cmd.atlas).toBeNull();
    expect(cmd.seed).toBe(3);
    expect(cmd.fit).toMatchObject({
      clip: 'clip.mp4',
      masks: 'auto',
      backgroundOnly: false,
      start: 2,
      frames: 20,
      stride: 2,
      size: { width: 384, height: 216 },
      iterations: 50,
      seed: 7,
      configFile: 'tiny.json',
      out: join('edited', FIT_FOLDER),
    });
    expect(parse(['c', '--prompt', 'x', '--background-only', '--out', 'o'])!.fit).toMatchObject({
      backgroundOnly: true,
      masks: null,
      iterations: null,
    });
  });

  it('continues a session with its own settings', () => {
    const cmd = parse(['c', '--atlas', 'a', '--resume', 'o/session.safetensors', '--out', 'o2'])!;
    expect(cmd).toMatchObject({ resume: 'o/session.safetensors', prompt: null });
    fails(
      ['c', '--atlas', 'a', '--resume', 's', '--prompt', 'x', '--steps', '3', '--out', 'o'],
      /--resume continues the session with its own settings: drop --prompt, --steps/,
    );
    fails(['c', '--atlas', 'a', '--resume', ' ', '--out', 'o'], /--resume needs a session/);
  });

  it('rejects wrong arguments with a clear message', () => {
    const ok = ['c', '--atlas', 'a', '--prompt', 'x', '--out', 'o'];
    fails(['--atlas', 'a', '--prompt', 'x', '--out', 'o'], /missing the clip/);
    fails(['c', 'd', ...ok.slice(1)], /expected one clip, got c d/);
    fails(['c', '--atlas', 'a', '--out', 'o'], /--prompt is required .*or a --preset/);
    fails(['c', '--atlas', 'a', '--prompt', '  ', '--out', 'o'], /--prompt is empty/);
    fails(['c', '--atlas', 'a', '--prompt', 'x'], /--out is required/);
    fails([...ok, '--layer', 'middle'], /--layer must be fg or bg .*got "middle"/);
    fails([...ok, '--quality', 'best'], /--quality must be one of preview, standard, reference, tiny, got "best"/);
    fails([...ok, '--preset', 'swan'], /--preset must be one of blackswan-crochet, .*lucia-wonderland, got "swan"/);
    fails([...ok, '--steps', '0'], /--steps must be a positive integer, got "0"/);
    fails([...ok, '--steps', '2.5'], /--steps must be a positive integer/);
    fails([...ok, '--seed=-1'], /--seed must be a non-negative integer in 0…4294967295, got "-1"/);
    fails([...ok, '--seed', 'abc'], /--seed must be a non-negative integer/);
    fails([...ok, '--crf', '52'], /--crf must be a non-negative integer in 0…51, got "52"/);
    fails([...ok, '--fps', '0'], /--fps must be a number of frames per second/);
    fails([...ok, '--fps', 'fast'], /--fps must be a number/);
    fails(
      [...ok, '--frames', '10', '--masks', 'm/'],
      /--atlas uses a fitted atlas, which records how it was made: --masks, --frames apply only when fitting/,
    );
    fails([...ok, '--background-only'], /--atlas uses a fitted atlas.*--background-only/);
    fails(
      ['c', '--prompt', 'x', '--out', 'o', '--atlas-seed', 'x'],
      /^--atlas-seed must be a non-negative integer, got "x"$/,
    );
    fails(
      ['c', '--prompt', 'x', '--out', 'o', '--masks', 'm', '--background-only'],
      /--masks and --background-only exclude each other/,
    );
    fails([...ok, '--size', '10x10'], /--atlas uses a fitted atlas/);
    fails(['c', '--prompt', 'x', '--out', 'o', '--size', '10x10'], /--size/);
    fails([...ok, '--model', 'm', '--model-id', 'x/y'], /exclude each other/);
    fails([...ok, '--fast'], /Unknown option '--fast'/);
    expect(parse(['--help'])).toBeNull();
    expect(parse(['-h'])).toBeNull();
  });
});

describe('text2live edit-video: the entry', () => {
  it('prints its usage for --help, and the message with the usage (exit 2) for a wrong command line', async () => {
    const out: string[] = [];
    const err: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((l: string) => void out.push(l));
    vi.spyOn(console, 'error').mockImplementation((l: string) => void err.push(l));
    expect(await main(['edit-video', '--help'])).toBe(0);
    expect(out).toEqual([VIDEO_EDIT_USAGE]);
    expect(VIDEO_EDIT_USAGE).toMatch(
      /^Usage: text2live edit-video <clip> \(--atlas <file\|dir> \| \[atlas options\]\)/,
    );
    expect(await main(['edit-video', 'c', '--atlas', 'a', '--out', 'o'])).toBe(2);
    expect(err[0]).toMatch(/^text2live edit-video: --prompt is required/);
    expect(err[0]).toContain(VIDEO_EDIT_USAGE);
    out.length = 0;
    expect(await main(['--help'])).toBe(0);
    expect(out[0]).toMatch(/edit-video {3}edit a clip's foreground or background/);
  });

  it('fails with exit 1 and a message for a missing atlas', async () => {
    const err: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((l: string) => void err.push(l));
    vi.spyOn(console, 'log').mockImplementation(() => {});
    const code = await main([
      'edit-video',
      'c',
      '--atlas',
      '/no/such/atlas',
      '--prompt',
      'x',
      '--model',
      'models/tiny-clip',
      '--out',
      '/tmp/t2l-none',
    ]);
    expect(code).toBe(1);
    expect(err.join('\n')).toMatch(
      /text2live edit-video: Cannot read the atlas \/no\/such\/atlas: no such file or folder/,
    );
  });
});
