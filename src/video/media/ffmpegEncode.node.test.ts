/**
 * The MP4 encode through the system ffmpeg: synthetic frames in, ffprobe on what comes out (H.264, frame count,
 * even size, frame rate), the pixels decoded back, audio passed through from a source that has it and skipped for
 * one that has none, and the failures (no ffmpeg, ffmpeg failing, a frame that cannot be made) leaving no file.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RgbaImage } from '../../edit/jobTypes';
import {
  cropRgba,
  encodeVideo,
  evenFrameSize,
  ffmpegEncodeArgs,
  rateArgument,
  VideoEncodeError,
} from './ffmpegEncode.node.js';
import { findOnPath } from './ffmpegTools.node.js';

const HAVE_FFMPEG = findOnPath('ffmpeg') !== null && findOnPath('ffprobe') !== null;

/** Frame t: a solid colour that changes with t (so frames differ), W×H. */
function solid(width: number, height: number, t: number): RgbaImage {
  const data = new Uint8ClampedArray(4 * width * height);
  for (let k = 0; k < width * height; k++) data.set([200 - 30 * t, 40 + 30 * t, 90, 255], 4 * k);
  return { width, height, data };
}

function probe(path: string) {
  const json = execFileSync(
    'ffprobe',
    [
      '-v',
      'error',
      '-count_frames',
      '-show_entries',
      'stream=codec_type,codec_name,width,height,r_frame_rate,nb_read_frames,pix_fmt',
      '-of',
      'json',
      path,
    ],
    { encoding: 'utf8' },
  );
  return (JSON.parse(json) as { streams: Record<string, string | number>[] }).streams;
}

