/**
 * The browser decoder (mediabunny) in Node. Node has no WebCodecs, so first the container-level paths (probing,
 * every error before decoding), then the decode loop itself with a stand-in decoder registered with mediabunny: it
 * "decodes" a packet into a frame whose grey level is the frame number, in presentation order as real decoders do,
 * so the trim, the stop after the last kept frame, progress, closing and errors are checked without a browser. The
 * real WebCodecs decode is proven in Chromium by e2e/video-import.spec.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CustomVideoDecoder, type EncodedPacket, registerDecoder, VideoSample } from 'mediabunny';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeVideoBlob, importClip } from './importClip.browser';
import { VideoImportError } from './importError';
import { openVideoBlob } from './mediabunnyVideo';

const CAR_TURN_PATH = fileURLToPath(new URL('../../../../shared/data/video/car-turn.mp4', import.meta.url));
const CAR_TURN = readFileSync(CAR_TURN_PATH);
const file = (bytes: Uint8Array<ArrayBuffer>, name: string) => new File([bytes], name);

async function failure(p: Promise<unknown>): Promise<VideoImportError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(VideoImportError);
  return e as VideoImportError;
}

function silentWav(samples: number): Uint8Array<ArrayBuffer> {
  const wav = Buffer.alloc(44 + samples * 2);
  wav.write('RIFFxxxxWAVEfmt ', 0, 'ascii');
  wav.writeUInt32LE(36 + samples * 2, 4);
  wav.writeUInt32LE(16, 16);
  wav.writeUInt16LE(1, 20);
  wav.writeUInt16LE(1, 22);
  wav.writeUInt32LE(8000, 24);
  wav.writeUInt32LE(16000, 28);
  wav.writeUInt16LE(2, 32);
  wav.writeUInt16LE(16, 34);
  wav.write('data', 36, 'ascii');
  wav.writeUInt32LE(samples * 2, 40);
  return new Uint8Array(wav);
}

describe('openVideoBlob before decoding (Node, no WebCodecs)', () => {
  it('probes car-turn.mp4 and then says this runtime cannot decode H.264', async () => {
    const e = await failure(openVideoBlob(file(CAR_TURN, 'car-turn.mp4'), 'car-turn.mp4'));
    expect(e.kind).toBe('codec-unsupported');
    expect(e.codec).toBe('H.264 (avc1.640016)');
    expect(e.message).toBe(
      'H.264 (avc1.640016) cannot be decoded by this browser. Convert car-turn.mp4 to H.264, VP9 or AV1 (e.g. ffmpeg -i ' +
        'input -c:v libx264 -pix_fmt yuv420p output.mp4), or import its frames as a zip.',
    );
  });

  it('calls a cut-off MP4 truncated, also when the cut falls in its index', async () => {
    for (const size of [20_000, 1000]) {
      const e = await failure(openVideoBlob(file(CAR_TURN.subarray(0, size), 'cut.mp4'), 'cut.mp4'));
      expect(e.kind).toBe('corrupt');
      expect(e.message).toMatch(
        /^cut\.mp4 cannot be read: its '(mdat|moov)' box needs \d+ bytes but the file has \d+ \(the file is truncated/,
      );
    }
  });

  it('names audio-only files, other files, and empty ones', async () => {
    const audio = await failure(openVideoBlob(file(silentWav(800), 'a.wav'), 'a.wav'));
    expect([audio.kind, audio.message]).toEqual(['no-video-track', 'a.wav has no video track (it holds only audio).']);
    const text = await failure(
      openVideoBlob(file(new TextEncoder().encode('not a video at all'), 'notes.txt'), 'notes.txt'),
    );
    expect(text.kind).toBe('unsupported-file');
    expect(text.message).toBe(
      'notes.txt is not a video mediabunny can read; use MP4, MOV or WebM (or a zip or folder of PNG/JPEG frames).',
    );
    const empty = await failure(openVideoBlob(file(new Uint8Array(0), 'e.mp4'), 'e.mp4'));
    expect([empty.kind, empty.message]).toEqual(['unsupported-file', 'e.mp4 is empty.']);
    const avi = new Uint8Array(64);
    avi.set(
      [...'RIFF'].map((c) => c.charCodeAt(0)),
      0,
    );
    avi.set(
      [...'AVI LIST'].map((c) => c.charCodeAt(0)),
      8,
    );
    const aviError = await failure(openVideoBlob(file(avi, 'old.avi'), 'old.avi'));
    expect([aviError.kind, aviError.message]).toEqual([
      'unsupported-file',
      'old.avi is an AVI file, which the browser cannot read; convert it to MP4 or WebM (or import its frames).',
    ]);
    const png = await failure(
      openVideoBlob(file(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 13, 10, 26, 10]), 'x.png'), 'x.png'),
    );
    expect([png.kind, png.message]).toEqual(['unsupported-file', 'x.png is an image, not a video.']);
  });

  it('routes a single image to an error rather than the decoder', async () => {
    const e = await failure(importClip(file(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0]), 'photo.jpg')));
    expect(e.message).toBe(
      'photo.jpg is a single image; a clip is a video (MP4, MOV, WebM) or a folder or zip of frames.',
    );
  });
});

/** What the stand-in decoder did; reset per test. */
const decoder = { packets: 0, failAt: -1, sizeFrom: Infinity };
/** Every sample handed out to the importer's copyTo, to check that each one was closed. */
const copied: VideoSample[] = [];

