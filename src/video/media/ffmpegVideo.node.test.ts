/**
 * Video files in Node through the system ffmpeg (needed: tools/preflight.mjs says to install it): car-turn.mp4
 * trimmed, strided and resized, a rotated clip, WebM, a mask video, each error, and the message when ffmpeg is not
 * on PATH. Plus ffprobe's report parsing and the select expression, which need no ffmpeg.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALL_FORMATS, BlobSource, Input } from 'mediabunny';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findOnPath } from './ffmpegTools.node.js';
import { ffmpegDecodeArgs, selectExpression } from './ffmpegVideo.node.js';
import { parseFfprobeVideo, parseRational } from './ffprobe.node.js';
import { importClipFromPath } from './importClip.node.js';
import { VideoImportError } from './importError';
import { maskCoverage } from './maskImage';
import { openVideoBlob } from './mediabunnyVideo';
import { orientImage } from './orientImage';

const DATA = fileURLToPath(new URL('../../../../shared/data/video/', import.meta.url));
const CAR_TURN = join(DATA, 'car-turn.mp4');
const BLACKSWAN = join(DATA, 'blackswan');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ffmpeg-import-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Byte equality of two pixel arrays (vitest's deep equality is slow on large typed arrays). */
function sameBytes(a: Uint8ClampedArray, b: Uint8ClampedArray): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

async function failure(p: Promise<unknown>): Promise<VideoImportError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(VideoImportError);
  return e as VideoImportError;
}

/** Runs ffmpeg to make a test file. */
function ffmpeg(...args: string[]): void {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-y', ...args]);
  expect(r.status, String(r.stderr)).toBe(0);
}

describe('car-turn.mp4 through ffmpeg', () => {
  it('keeps the trimmed, strided frames at the working size, at the track’s frame rate', async () => {
    const progress: number[] = [];
    const t0 = performance.now();
    const clip = await importClipFromPath(CAR_TURN, { start: 5, frameCount: 10, stride: 3, maxSide: 240 }, (p) =>
      progress.push(p.done),
    );
    console.log(`car-turn: 10 frames (stride 3) at 240×240 in ${(performance.now() - t0).toFixed(0)} ms`);
    expect(clip.frameIndices).toEqual([5, 8, 11, 14, 17, 20, 23, 26, 29, 32]);
    expect([clip.width, clip.height]).toEqual([240, 240]);
    expect(clip.frames.every((f) => f.width === 240 && f.height === 240 && f.data.length === 240 * 240 * 4)).toBe(true);
    expect(clip.sourceFrameRate).toBe(10);
    expect(clip.frameRate).toBeCloseTo(10 / 3, 12);
    expect(clip.sourceFrameCount).toBe(80);
    expect(clip.masks).toBeNull();
    expect(clip.audio).toBeUndefined();
    expect(progress).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

    // The selected frames are exactly those of an untrimmed decode.
    const full = await importClipFromPath(CAR_TURN, { start: 5, frameCount: 28, maxSide: 240 });
    expect(clip.frameIndices.map((index, i) => sameBytes(clip.frames[i].data, full.frames[index - 5].data))).toEqual(
      clip.frameIndices.map(() => true),
    );
    // Consecutive frames differ (the car moves), so a wrong selection would show.
    expect(sameBytes(full.frames[0].data, full.frames[1].data)).toBe(false);
  });

  it('keeps a 480×480 source at its size (no upscaling) and refuses all 80 frames with the count', async () => {
    const t0 = performance.now();
    const clip = await importClipFromPath(CAR_TURN, { frameCount: 70 });
    console.log(`car-turn: 70 frames at 480×480 in ${(performance.now() - t0).toFixed(0)} ms`);
    expect([clip.width, clip.height, clip.frames.length]).toEqual([480, 480, 70]);
    expect(clip.frames[0].data[3]).toBe(255);
    const e = await failure(importClipFromPath(CAR_TURN));
    expect(e.kind).toBe('too-many-frames');
    expect(e.sourceFrameCount).toBe(80);
    expect(e.message).toBe(
      `${CAR_TURN} has 80 frames; at most 70 can be decomposed. Keep frames 0–69, or every 2nd frame from 0 (40 frames).`,
    );
    const all = await importClipFromPath(CAR_TURN, { maxFrames: 80, stride: 8, maxSide: 32 });
    expect(all.frameIndices).toEqual([0, 8, 16, 24, 32, 40, 48, 56, 64, 72]);
  });
});

