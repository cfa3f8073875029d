/**
 * Video import in Chromium, through engine-check.html's `video-decode` and `video-frames-zip` checks: the browser
 * path (mediabunny + WebCodecs for a video, fflate + ImageDecoder for a zip of frames) cannot run in Node, so it is
 * proven here, and compared with the Node path (the system ffmpeg, sharp) on the same files. The files are served
 * with page.route (the production build ships no test media). Needs ffmpeg on PATH (tools/preflight.mjs says so).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, type Page, test } from '@playwright/test';
import { zipSync } from 'fflate';
import type { EngineCheckResult } from '../src/app/engineCheck';
import { checksum, colourGrid, gridDifference, VIDEO_NOTE_KEYS as K } from '../src/app/engineChecks/videoImportReport';
import { importClipFromPath } from '../src/video/media/importClip.node';
import { orientImage } from '../src/video/media/orientImage';

const VIDEO_DIR = fileURLToPath(new URL('../../shared/data/video/', import.meta.url));
const CAR_TURN = join(VIDEO_DIR, 'car-turn.mp4');
const BLACKSWAN = join(VIDEO_DIR, 'blackswan');

let dir: string;

test.beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'video-import-e2e-'));
});
test.afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Serves `body` at /fixtures/<name>; returns how many times it was asked for. */
async function serve(page: Page, name: string, body: Buffer): Promise<() => number> {
  let served = 0;
  await page.route(
    (url) => url.pathname === `/fixtures/${name}`,
    (route) => {
      served++;
      return route.fulfill({ body, contentType: 'application/octet-stream' });
    },
  );
  return () => served;
}

async function runCheck(page: Page, name: string, options: Record<string, string>): Promise<EngineCheckResult> {
  if (!page.url().includes('engine-check.html')) {
    await page.goto('/engine-check.html');
    await page.waitForFunction(() => window.__engineCheck !== undefined);
  }
  return page.evaluate(([n, o]) => window.__engineCheck!.run(n, o), [name, options] as const);
}

/** A mono 16-bit PCM WAV of `samples` silent samples: a media file with no video track. */
function silentWav(samples: number): Buffer {
  const wav = Buffer.alloc(44 + samples * 2);
  wav.write('RIFF', 0, 'ascii');
  wav.writeUInt32LE(36 + samples * 2, 4);
  wav.write('WAVEfmt ', 8, 'ascii');
  wav.writeUInt32LE(16, 16);
  wav.writeUInt16LE(1, 20); // PCM
  wav.writeUInt16LE(1, 22); // mono
  wav.writeUInt32LE(8000, 24);
  wav.writeUInt32LE(16000, 28);
  wav.writeUInt16LE(2, 32);
  wav.writeUInt16LE(16, 34);
  wav.write('data', 36, 'ascii');
  wav.writeUInt32LE(samples * 2, 40);
  return wav;
}

test('an MP4 decodes in the browser with trim, stride and size, like the Node (ffmpeg) import', async ({ page }) => {
  const served = await serve(page, 'car-turn.mp4', readFileSync(CAR_TURN));
  const trim = { start: 5, frameCount: 10, stride: 3, maxSide: 240 };
  const result = await runCheck(page, 'video-decode', {
    clip: '/fixtures/car-turn.mp4',
    ...Object.fromEntries(Object.entries(trim).map(([k, v]) => [k, String(v)])),
    frame: '4',
  });
  console.log(`video-decode: ${result.summary} (${(result.ms / 1000).toFixed(1)} s with the engine)`);
  expect(result.error).toBeUndefined();
  expect(served()).toBe(1);
  expect(result.ok).toBe(true);
  const n = result.notes!;
  expect(n[K.frames]).toBe(10);
  expect([n[K.width], n[K.height]]).toEqual([240, 240]);
  expect(n[K.sourceFrameRate]).toBe(10);
  expect(n[K.frameRate]).toBeCloseTo(10 / 3, 10);
  expect(n[K.sourceFrameCount]).toBe(80);
  expect(n[K.frameIndices]).toBe('5,8,11,14,17,20,23,26,29,32');
  expect(n[K.progressCalls]).toBe(10);
  expect(n[K.audio]).toBe('none');
  expect(result.errors['trimmed vs untrimmed decode: max byte difference']).toBe(0);

  // The same frame from ffmpeg: the same H.264 pictures, converted to RGB by another implementation.
  const node = await importClipFromPath(CAR_TURN, trim);
  const grid = colourGrid(node.frames[4]);
  const difference = gridDifference(String(n[K.grid]).split(',').map(Number), grid);
  console.log(`browser vs ffmpeg, frame 17: colour grid max difference ${difference}`);
  expect(difference).toBeLessThanOrEqual(4);
});