/** Frames of the track's size whose grey level is the frame number; presentation order via a small reorder buffer. */
class GreyLevelDecoder extends CustomVideoDecoder {
  private pending: VideoSample[] = [];
  static override supports(): boolean {
    return true;
  }
  init(): void {}
  decode(packet: EncodedPacket): void {
    const index = Math.round(packet.timestamp * 10);
    // A WebCodecs decoder reports a bad bitstream through its error callback, out of band.
    if (index === decoder.failAt) return this.onError(new Error('bitstream error'));
    decoder.packets++;
    const full = { width: this.config.codedWidth ?? 480, height: this.config.codedHeight ?? 480 };
    const { width, height } = index >= decoder.sizeFrom ? { width: full.width / 2, height: full.height / 2 } : full;
    const data = new Uint8Array(width * height * 4).fill(index);
    const sample = new VideoSample(data, {
      format: 'RGBA',
      codedWidth: width,
      codedHeight: height,
      timestamp: packet.timestamp,
      duration: packet.duration,
    });
    this.pending.push(sample);
    this.pending.sort((a, b) => a.timestamp - b.timestamp);
    // car-turn's B-frames are at most 3 deep: hold 4 back, like a decoder's reorder window.
    while (this.pending.length > 4) this.onSample(this.pending.shift()!);
  }
  flush(): void {
    for (const s of this.pending.splice(0)) this.onSample(s);
  }
  close(): void {
    for (const s of this.pending.splice(0)) s.close();
  }
}

