/**
 * Video export in Chromium, through engine-check.html's `video-encode` check: the app's encoder
 * (src/video/media/encodeVideo.browser.ts, mediabunny + WebCodecs) runs in a dedicated worker, and the page reads
 * the file back with the app's importer. WebCodecs exists only in a browser, so this is where the export is proven:
 * codec and container, exact frame count, even sides, frame rate, pixel error, audio passed through (a tone made
 * in the page, and an AAC clip from ffmpeg), the WebM fallback, and the typed errors for no codec and a stop.
 * Needs ffmpeg on PATH for the AAC clip (tools/preflight.mjs says so).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, type Page, test } from '@playwright/test';
import type { EngineCheckResult } from '../src/app/engineCheck';
import { ENCODE_NOTE_KEYS as K } from '../src/app/engineChecks/videoEncode';
import { FRAME_FAILURE } from '../src/app/engineChecks/videoEncodeCase';

const CAR_TURN = fileURLToPath(new URL('../../shared/data/video/car-turn.mp4', import.meta.url));

/**
 * Bound on the mean absolute error (0–255 levels) of the synthetic clip read back at the default (medium) quality.
 * Measured in this Chromium: H.264 2.0 at 128×96 and 10 fps, 4.3 at 127×95 (cropped to 126×94) and 12.5 fps
 * (the bitrate is per second); VP8 2.9. At real sizes it is
 * ≈ 1 (512×512: H.264 1.0, VP9 1.0, AV1 1.5, VP8 1.5); below ~100 px mediabunny's bitrates starve (66×50: 8.2).
 */
const MAX_MEAN_ERROR = 7;

let dir: string;
test.beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'video-encode-e2e-'));
});
test.afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function serve(page: Page, name: string, body: Buffer): Promise<void> {
  await page.route(
    (url) => url.pathname === `/fixtures/${name}`,
    (route) => route.fulfill({ body, contentType: 'application/octet-stream' }),
  );
}

async function runCheck(page: Page, options: Record<string, string>): Promise<EngineCheckResult> {
  if (!page.url().includes('engine-check.html')) {
    await page.goto('/engine-check.html');
    await page.waitForFunction(() => window.__engineCheck !== undefined);
  }
  const r = await page.evaluate((o) => window.__engineCheck!.run('video-encode', o), options);
  console.log(`video-encode ${JSON.stringify(options)}: ${r.error ?? r.summary} [${(r.ms / 1000).toFixed(2)} s]`);
  if (!r.ok) console.log(JSON.stringify({ errors: r.errors, tolerances: r.tolerances, failures: r.failures }));
  return r;
}

/** What every successful encode must satisfy, whatever the codec. */
function expectSound(r: EngineCheckResult, frames: number, width: number, height: number, fps: number): void {
  expect(r.error).toBeUndefined();
  expect(r.failures).toEqual([]);
  const n = r.notes!;
  expect(n[K.frames]).toBe(frames);
  expect([n[K.width], n[K.height]]).toEqual([width, height]);
  expect(Math.abs(Number(n[K.frameRate]) - fps) / fps).toBeLessThan(0.01);
  expect(n[K.meanError]).toBeLessThan(MAX_MEAN_ERROR);
  // The control: the next frame is much further off than the frame itself, so the error measure can fail.
  expect(Number(n[K.controlError])).toBeGreaterThan(2 * Number(n[K.meanError]));
  expect(n[K.progressCalls]).toBe(frames);
  expect(r.ok).toBe(true);
}

/** The copied audio starts with the frames and lasts as long, to within one packet, in the source's own packets. */
function expectAudioSpan(r: EngineCheckResult): void {
  const n = r.notes!;
  expect(n[K.hasAudio]).toBe('true');
  const packet = Number(n[K.audioPacket]);
  expect(packet).toBeGreaterThan(0);
  expect(Math.abs(Number(n[K.audioSpan]) - Number(n[K.audioExpected]))).toBeLessThanOrEqual(packet + 1e-6);
  // Shifted to the frames: the packet holding the span's start begins at or before 0, less than a packet before.
  expect(Number(n[K.audioFirst])).toBeLessThanOrEqual(1e-6);
  expect(Number(n[K.audioFirst])).toBeGreaterThan(-packet);
  // Copied, not re-encoded: the source's packets over the span, byte for byte.
  expect(r.errors['audio packets unlike the source']).toBe(0);
}