test('a rotated phone-style MP4 and a VP9 WebM decode upright and match ffmpeg', async ({ page }) => {
  const ffmpeg = (...args: string[]) => {
    const r = spawnSync('ffmpeg', ['-v', 'error', '-y', ...args]);
    expect(r.status, String(r.stderr)).toBe(0);
  };
  // A landscape 128×72 clip stored with a display rotation: shown as 72×128. (ffmpeg writes rotate=90 as 270°
  // clockwise; mediabunny and ffmpeg agree on that.)
  const landscape = join(dir, 'landscape.mp4');
  const rotated = join(dir, 'rotated.mp4');
  ffmpeg('-i', CAR_TURN, '-vf', 'crop=480:270,scale=128:72', '-frames:v', '12', '-c:v', 'libx264', landscape);
  ffmpeg('-i', landscape, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', rotated);
  const webm = join(dir, 'clip.webm');
  ffmpeg(
    '-i',
    CAR_TURN,
    '-vf',
    'scale=160:160',
    '-frames:v',
    '12',
    '-c:v',
    'libvpx-vp9',
    '-deadline',
    'realtime',
    webm,
  );
  await serve(page, 'rotated.mp4', readFileSync(rotated));
  await serve(page, 'clip.webm', readFileSync(webm));

  for (const [path, url, size] of [
    [rotated, '/fixtures/rotated.mp4', [72, 128]],
    [webm, '/fixtures/clip.webm', [160, 160]],
  ] as const) {
    const result = await runCheck(page, 'video-decode', { clip: url, stride: '2', frame: '3' });
    console.log(`video-decode: ${result.summary}`);
    expect(result.error).toBeUndefined();
    expect(result.ok).toBe(true);
    const n = result.notes!;
    expect([n[K.width], n[K.height], n[K.frames], n[K.sourceFrameRate]]).toEqual([...size, 6, 10]);
    const node = await importClipFromPath(path, { stride: 2 });
    const difference = gridDifference(String(n[K.grid]).split(',').map(Number), colourGrid(node.frames[3]));
    console.log(`browser vs ffmpeg, ${url}: colour grid max difference ${difference}`);
    expect(difference).toBeLessThanOrEqual(4);
    // The grid tells orientations apart: the same frame upside down is far off.
    const flipped = gridDifference(
      String(n[K.grid]).split(',').map(Number),
      colourGrid(orientImage(node.frames[3], 180)),
    );
    expect(flipped).toBeGreaterThan(20);
  }
});

test('a zip of frames with a masks/ folder imports in the browser like it does in Node', async ({ page }) => {
  const files: Record<string, Uint8Array> = {};
  for (let i = 0; i < 10; i++) {
    const name = String(i).padStart(5, '0');
    files[`blackswan/frames/${name}.jpg`] = readFileSync(join(BLACKSWAN, 'frames', `${name}.jpg`));
    files[`blackswan/masks/${name}.png`] = readFileSync(join(BLACKSWAN, 'masks', `${name}.png`));
  }
  const zip = Buffer.from(zipSync(files, { level: 0 }));
  const zipPath = join(dir, 'blackswan.zip');
  writeFileSync(zipPath, zip);
  await serve(page, 'blackswan.zip', zip);
  const options = { start: '1', stride: '2', maxSide: '192', frameRate: '24' };
  const result = await runCheck(page, 'video-frames-zip', { zip: '/fixtures/blackswan.zip', ...options, frame: '2' });
  console.log(`video-frames-zip: ${result.summary}`);
  expect(result.error).toBeUndefined();
  expect(result.ok).toBe(true);
  const n = result.notes!;
  expect([n[K.frames], n[K.masks], n[K.width], n[K.height]]).toEqual([5, 5, 192, 108]);
  expect(n[K.frameIndices]).toBe('1,3,5,7,9');
  expect(n[K.frameRate]).toBe(12);
  expect(n[K.sourceFrameCount]).toBe(10);

  const node = await importClipFromPath(zipPath, { start: 1, stride: 2, maxSide: 192 });
  // PNG is lossless and the mask resize is ours: the masks must be identical.
  expect(n[K.maskChecksum]).toBe(checksum(node.masks![2]));
  const difference = gridDifference(String(n[K.grid]).split(',').map(Number), colourGrid(node.frames[2]));
  console.log(
    `browser vs sharp, frame 5: colour grid max difference ${difference}, checksums ` +
      `${n[K.checksum] === checksum(node.frames[2].data) ? 'equal' : 'differ'}`,
  );
  expect(difference).toBeLessThanOrEqual(2);
});

test('a truncated MP4, a file without video, an HEVC clip, a too-long clip and a broken JPEG fail with typed errors', async ({
  page,
}) => {
  await serve(page, 'truncated.mp4', readFileSync(CAR_TURN).subarray(0, 20_000));
  await serve(page, 'silence.wav', silentWav(8000));
  const hevc = join(dir, 'hevc.mp4');
  const made = spawnSync('ffmpeg', [
    '-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=10', '-frames:v', '3',
    '-c:v', 'libx265', '-x265-params', 'log-level=error', '-tag:v', 'hvc1', '-pix_fmt', 'yuv420p', hevc,
  ]); // prettier-ignore
  expect(made.status, made.stderr?.toString()).toBe(0);
  await serve(page, 'hevc.mp4', readFileSync(hevc));

  const truncated = await runCheck(page, 'video-decode', { clip: '/fixtures/truncated.mp4', expectError: 'corrupt' });
  console.log(`truncated: ${truncated.notes?.[K.errorMessage]}`);
  expect(truncated.ok).toBe(true);
  expect(truncated.notes?.[K.errorMessage]).toMatch(/^truncated\.mp4 cannot be read: .*truncated/);

  const audio = await runCheck(page, 'video-decode', { clip: '/fixtures/silence.wav', expectError: 'no-video-track' });
  expect(audio.ok).toBe(true);
  expect(audio.notes?.[K.errorMessage]).toBe('silence.wav has no video track (it holds only audio).');

  const h265 = await runCheck(page, 'video-decode', { clip: '/fixtures/hevc.mp4', expectError: 'codec-unsupported' });
  console.log(`hevc: ${h265.notes?.[K.errorMessage]}`);
  expect(h265.ok).toBe(true);
  expect(h265.notes?.[K.errorMessage]).toMatch(/^HEVC \((hev1|hvc1)[.\w]*\) cannot be decoded by this browser\. /);

  // Too long: the whole of car-turn is 80 frames; the error carries the count and the trims to offer.
  await serve(page, 'car-turn.mp4', readFileSync(CAR_TURN));
  const long = await runCheck(page, 'video-decode', { clip: '/fixtures/car-turn.mp4', expectError: 'too-many-frames' });
  expect(long.ok).toBe(true);
  expect(long.notes?.[K.errorMessage]).toBe(
    'car-turn.mp4 has 80 frames; at most 70 can be decomposed. Keep frames 0–69, or every 2nd frame from 0 (40 frames).',
  );

  // A zip whose second JPEG is cut short: the browser's ImageDecoder fails on it, and the file is named.
  const jpeg = readFileSync(join(BLACKSWAN, 'frames', '00000.jpg'));
  await serve(
    page,
    'broken-frames.zip',
    Buffer.from(zipSync({ '1.jpg': jpeg, '2.jpg': jpeg.subarray(0, jpeg.length >> 1) })),
  );
  const broken = await runCheck(page, 'video-frames-zip', {
    zip: '/fixtures/broken-frames.zip',
    expectError: 'corrupt',
  });
  console.log(`broken zip: ${broken.notes?.[K.errorMessage]}`);
  expect(broken.ok).toBe(true);
  expect(broken.notes?.[K.errorMessage]).toMatch(/^2\.jpg in broken-frames\.zip is corrupt \(.+\)\.$/);

  const item = page.locator('li[data-check="video-decode"]');
  await expect(item).toHaveAttribute('data-state', 'pass');
});