describe('decodeVideoBlob with a stand-in decoder', () => {
  let dir: string;
  const carTurn = () => file(CAR_TURN, 'car-turn.mp4');

  beforeAll(() => {
    registerDecoder(GreyLevelDecoder);
    const copyTo = VideoSample.prototype.copyTo;
    VideoSample.prototype.copyTo = function (this: VideoSample, ...args: Parameters<VideoSample['copyTo']>) {
      copied.push(this);
      return copyTo.apply(this, args);
    };
    dir = mkdtempSync(join(tmpdir(), 'mediabunny-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function reset(): void {
    Object.assign(decoder, { packets: 0, failAt: -1, sizeFrom: Infinity });
    copied.length = 0;
  }
  const closed = (s: VideoSample) => (s as unknown as { _closed: boolean })._closed;

  it('hands over exactly the kept frames, stops after the last, closes every sample', async () => {
    reset();
    const progress: number[] = [];
    const clip = await decodeVideoBlob(carTurn(), { start: 5, frameCount: 10, stride: 3, maxSide: 240 }, (p) =>
      progress.push(p.done),
    );
    expect(clip.frameIndices).toEqual([5, 8, 11, 14, 17, 20, 23, 26, 29, 32]);
    expect(clip.frames.map((f) => f.data[0])).toEqual(clip.frameIndices);
    expect([clip.width, clip.height, clip.frameRate, clip.sourceFrameRate, clip.sourceFrameCount]).toEqual([
      240,
      240,
      10 / 3,
      10,
      80,
    ]);
    expect(clip.sourceName).toBe('car-turn.mp4');
    expect(clip.audio).toBeUndefined();
    expect(progress).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // Frames after 32 are never needed: at most the decoder's look-ahead past it.
    expect(decoder.packets).toBeGreaterThanOrEqual(30);
    expect(decoder.packets).toBeLessThanOrEqual(40);
    expect(copied).toHaveLength(10);
    expect(copied.every(closed)).toBe(true);
  });

  it('starts at the key frame before the trim, not at the beginning', async () => {
    reset();
    // car-turn.mp4 has one key frame; this copy has one every 10 frames.
    const gop10 = join(dir, 'gop10.mp4');
    const made = spawnSync('ffmpeg', [
      '-v', 'error', '-i', CAR_TURN_PATH, '-vf', 'scale=96:96', '-c:v', 'libx264', '-g', '10', '-bf', '2', gop10,
    ]); // prettier-ignore
    expect(made.status, String(made.stderr)).toBe(0);
    const clip = await decodeVideoBlob(file(readFileSync(gop10), 'gop10.mp4'), { start: 72, stride: 2 });
    expect(clip.frames.map((f) => f.data[0])).toEqual([72, 74, 76, 78]);
    expect(decoder.packets).toBeLessThanOrEqual(10);
  });

  it('turns a decoder error into a corrupt file at that frame, and closes what it copied', async () => {
    reset();
    decoder.failAt = 12;
    const e = await failure(decodeVideoBlob(carTurn(), { frameCount: 20 }));
    expect(e.kind).toBe('corrupt');
    expect(e.message).toMatch(/^car-turn\.mp4 could not be decoded at frame \d+ \(.*bitstream error.*\)\.$/);
    expect(copied.every(closed)).toBe(true);
  });

  it('refuses a size change in the middle of a video', async () => {
    reset();
    decoder.sizeFrom = 4;
    const e = await failure(decodeVideoBlob(carTurn(), { frameCount: 8, maxSide: 64 }));
    expect(e.kind).toBe('mixed-sizes');
    expect(e.message).toBe(
      'The frames of car-turn.mp4 differ in size: frame 4 is 240×240, frame 0 is 480×480. Every frame of a clip must have the same size.',
    );
    expect(copied.every(closed)).toBe(true);
  });

  it('stops on abort with a cancelled error', async () => {
    reset();
    const controller = new AbortController();
    const e = await failure(
      decodeVideoBlob(
        carTurn(),
        { frameCount: 30, maxSide: 64 },
        (p) => p.done === 3 && controller.abort(),
        controller.signal,
      ),
    );
    expect(e.kind).toBe('cancelled');
    expect(copied.length).toBeLessThan(6);
    expect(copied.every(closed)).toBe(true);
  });

  it('keeps a reference to the audio track for the export, over the kept span', async () => {
    reset();
    const withAudio = join(dir, 'with-audio.mp4');
    const made = spawnSync('ffmpeg', [
      '-v', 'error', '-i', CAR_TURN_PATH, '-f', 'lavfi', '-i', 'sine=frequency=440:duration=8',
      '-map', '0:v', '-map', '1:a', '-c:v', 'copy', '-c:a', 'aac', '-shortest', withAudio,
    ]); // prettier-ignore
    expect(made.status, String(made.stderr)).toBe(0);
    const blob = file(readFileSync(withAudio), 'with-audio.mp4');
    const clip = await decodeVideoBlob(blob, { start: 10, frameCount: 20, maxSide: 64 });
    expect(clip.audio?.codec).toBe('aac');
    expect(clip.audio?.source).toBe(blob);
    expect(clip.audio?.startTime).toBeCloseTo(1.0, 6);
    expect(clip.audio?.endTime).toBeCloseTo(3.0, 6);
  });

  it('reads in-track masks from a mask video, paired by position', async () => {
    reset();
    const clip = await decodeVideoBlob(carTurn(), { frameCount: 4, maxSide: 64, masks: file(CAR_TURN, 'masks.mp4') });
    // Grey levels 0..3 are below half: all background.
    expect(clip.masks?.map((m) => m.every((v) => v === 0))).toEqual([true, true, true, true]);
  });
});