describe('ffmpegEncode: the pure parts', () => {
  it('rounds sides down to even and crops the last column and row', () => {
    expect(evenFrameSize(33, 21)).toEqual({ width: 32, height: 20 });
    expect(evenFrameSize(40, 24)).toEqual({ width: 40, height: 24 });
    const img: RgbaImage = { width: 3, height: 2, data: new Uint8ClampedArray(24).map((_, i) => i) };
    expect([...cropRgba(img, 2, 2)]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect(cropRgba(img, 3, 2)).toHaveLength(24);
  });

  it('gives exact frame rates and the documented arguments', () => {
    expect(rateArgument(24)).toBe('24');
    expect(rateArgument(30000 / 1001)).toBe('30000/1001');
    expect(rateArgument(12.5)).toBe('12.500000');
    const base = { out: 'o.mp4', width: 32, height: 20, frameRate: 12, crf: 20 };
    expect(ffmpegEncodeArgs(base, null).join(' ')).toBe(
      '-hide_banner -nostats -loglevel error -y -f rawvideo -pix_fmt rgba -s 32x20 -framerate 12 -i - ' +
        '-c:v libx264 -pix_fmt yuv420p -crf 20 -movflags +faststart -f mp4 o.mp4',
    );
    const audio = { source: 'in.mov', start: 1.5, duration: 2 };
    expect(ffmpegEncodeArgs({ ...base, audio }, 'aac').join(' ')).toContain(
      '-ss 1.500000 -t 2.000000 -i in.mov -map 0:v:0 -map 1:a:0 -c:a copy -shortest',
    );
    expect(ffmpegEncodeArgs({ ...base, audio }, 'pcm_s16le').join(' ')).toContain('-c:a aac -b:a 192k -shortest');
    expect(ffmpegEncodeArgs({ ...base, audio }, null).join(' ')).not.toContain('in.mov');
  });
});

describe.skipIf(!HAVE_FFMPEG)('ffmpegEncode: through the system ffmpeg', () => {
  let dir: string;
  let withAudio: string;
  let silent: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 't2l-encode-'));
    withAudio = join(dir, 'with-audio.mp4');
    silent = join(dir, 'silent.mp4');
    const lavfi = ['-f', 'lavfi', '-i', 'testsrc=size=32x24:rate=10:duration=2'];
    execFileSync('ffmpeg', [
      '-v',
      'error',
      ...lavfi,
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:duration=2',
      '-c:v',
      'libx264',
      '-c:a',
      'aac',
      '-shortest',
      withAudio,
    ]);
    execFileSync('ffmpeg', ['-v', 'error', ...lavfi, '-c:v', 'libx264', silent]);
  });

  it('encodes odd-sized frames into H.264 at the frame rate, asking for each frame once, in order', async () => {
    const out = join(dir, 'odd.mp4');
    const asked: number[] = [];
    const r = await encodeVideo({
      out,
      width: 33,
      height: 21,
      frameCount: 5,
      frameRate: 12,
      crf: 10,
      frame: async (i) => {
        asked.push(i);
        return solid(33, 21, i);
      },
    });
    expect(r).toEqual({ path: out, width: 32, height: 20, frames: 5, audio: 'none' });
    expect(asked).toEqual([0, 1, 2, 3, 4]);
    const [v, ...rest] = probe(out);
    expect(rest).toEqual([]);
    expect(v).toMatchObject({ codec_name: 'h264', width: 32, height: 20, r_frame_rate: '12/1', pix_fmt: 'yuv420p' });
    expect(Number(v.nb_read_frames)).toBe(5);
    // The pixels come back (yuv420p and a low CRF: a few levels off at most).
    const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', out, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']);
    expect(raw.length).toBe(5 * 32 * 20 * 3);
    for (const t of [0, 4]) {
      const want = solid(1, 1, t).data;
      const k = 3 * (t * 32 * 20 + 10 * 32 + 16);
      for (let c = 0; c < 3; c++) expect(Math.abs(raw[k + c] - want[c])).toBeLessThanOrEqual(6);
    }
    expect(readdirSync(dir).filter((f) => f.endsWith('.partial'))).toEqual([]);
  });

  it('passes the source audio through for the frames’ span, and skips a source without audio', async () => {
    const frames = {
      width: 32,
      height: 24,
      frameCount: 6,
      frameRate: 12,
      frame: async (i: number) => solid(32, 24, i),
    };
    const out = join(dir, 'audio.mp4');
    const r = await encodeVideo({ ...frames, out, audio: { source: withAudio, start: 0.5, duration: 0.5 } });
    expect(r.audio).toBe('copied');
    const streams = probe(out);
    expect(streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
    expect(streams.find((s) => s.codec_type === 'audio')).toMatchObject({ codec_name: 'aac' });
    expect(Number(streams.find((s) => s.codec_type === 'video')!.nb_read_frames)).toBe(6);

    const quiet = join(dir, 'quiet.mp4');
    const q = await encodeVideo({ ...frames, out: quiet, audio: { source: silent, start: 0, duration: 0.5 } });
    expect(q).toMatchObject({ audio: 'none', audioNote: `${silent} has no audio` });
    expect(probe(quiet).map((s) => s.codec_type)).toEqual(['video']);
  });

  it('fails clearly without ffmpeg, when ffmpeg fails, and when a frame cannot be made, leaving no file', async () => {
    const frames = { width: 8, height: 8, frameCount: 3, frameRate: 24, frame: async (i: number) => solid(8, 8, i) };
    const missing = encodeVideo({ ...frames, out: join(dir, 'none.mp4'), env: { PATH: '' } });
    await expect(missing).rejects.toThrow(VideoEncodeError);
    await expect(missing).rejects.toMatchObject({
      kind: 'ffmpeg-missing',
      message: /needs ffmpeg, which is not on PATH/,
    });

    const nowhere = join(dir, 'no', 'such', 'folder', 'x.mp4');
    await expect(encodeVideo({ ...frames, out: nowhere })).rejects.toMatchObject({
      kind: 'failed',
      message: /^ffmpeg could not encode .*x\.mp4: .*No such file or directory/,
    });

    const broken = join(dir, 'broken.mp4');
    const failing = encodeVideo({
      ...frames,
      out: broken,
      frame: async (i) => {
        if (i === 2) throw new Error('render failed');
        return solid(8, 8, i);
      },
    });
    await expect(failing).rejects.toThrow('render failed');
    const wrongSize = encodeVideo({ ...frames, out: broken, frame: async () => solid(6, 8, 0) });
    await expect(wrongSize).rejects.toMatchObject({ kind: 'invalid', message: /Frame 0 is 6×8/ });
    expect(existsSync(broken)).toBe(false);
    expect(existsSync(`${broken}.partial`)).toBe(false);
    await expect(encodeVideo({ ...frames, out: broken, crf: 60 })).rejects.toMatchObject({ kind: 'invalid' });
    await expect(encodeVideo({ ...frames, width: 1, out: broken })).rejects.toMatchObject({ kind: 'invalid' });
  });
});
