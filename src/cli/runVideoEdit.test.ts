/**
 * `text2live edit-video` in-process on a tiny clip (test/syntheticClip.ts as a frames folder, 48×32, 6 frames) and
 * an untrained decomposition saved as an atlas file (α sharpened so that part of every frame is opaque foreground,
 * as in videoJob.test.ts), with the tiny CLIP and the tiny quality: every output at the right size and count,
 * edited.mp4 checked with ffprobe, log.json, a Ctrl-C that still writes everything, a resumed session that continues
 * exactly (and, without ffmpeg on PATH, writes the frames and says so), and a run that fits its atlas first.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { testEngine } from '../../test/gpu';
import { opaqueAtlasModel, tinyAtlasConfig } from '../../test/opaqueAtlas';
import { syntheticClip } from '../../test/syntheticClip';
import { encodePng } from '../edit/imageIO.node.js';
import type { Engine } from '../gpu/engine';
import { decodeSafetensors } from '../nn/safetensors';
import { saveAtlas } from '../video/atlas/atlasFile';
import { findOnPath } from '../video/media/ffmpegTools.node.js';
import { runVideoEdit, type VideoEditIo, type VideoEditLog } from './runVideoEdit';
import { parseVideoEditArgs } from './videoEditCommand';

const HAVE_FFMPEG = findOnPath('ffmpeg') !== null && findOnPath('ffprobe') !== null;
const SOURCE = syntheticClip({ frames: 6 });
const NAMES = ['00000.png', '00001.png', '00002.png', '00003.png', '00004.png', '00005.png'];

let root: string;
let clip: string;
let atlasDir: string;
let engine: Engine;

beforeAll(async () => {
  engine = await testEngine();
  root = mkdtempSync(join(tmpdir(), 't2l-edit-video-'));
  clip = join(root, 'clip', 'frames');
  mkdirSync(clip, { recursive: true });
  for (let t = 0; t < SOURCE.frames.length; t++) {
    writeFileSync(join(clip, NAMES[t]), await encodePng(SOURCE.frames[t]));
  }
  const config = tinyAtlasConfig(SOURCE.width);
  const model = await opaqueAtlasModel(engine, config);
  atlasDir = join(root, 'atlas');
  mkdirSync(atlasDir);
  const geometry = { width: SOURCE.width, height: SOURCE.height, frames: SOURCE.frames.length };
  const info = { geometry, config, iterations: 0, frameRate: 24, frameIndices: [0, 1, 2, 3, 4, 5] };
  writeFileSync(join(atlasDir, 'atlas.safetensors'), await saveAtlas(model, info));
  model.dispose();
}, 120_000);

const base = () => [clip, '--atlas', atlasDir, '--model', 'models/tiny-clip', '--quality', 'tiny'];
const size = async (path: string) => {
  const m = await sharp(path).metadata();
  return [m.width, m.height, m.channels];
};
const readLog = (dir: string) => JSON.parse(readFileSync(join(dir, 'log.json'), 'utf8')) as VideoEditLog;
function io(over: Partial<VideoEditIo> = {}): VideoEditIo {
  return { log: () => {}, progress: () => {}, signal: new AbortController().signal, engine, ...over };
}

describe('text2live edit-video: the run', () => {
  it('edits the foreground and writes the video, frames, layer, atlas, log and session', async () => {
    const out = join(root, 'done');
    const lines: string[] = [];
    const args = ['--prompt', 'golden disc', '--src', 'disc', '--steps', '2', '--seed', '3', '--fps', '12'];
    const r = await runVideoEdit(
      parseVideoEditArgs([...base(), ...args, '--out', out])!,
      io({
        log: (l) => lines.push(l),
        progress: (l) => lines.push(l),
      }),
    );
    // --src names the object and the decomposition has a foreground: the foreground is edited.
    expect(r).toMatchObject({ stage: 'edit', interrupted: false, stepsDone: 2, totalSteps: 2, layer: 'foreground' });
    expect(lines.some((l) => /step 2\/2 .*steps\/s .*ETA .*loss \d/.test(l))).toBe(true);
    expect(readdirSync(join(out, 'frames')).sort()).toEqual(NAMES);
    expect(readdirSync(join(out, 'layer')).sort()).toEqual(NAMES);
    for (const n of NAMES) {
      expect((await size(join(out, 'frames', n))).slice(0, 2)).toEqual([48, 32]);
      expect(await size(join(out, 'layer', n))).toEqual([48, 32, 4]);
    }
    const log = readLog(out);
    expect(await size(join(out, 'atlas-edit.png'))).toEqual([log.raster.width, log.raster.height, 4]);
    expect(log).toMatchObject({
      layer: 'foreground',
      density: 0.5,
      quality: 'tiny',
      seed: 3,
      preset: null,
      prompts: { screen: 'golden disc', composition: 'golden disc', source: 'disc', bootstrap: null },
      steps: { done: 2, total: 2, resumedFrom: null, interrupted: false },
      clip: { width: 48, height: 32, frames: 6, frameRate: 24 },
      atlas: { fitted: false, iterations: 0, backgroundOnly: false },
      video: { frameRate: 12, audio: HAVE_FFMPEG ? 'none' : null },
    });
    expect(log.raster.resolution).toBe(48); // 2·W·density
    expect(log.log.map((e) => e.step)).toEqual([1, 2]);
    expect(log.lossSummary.total.last).toBe(log.log[1].losses.total);
    expect(log.timings.secondsPerStep).toBeGreaterThan(0);
    expect(log.timings.renderSeconds).toBeGreaterThan(0);
    expect(decodeSafetensors(readFileSync(join(out, 'session.safetensors'))).metadata.step).toBe('2');
    expect(readdirSync(out).filter((f) => f.endsWith('.partial'))).toEqual([]);
    if (HAVE_FFMPEG) {
      expect(r.video).toBe(join(out, 'edited.mp4'));
      expect(log.video.file).toBe('edited.mp4');
      expect(log.timings.encodeSeconds).toBeGreaterThanOrEqual(0);
      const probe = JSON.parse(
        execFileSync(
          'ffprobe',
          [
            '-v',
            'error',
            '-count_frames',
            '-show_entries',
            'stream=codec_type,codec_name,width,height,r_frame_rate,nb_read_frames',
            '-of',
            'json',
            r.video!,
          ],
          { encoding: 'utf8' },
        ),
      ) as { streams: Record<string, string | number>[] };
      expect(probe.streams).toHaveLength(1);
      expect(probe.streams[0]).toMatchObject({
        codec_type: 'video',
        codec_name: 'h264',
        width: 48,
        height: 32,
        r_frame_rate: '12/1',
      });
      expect(Number(probe.streams[0].nb_read_frames)).toBe(6);
    }
  }, 300_000);

  it('writes everything after a Ctrl-C; the session continues exactly, and without ffmpeg only frames are written', async () => {
    const args = ['--prompt', 'golden disc', '--src', 'disc', '--steps', '2', '--seed', '3'];
    const stopped = join(root, 'stopped');
    const abort = new AbortController();
    const r = await runVideoEdit(
      parseVideoEditArgs([...base(), ...args, '--out', stopped])!,
      io({
        progress: (l) => (l.startsWith('█') || l.startsWith('░') ? abort.abort() : undefined), // during step 1
        signal: abort.signal,
      }),
    );
    expect(r).toMatchObject({ interrupted: true, stepsDone: 1, totalSteps: 2 });
    expect(readdirSync(join(stopped, 'frames'))).toHaveLength(6);
    expect(readdirSync(join(stopped, 'layer'))).toHaveLength(6);
    expect(existsSync(join(stopped, 'atlas-edit.png'))).toBe(true);
    expect(existsSync(join(stopped, 'edited.mp4'))).toBe(HAVE_FFMPEG);
    expect(readLog(stopped).steps).toEqual({ done: 1, total: 2, resumedFrom: null, interrupted: true });

    // Resumed with no ffmpeg on PATH: the last step, the same as the uninterrupted run's; frames only, said so.
    const resumed = join(root, 'resumed');
    const lines: string[] = [];
    const cmd = parseVideoEditArgs([
      ...base().filter((a) => a !== '--quality' && a !== 'tiny'),
      '--resume',
      join(stopped, 'session.safetensors'),
      '--out',
      resumed,
    ])!;
    const c = await runVideoEdit(cmd, io({ env: { PATH: '' }, log: (l) => lines.push(l) }));
    expect(c).toMatchObject({ interrupted: false, stepsDone: 2, totalSteps: 2, video: null, videoFailed: false });
    expect(c.videoMessage).toMatch(/ffmpeg is not on PATH: wrote the frames only/);
    expect(lines).toContain(c.videoMessage);
    expect(existsSync(join(resumed, 'edited.mp4'))).toBe(false);
    expect(readdirSync(join(resumed, 'frames')).sort()).toEqual(NAMES);
    expect(readdirSync(join(resumed, 'layer')).sort()).toEqual(NAMES);
    const log = readLog(resumed);
    expect(log).toMatchObject({
      quality: null,
      steps: { done: 2, total: 2, resumedFrom: 1, interrupted: false },
      video: { file: null, audio: null, message: c.videoMessage },
      timings: { encodeSeconds: null },
    });
    expect(log.log.map((e) => e.step)).toEqual([2]);
    expect(log.log[0].losses).toEqual(readLog(join(root, 'done')).log[1].losses);
  }, 300_000);

  it('fits the atlas first without --atlas, into OUT/atlas, and edits the background', async () => {
    const tiny = join(root, 'tiny-atlas.json');
    writeFileSync(
      tiny,
      JSON.stringify({
        batch: 256,
        rigidityBatch: 64,
        flowBatch: 128,
        mappingWidth: 8,
        alphaWidth: 8,
        backgroundResolution: 32,
        foregroundResolution: 16,
        bootstrapIterations: 1,
        globalRigidityPixels: 4,
      }),
    );
    const out = join(root, 'fitted');
    const args = ['--frames', '4', '--background-only', '--iters', '1', '--atlas-config', tiny];
    const r = await runVideoEdit(
      parseVideoEditArgs([
        clip,
        ...args,
        '--model',
        'models/tiny-clip',
        '--quality',
        'tiny',
        '--steps',
        '1',
        '--prompt',
        'snow',
        '--out',
        out,
      ])!,
      io(),
    );
    expect(r).toMatchObject({ stage: 'edit', fitted: true, layer: 'background', stepsDone: 1, frames: 4 });
    expect(r.atlasFile).toBe(join(out, 'atlas', 'atlas.safetensors'));
    expect(existsSync(join(out, 'atlas', 'log.json'))).toBe(true);
    expect(readdirSync(join(out, 'frames')).sort()).toEqual(NAMES.slice(0, 4));
    expect(readLog(out)).toMatchObject({
      layer: 'background',
      prompts: { source: 'photo' },
      atlas: { fitted: true, iterations: 1, backgroundOnly: true },
    });
    expect(readLog(out).timings.atlasFitSeconds).toBeGreaterThan(0);
  }, 300_000);
});