describe('other videos through ffmpeg', () => {
  it('applies the display rotation (as the browser path does) and agrees with mediabunny on it', async () => {
    const upright = join(dir, 'upright.mp4');
    const rotated = join(dir, 'rotated.mp4');
    ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=64x32:rate=10', '-frames:v', '3', '-c:v', 'libx264', '-qp', '0', upright);
    // ffmpeg 5.1 stores rotate=90 as a display matrix of 90° counterclockwise, i.e. 270° clockwise.
    ffmpeg('-i', upright, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', rotated);
    const a = await importClipFromPath(upright);
    const b = await importClipFromPath(rotated);
    expect([b.width, b.height]).toEqual([32, 64]);
    expect(sameBytes(b.frames[1].data, orientImage(a.frames[1], 270).data)).toBe(true);
    // mediabunny (the browser path) reads the same rotation and display size from the container.
    const e = await failure(openVideoBlob(new Blob([await readFile(rotated)]), 'rotated.mp4'));
    expect(e.kind).toBe('codec-unsupported'); // Node: no WebCodecs, but everything before decoding ran
    const input = new Input({ source: new BlobSource(new Blob([await readFile(rotated)])), formats: ALL_FORMATS });
    const track = (await input.getPrimaryVideoTrack())!;
    expect([await track.getRotation(), await track.getDisplayWidth(), await track.getDisplayHeight()]).toEqual([
      270, 32, 64,
    ]);
    input.dispose();
  });

  it('reads WebM (VP9) and calls a cut-off WebM truncated', async () => {
    const webm = join(dir, 'clip.webm');
    ffmpeg(
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=96x54:rate=25',
      '-frames:v',
      '6',
      '-c:v',
      'libvpx-vp9',
      '-deadline',
      'realtime',
      webm,
    );
    const clip = await importClipFromPath(webm, { stride: 2 });
    expect([clip.width, clip.height, clip.frames.length, clip.sourceFrameRate, clip.frameRate]).toEqual([
      96, 54, 3, 25, 12.5,
    ]);
    const bytes = await readFile(webm);
    const cut = join(dir, 'cut.webm');
    await writeFile(cut, bytes.subarray(0, bytes.length >> 1));
    const e = await failure(importClipFromPath(cut));
    expect(e.kind).toBe('corrupt');
    expect(e.message).toMatch(
      /cut\.webm cannot be read: its Segment needs \d+ bytes but the file has \d+ \(the file is truncated/,
    );
  });

  it('reads masks from a mask video, one per frame', async () => {
    const frames = join(dir, 'swan', 'frames');
    await mkdir(frames, { recursive: true });
    for (let i = 0; i < 8; i++) {
      const n = String(i).padStart(5, '0');
      await writeFile(join(frames, `${n}.jpg`), await readFile(join(BLACKSWAN, 'frames', `${n}.jpg`)));
    }
    const maskVideo = join(dir, 'swan-masks.mp4');
    ffmpeg(
      '-framerate',
      '24',
      '-i',
      join(BLACKSWAN, 'masks', '%05d.png'),
      '-frames:v',
      '8',
      '-c:v',
      'libx264',
      '-pix_fmt',
      'yuv420p',
      maskVideo,
    );
    const fromVideo = await importClipFromPath(frames, { maxSide: 192, masks: maskVideo, stride: 2 });
    const fromPngs = await importClipFromPath(BLACKSWAN, { maxSide: 192, frameCount: 4, stride: 2 });
    expect(fromVideo.masks).toHaveLength(4);
    fromVideo.masks!.forEach((m, i) => {
      const png = fromPngs.masks![i];
      let both = 0;
      let either = 0;
      for (let p = 0; p < m.length; p++) {
        if (m[p] && png[p]) both++;
        if (m[p] || png[p]) either++;
      }
      expect(both / either).toBeGreaterThan(0.95); // lossy video, same object
      expect(maskCoverage(m)).toBeGreaterThan(0.02);
    });
    const e = await failure(
      importClipFromPath(join(BLACKSWAN, 'frames'), { masks: maskVideo, maxSide: 64, frameCount: 2 }),
    );
    expect(e.kind).toBe('mask-mismatch');
    expect(e.message).toBe(
      `${join(BLACKSWAN, 'frames')} has 50 frames but its masks (${maskVideo}) have 8; there must be one mask per frame.`,
    );
  });
});

describe('bad videos through ffmpeg', () => {
  it('calls a truncated MP4 corrupt before decoding', async () => {
    const cut = join(dir, 'truncated.mp4');
    await writeFile(cut, (await readFile(CAR_TURN)).subarray(0, 20_000));
    const e = await failure(importClipFromPath(cut));
    expect(e.kind).toBe('corrupt');
    expect(e.message).toBe(
      `${cut} cannot be read: its 'mdat' box needs 941900 bytes but the file has 20000 (the file is truncated, 2% present).`,
    );
  });

  it('calls damaged frame data corrupt when ffmpeg gives up', async () => {
    const bytes = Buffer.from(await readFile(CAR_TURN));
    // Keep the boxes, wipe the first frame's data: nothing decodes, so ffmpeg sends fewer frames than asked for.
    bytes.fill(0, 1738 + 8, 1738 + 8 + 400_000);
    const broken = join(dir, 'wiped.mp4');
    await writeFile(broken, bytes);
    const e = await failure(importClipFromPath(broken, { frameCount: 10, maxSide: 64 }));
    expect(e.kind).toBe('corrupt');
    expect(e.message).toMatch(/wiped\.mp4 (could not be decoded|ended after \d+ of the 10 frames)/);
  });

  it('names a file without video, and files that are not videos', async () => {
    const wav = join(dir, 'tone.wav');
    ffmpeg('-f', 'lavfi', '-i', 'sine=duration=0.2', wav);
    const e = await failure(importClipFromPath(wav));
    expect([e.kind, e.message]).toEqual(['no-video-track', `${wav} has no video track (it holds only audio).`]);
    const text = join(dir, 'notes.txt');
    await writeFile(text, 'hello, these are notes and no video at all');
    const t = await failure(importClipFromPath(text));
    expect(t.kind).toBe('unsupported-file');
    expect(t.message).toMatch(
      /notes\.txt is not a video ffmpeg can read \(.*\); use MP4, MOV or WebM, or a folder or zip of PNG\/JPEG frames\.$/,
    );
  });

  it('says what to install when ffmpeg is not on PATH', async () => {
    const e = await failure(importClipFromPath(CAR_TURN, { env: { PATH: '/nonexistent' } }));
    expect(e.kind).toBe('ffmpeg-missing');
    expect(e.message).toBe(
      `Decoding ${CAR_TURN} needs ffmpeg and ffprobe, which are not on PATH. Install ffmpeg (Debian/Ubuntu: apt-get ` +
        'install ffmpeg; macOS: brew install ffmpeg), or pass a folder or zip of PNG/JPEG frames.',
    );
    // Only ffprobe there: the message names ffmpeg alone.
    const bin = join(dir, 'bin');
    await mkdir(bin, { recursive: true });
    await symlink(findOnPath('ffprobe')!, join(bin, 'ffprobe'));
    const only = await failure(importClipFromPath(CAR_TURN, { env: { PATH: bin } }));
    expect(only.message).toMatch(/needs ffmpeg, which is not on PATH\. Install ffmpeg/);
    // Frame folders need no ffmpeg.
    const folderClip = await importClipFromPath(BLACKSWAN, {
      env: { PATH: '/nonexistent' },
      frameCount: 1,
      maxSide: 32,
    });
    expect(folderClip.frames).toHaveLength(1);
  });

  it('stops ffmpeg when cancelled', async () => {
    const controller = new AbortController();
    const e = await failure(
      importClipFromPath(CAR_TURN, { frameCount: 60 }, (p) => p.done === 2 && controller.abort(), controller.signal),
    );
    expect(e.kind).toBe('cancelled');
  });
});

describe('ffprobe reports and ffmpeg arguments', () => {
  it('parses the first video stream, skipping cover art, with rotation and pixel aspect', () => {
    const json = JSON.stringify({
      streams: [
        { index: 0, codec_type: 'audio', codec_name: 'aac' },
        {
          index: 1,
          codec_type: 'video',
          codec_name: 'mjpeg',
          width: 600,
          height: 600,
          disposition: { attached_pic: 1 },
        },
        {
          index: 2,
          codec_type: 'video',
          codec_name: 'h264',
          codec_tag_string: 'avc1',
          width: 720,
          height: 480,
          sample_aspect_ratio: '32:27',
          avg_frame_rate: '30000/1001',
          r_frame_rate: '30000/1001',
          nb_read_packets: '300',
          side_data_list: [{ rotation: -90 }],
        },
      ],
    });
    expect(parseFfprobeVideo(json)).toEqual({
      streamIndex: 2,
      codec: 'H.264 (avc1)',
      stored: { width: 480, height: 720 },
      display: { width: 480, height: 853 },
      frameCount: 300,
      frameRate: 30000 / 1001,
    });
    expect(parseFfprobeVideo(JSON.stringify({ streams: [{ codec_type: 'audio' }] }))).toBeNull();
    expect(parseRational('0/0')).toBeNull();
    expect(parseRational('25')).toBe(25);
    expect(parseRational('1:1')).toBe(1);
  });

  it('selects frames by number, as a range with a step when it can', () => {
    expect(selectExpression([5, 8, 11])).toBe('between(n\\,5\\,11)*not(mod(n-5\\,3))');
    expect(selectExpression([0, 1, 2])).toBe('between(n\\,0\\,2)');
    expect(selectExpression([7])).toBe('between(n\\,7\\,7)');
    expect(selectExpression([1, 2, 4])).toBe('eq(n\\,1)+eq(n\\,2)+eq(n\\,4)');
    const args = ffmpegDecodeArgs('in.mp4', 0, [5, 8, 11]);
    expect(args.slice(args.indexOf('-frames:v'), args.indexOf('-frames:v') + 2)).toEqual(['-frames:v', '3']);
    expect(args.slice(-5)).toEqual(['-f', 'rawvideo', '-pix_fmt', 'rgba', 'pipe:1']);
  });
});