test('a clip encodes to H.264 MP4 in a worker, exact in frames and rate, with a generated tone copied as audio', async ({
  page,
}) => {
  // 128×96: even; 12 frames at 10 fps; the default audio is a 2 s tone made in the page, copied from 0.3 s.
  const even = await runCheck(page, {});
  expectSound(even, 12, 128, 96, 10);
  const n = even.notes!;
  expect([n[K.container], n[K.codec]]).toEqual(['mp4', 'avc']);
  expect(String(n[K.mimeType])).toMatch(/^video\/mp4; codecs="avc1\.[0-9a-f]{6}, /i);
  expectAudioSpan(even);
  expect(['aac', 'opus']).toContain(n[K.audioCodec]);

  // Odd sides lose their last column and row; no audio asked for, none written.
  const odd = await runCheck(page, {
    width: '127',
    height: '95',
    audio: 'none',
    fps: '12.5',
  });
  expectSound(odd, 12, 126, 94, 12.5);
  expect(odd.notes![K.hasAudio]).toBe('false');
  expect(odd.notes![K.audioCodec]).toBe('none');

  const item = page.locator('li[data-check="video-encode"]');
  await expect(item).toHaveAttribute('data-state', 'pass');
});

test('AAC from a real MP4 is copied for the frames’ span; WebM takes Opus and drops AAC; no audio, no track', async ({
  page,
}) => {
  // A phone-like clip: H.264 video and AAC audio, 3 s, from ffmpeg.
  const aac = join(dir, 'with-aac.mp4');
  const made = spawnSync('ffmpeg', [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=10', '-f', 'lavfi',
    '-i', 'sine=frequency=440:sample_rate=44100', '-t', '3', '-c:v', 'libx264', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '96k', aac,
  ]); // prettier-ignore
  expect(made.status, made.stderr?.toString()).toBe(0);
  await serve(page, 'with-aac.mp4', readFileSync(aac));
  await serve(page, 'car-turn.mp4', readFileSync(CAR_TURN));

  const copied = await runCheck(page, { audio: '/fixtures/with-aac.mp4', audioStart: '1.05' });
  expectSound(copied, 12, 128, 96, 10);
  expect(copied.notes![K.audioCodec]).toBe('aac');
  expectAudioSpan(copied);
  // Another reader: ffprobe decodes every frame of the file and sees the AAC stream for the frames' span.
  const exported = join(dir, 'exported.mp4');
  const file = Buffer.from(await page.evaluate(() => Array.from(window.__videoEncodeOutput!)));
  writeFileSync(exported, file);
  // Fast start: the index (moov) comes before the media (mdat), so the file plays while it downloads.
  expect(file.indexOf('moov')).toBeGreaterThan(0);
  expect(file.indexOf('moov')).toBeLessThan(file.indexOf('mdat'));
  const probe = spawnSync('ffprobe', [
    '-v', 'error', '-count_frames', '-show_entries',
    'stream=codec_type,codec_name,width,height,nb_read_frames,avg_frame_rate:format=duration', '-of', 'json', exported,
  ]); // prettier-ignore
  expect(probe.status, probe.stderr?.toString()).toBe(0);
  const { streams, format } = JSON.parse(probe.stdout.toString()) as {
    streams: { codec_type: string; codec_name: string; width?: number; height?: number; nb_read_frames: string }[];
    format: { duration: string };
  };
  console.log(`ffprobe of the export: ${JSON.stringify(streams)}, duration ${format.duration} s`);
  const v = streams.find((st) => st.codec_type === 'video')!;
  expect([v.codec_name, v.width, v.height, Number(v.nb_read_frames)]).toEqual(['h264', 128, 96, 12]);
  expect(streams.find((st) => st.codec_type === 'audio')?.codec_name).toBe('aac');
  expect(Math.abs(Number(format.duration) - 1.2)).toBeLessThan(0.03);

  const silent = await runCheck(page, { audio: '/fixtures/car-turn.mp4' });
  expectSound(silent, 12, 128, 96, 10);
  expect(silent.notes![K.hasAudio]).toBe('false');
  expect(silent.notes![K.audioNote]).toBe('the source has no audio track');

  // Only VP8 asked for: MP4 does not take it, so WebM; WebM cannot hold AAC, so the video is silent, not an error.
  const webm = await runCheck(page, { codecs: 'vp8', audio: '/fixtures/with-aac.mp4' });
  expectSound(webm, 12, 128, 96, 10);
  expect([webm.notes![K.container], webm.notes![K.codec]]).toEqual(['webm', 'vp8']);
  expect(String(webm.notes![K.mimeType])).toMatch(/^video\/webm/);
  expect(webm.notes![K.hasAudio]).toBe('false');
  expect(webm.notes![K.audioNote]).toBe("WebM cannot hold the source's AAC audio");

  // WebM with audio it can hold: the generated tone (Opus where this browser has no AAC encoder).
  const webmTone = await runCheck(page, { codecs: 'vp8' });
  expectSound(webmTone, 12, 128, 96, 10);
  if (webmTone.notes![K.audioSource] === 'tone-opus.m4a') {
    expect(webmTone.notes![K.audioCodec]).toBe('opus');
    expectAudioSpan(webmTone);
  }
});

test('no encodable codec, no frames, a failing renderer and a stop mid-clip fail as they should', async ({ page }) => {
  // HEVC does not encode in this Chromium (MEDIA.md): with only HEVC to try, nothing encodes.
  const none = await runCheck(page, { codecs: 'hevc', expectError: 'no-codec' });
  expect(none.ok).toBe(true);
  expect(none.notes![K.errorMessage]).toMatch(/^This browser cannot encode video \(tried HEVC at 128×96\)/);

  const empty = await runCheck(page, { frames: '0', audio: 'none', expectError: 'invalid' });
  expect(empty.ok).toBe(true);
  expect(empty.notes![K.errorMessage]).toBe('A video needs at least one frame, got 0.');

  // The renderer's own error passes through unchanged (the worker's recovery needs to see it), not wrapped.
  const failing = await runCheck(page, { failAt: '5', audio: 'none', expectError: 'Error' });
  expect(failing.ok).toBe(true);
  expect(failing.notes![K.errorMessage]).toBe(`${FRAME_FAILURE}5`);
  expect(failing.notes![K.progressCalls]).toBe(5);

  // Stopped while frame 3 renders: frames 0–2 were encoded, then the cancelled error, nothing returned.
  const stopped = await runCheck(page, { abortAt: '3', expectError: 'cancelled' });
  expect(stopped.ok).toBe(true);
  expect(stopped.notes![K.errorMessage]).toBe('Exporting the video was cancelled.');
  expect(stopped.notes![K.progressCalls]).toBe(3);
});
