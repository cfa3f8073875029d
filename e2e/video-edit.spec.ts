/**
 * Video part 2 in the production build, as a person uses it, with the tiny CLIP: drop car-turn.mp4, trim it to 6
 * frames (every 2nd, 64 px), decompose a few iterations, edit with the clip's "winter" preset at the Tiny quality
 * (pausing and resuming on the way) to Done with the live preview, play, scrub and switch views in the player, and
 * download the MP4, the frames zip, the RGBA edit-layer zip and the edited atlas.
 *
 * The MP4 is decoded in the browser with mediabunny (engine-check.html's `video-read` check), and so is the input
 * clip, imported with the app's importer at the same trim: the frames the edit started from. Using each layer
 * PNG's α: where α = 0 the MP4 frame equals the input within codec error; where α is large it differs from the input
 * by clearly more than codec error, as much as the layer says (the MP4 is the layer composited over the input).
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Download, type Page } from '@playwright/test';
import { unzipSync } from 'fflate';
import type { EngineCheckResult } from '../src/app/engineCheck';
import { READ_NOTE_KEYS as K } from '../src/app/engineChecks/videoRead';
import { APP_URL, decodePng, dropFile, serveModels, type DecodedPng } from './appHelpers';

const CLIP = new URL('../../shared/data/video/car-turn.mp4', import.meta.url).pathname;
const STEP_TIMEOUT = 300_000;
/** The trim: frames 0, 2, …, 10 of car-turn (10 fps) at 64 px, so the kept frames play at 5 fps. */
const TRIM = { start: '0', frameCount: '6', stride: '2', maxSide: '64' };
const FRAMES = 6;
const FPS = 5;
/** α above this (0–1) counts as covered by the edit for the difference check. */
const ALPHA_EDITED = 0.1;
/** A change of the input by at least this (0–255, mean over RGB) in the lossless frames is visible. */
const VISIBLE = 12;
/** Codec error bound (0–255 levels, mean over pixels and RGB) where α = 0: the H.264 read-back at 64 px. */
const CODEC_ERROR = 6;

async function save(download: Download, path: string): Promise<Buffer> {
  await download.saveAs(path);
  return readFileSync(path);
}

/** Clicks a download button and keeps the file it gives. */
async function downloadOf(page: Page, testId: string, path: (name: string) => string): Promise<[string, Buffer]> {
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: STEP_TIMEOUT }),
    page.getByTestId(testId).click(),
  ]);
  const name = download.suggestedFilename();
  return [name, await save(download, path(name))];
}

/** Runs engine-check.html's `video-read` on `bytes` in a page of its own; the frames come back as RGBA. */
async function readVideoInBrowser(
  page: Page,
  bytes: Buffer,
  options: Record<string, string> = {},
): Promise<{ result: EngineCheckResult; frames: Uint8Array[] }> {
  await page.route(
    (url) => url.pathname === '/fixtures/video.mp4',
    (route) => route.fulfill({ body: bytes, contentType: 'application/octet-stream' }),
  );
  if (!page.url().includes('engine-check.html')) {
    await page.goto('/engine-check.html');
    await page.waitForFunction(() => window.__engineCheck !== undefined);
  }
  const result = await page.evaluate((o) => window.__engineCheck!.run('video-read', o), options);
  await page.unroute((url) => url.pathname === '/fixtures/video.mp4');
  expect(result.error, result.error).toBeUndefined();
  expect(result.ok).toBe(true);
  const b64 = await page.evaluate(() =>
    window.__videoReadFrames!.map((f) => {
      let s = '';
      for (let i = 0; i < f.length; i += 0x8000) s += String.fromCharCode(...f.subarray(i, i + 0x8000));
      return btoa(s);
    }),
  );
  return { result, frames: b64.map((s) => new Uint8Array(Buffer.from(s, 'base64'))) };
}

/** The player canvas's pixels (RGBA). */
async function canvasPixels(page: Page, width: number, height: number): Promise<Uint8Array> {
  const [w, h, b64] = await page.getByTestId('player-canvas').evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let s = '';
    for (let i = 0; i < d.length; i += 0x8000) s += String.fromCharCode(...d.subarray(i, i + 0x8000));
    return [c.width, c.height, btoa(s)] as const;
  });
  expect([w, h]).toEqual([width, height]);
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

/** Entries of a zip, by name, in order. */
function zipEntries(bytes: Buffer): [string, Uint8Array][] {
  return Object.entries(unzipSync(new Uint8Array(bytes))).sort(([a], [b]) => a.localeCompare(b));
}

interface RegionStats {
  pixels: number;
  /** Mean |a − b| over the pixels' RGB, 0–255. */
  mean: number;
}

/** Mean absolute RGB difference of two RGBA frames over the pixels `where` picks. */
function meanDiff(a: Uint8Array, b: Uint8Array, where: (k: number) => boolean): RegionStats {
  let sum = 0;
  let pixels = 0;
  for (let k = 0; 4 * k < a.length; k++) {
    if (!where(k)) continue;
    pixels++;
    for (let c = 0; c < 3; c++) sum += Math.abs(a[4 * k + c] - b[4 * k + c]);
  }
  return { pixels, mean: pixels ? sum / (3 * pixels) : NaN };
}

/** The layer composited over the input, as the app renders a frame: (1 − α)·input + α·layer. */
function compositeOf(layer: DecodedPng, input: Uint8Array): Uint8Array {
  const out = new Uint8Array(input.length);
  for (let k = 0; 4 * k < input.length; k++) {
    const a = layer.pixels[4 * k + 3] / 255;
    for (let c = 0; c < 3; c++) out[4 * k + c] = Math.round((1 - a) * input[4 * k + c] + a * layer.pixels[4 * k + c]);
    out[4 * k + 3] = 255;
  }
  return out;
}

test('a user edits a decomposed clip with a preset, plays it and downloads the video', async ({
  page,
  context,
}, testInfo) => {
  test.setTimeout(10 * 60_000);
  const t0 = Date.now();
  const lap = (what: string) => console.log(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await serveModels(context);
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  const clip = readFileSync(CLIP);
  await page.goto(APP_URL);
  await page.getByRole('radio', { name: 'Video' }).check();

  // Import a small trim (80 frames is more than a clip may keep, so the trim dialog comes first).
  await dropFile(page, clip, 'car-turn.mp4', 'video/mp4', 'video-dropzone');
  await expect(page.getByTestId('video-error')).toHaveAttribute('data-kind', 'too-many-frames', { timeout: 60_000 });
  await page.getByRole('spinbutton', { name: 'Frames' }).fill(TRIM.frameCount);
  await page.getByRole('spinbutton', { name: 'Every n-th frame' }).fill(TRIM.stride);
  await page.getByRole('spinbutton', { name: 'Long side at most (px)' }).fill(TRIM.maxSide);
  await page.getByRole('button', { name: 'Import again with this trim' }).click();
  const info = page.getByTestId('clip-info');
  await expect(info).toContainText(`${FRAMES} frames decoded at 64×`, { timeout: 60_000 });
  await expect(info).toContainText(`${FPS} frames per second`);
  const size = /decoded at (\d+)×(\d+) px/.exec((await info.textContent())!)!;
  const [width, height] = [Number(size[1]), Number(size[2])];

  // The edit form comes with a decomposition.
  await expect(page.getByTestId('video-edit-form')).toHaveCount(0);

  // A short decomposition: each iteration takes ~10 s on SwiftShader, so stop after two (an edit needs only a
  // decomposition, not a good one).
  await page.getByRole('spinbutton', { name: 'Iterations' }).fill('20');
  await page.getByRole('button', { name: 'Decompose', exact: true }).click();
  await expect(page.getByTestId('atlas-iteration')).toHaveText(/^([2-9]|1\d)$/, { timeout: STEP_TIMEOUT });
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  await expect(page.getByTestId('run-state')).toHaveText('Stopped', { timeout: STEP_TIMEOUT });
  lap(`decomposed (${await page.getByTestId('atlas-iteration').textContent()} iterations)`);

  // The clip's own presets come first; the winter one fills the prompts. Tiny quality.
  const preset = page.getByTestId('video-preset');
  await expect(preset.locator('optgroup[label="For this clip"] option')).toHaveCount(3);
  await preset.selectOption('car-turn-winter');
  await expect(page.getByTestId('video-prompt')).toHaveValue(/winter scene/);
  await page.getByTestId('video-quality').selectOption('tiny');
  const seed = page.getByRole('group', { name: 'Seed' });
  await seed.getByRole('checkbox', { name: 'Random seed' }).uncheck();
  await seed.getByRole('spinbutton', { name: 'Seed value' }).fill('7');
  await expect(page.getByTestId('video-start')).toBeEnabled();
  await page.getByTestId('video-start').click();

  // The run: the live preview appears; pause and resume on the way; it ends Done.
  const runCard = page.locator('section.card.run', { has: page.getByTestId('video-run-state') });
  const state = page.getByTestId('video-run-state');
  await expect(state).toHaveText('Training', { timeout: STEP_TIMEOUT });
  await runCard.getByRole('button', { name: 'Pause', exact: true }).click();
  await expect(state).toHaveText('Paused', { timeout: STEP_TIMEOUT });
  const pausedAt = Number(await page.getByTestId('video-step').textContent());
  await expect(page.getByTestId('video-preview-frame')).toBeVisible({ timeout: STEP_TIMEOUT });
  await expect(page.getByTestId('video-preview-atlas')).toBeVisible();
  // Another preview frame, while paused.
  await page.getByTestId('video-preview-slider').fill('1');
  await expect(page.getByTestId('video-preview-frame')).toHaveAttribute('data-frame', '1', { timeout: STEP_TIMEOUT });
  expect(Number(await page.getByTestId('video-step').textContent()), 'no step while paused').toBe(pausedAt);
  lap(`paused at step ${pausedAt}`);
  await runCard.getByRole('button', { name: 'Resume', exact: true }).click();
  await expect(state).toHaveText('Done', { timeout: STEP_TIMEOUT });
  await expect(page.getByTestId('video-step')).toHaveText('6');
  await expect(page.getByTestId('video-preview-frame')).toHaveAttribute('data-step', '6');
  await expect(page.getByTestId('video-preview-frame')).toHaveAttribute('data-frame', '1');
  lap('edit done');

  // The player fills with every frame, plays at the clip's rate, scrubs and switches views.
  const player = page.getByTestId('player-canvas');
  await expect(player).toHaveAttribute('data-ready', 'true', { timeout: STEP_TIMEOUT });
  await expect(page.getByTestId('player-status')).toHaveText(`${FRAMES} frames at step 6, ${FPS} frames per second.`);
  await page.getByTestId('player-play').click();
  await expect(player).toHaveAttribute('data-playing', 'true');
  await expect(player).not.toHaveAttribute('data-frame', '0', { timeout: 10_000 });
  await page.getByTestId('player-play').click();
  await expect(player).toHaveAttribute('data-playing', 'false');
  await page.getByTestId('player-frame').fill('4');
  await expect(player).toHaveAttribute('data-frame', '4');
  const shown: Record<string, Uint8Array> = {};
  for (const view of ['alpha', 'edit', 'greenscreen', 'input', 'composite']) {
    await page.getByTestId('player-view').selectOption(view);
    await expect(player).toHaveAttribute('data-view', view);
    shown[view] = await canvasPixels(page, width, height);
  }
  lap('played');

  // The downloads.
  const path = (name: string) => testInfo.outputPath(name);
  const [videoName, mp4] = await downloadOf(page, 'video-download-video', path);
  expect(videoName).toMatch(/\.mp4$/);
  const [, framesZip] = await downloadOf(page, 'video-download-frames', path);
  const [, layersZip] = await downloadOf(page, 'video-download-layers', path);
  const [atlasName, atlasPng] = await downloadOf(page, 'video-download-atlas-edit', path);
  expect(atlasName).toMatch(/\.png$/);
  const atlas = await decodePng(atlasPng);
  expect(atlas.channels).toBe(4);
  console.log(`edited atlas ${atlas.width}×${atlas.height}`);
  const [sessionName, session] = await downloadOf(page, 'video-download-session', path);
  lap('downloaded');

  // The session opens again on this clip's decomposition and renders the same edit.
  await page.getByLabel('Open a video session file').setInputFiles(testInfo.outputPath(sessionName));
  await expect(player).toHaveAttribute('data-ready', 'true', { timeout: STEP_TIMEOUT });
  await expect(page.getByTestId('player-status')).toHaveText(`${FRAMES} frames at step 6, ${FPS} frames per second.`);
  await expect(state).toHaveText('Done');
  await page.getByTestId('player-frame').fill('4');
  await page.getByTestId('player-view').selectOption('composite');
  await expect(player).toHaveAttribute('data-frame', '4');
  const reopened = await canvasPixels(page, width, height);
  expect(meanDiff(reopened, shown.composite, () => true).mean, 'the reopened session renders the same').toBe(0);
  expect(session.length).toBeGreaterThan(1000);
  lap('session reopened');

  // The zips: one RGBA PNG per frame at the working size, 00000.png….
  const names = Array.from({ length: FRAMES }, (_, i) => `${String(i).padStart(5, '0')}.png`);
  const layerEntries = zipEntries(layersZip);
  const frameEntries = zipEntries(framesZip);
  expect(layerEntries.map(([n]) => n)).toEqual(names);
  expect(frameEntries.map(([n]) => n)).toEqual(names);
  const layers = await Promise.all(layerEntries.map(([, b]) => decodePng(Buffer.from(b))));
  const composites = await Promise.all(frameEntries.map(([, b]) => decodePng(Buffer.from(b))));
  for (const l of layers) expect([l.width, l.height, l.channels]).toEqual([width, height, 4]);
  for (const c of composites) expect([c.width, c.height]).toEqual([width, height]);

  // The MP4 and the input clip, decoded in the browser.
  const reader = await context.newPage();
  const edited = await readVideoInBrowser(reader, mp4);
  const n = edited.result.notes!;
  console.log(`edited video: ${edited.result.summary}`);
  expect(n[K.container]).toBe('MP4');
  expect(n[K.codec]).toBe('avc');
  expect(n[K.frames]).toBe(FRAMES);
  expect(n[K.probedFrames]).toBe(FRAMES);
  expect([n[K.width], n[K.height]]).toEqual([width, height]);
  expect((width % 2) + (height % 2)).toBe(0);
  expect(Math.abs(Number(n[K.frameRate]) - FPS) / FPS).toBeLessThan(0.01);
  const input = await readVideoInBrowser(reader, clip, TRIM);
  expect(input.frames).toHaveLength(FRAMES);
  expect(input.result.notes![K.width]).toBe(width);
  await reader.close();

  // The frames decoded here are the frames the edit started from: the player's input view shows the same.
  const all = () => true;
  expect(meanDiff(shown.input, input.frames[4], all).mean, 'the player input view = the clip here').toBeLessThan(0.5);
  expect(meanDiff(shown.composite, rgba(composites[4]), all).mean, 'the player = the frames zip').toBeLessThan(0.5);

  // Pixel by pixel, with the layers' α (a_t: how much of the edit covers the input, the PNG's alpha). What a frame
  // must be: the layer over the input frame, (1 − a)·input + a·layer (not over the decomposition's reconstruction).
  const per: Record<string, RegionStats>[] = [];
  const alphas: number[] = [];
  for (let t = 0; t < FRAMES; t++) {
    const a = (k: number) => layers[t].pixels[4 * k + 3] / 255;
    for (let k = 0; k < width * height; k++) alphas.push(a(k));
    const composite = rgba(composites[t]);
    const video = edited.frames[t];
    const original = input.frames[t];
    const predicted = compositeOf(layers[t], original);
    // Where the layer changes the input visibly: by ≥ VISIBLE levels (mean over RGB) in the lossless prediction.
    const visible = (k: number) =>
      (Math.abs(predicted[4 * k] - original[4 * k]) +
        Math.abs(predicted[4 * k + 1] - original[4 * k + 1]) +
        Math.abs(predicted[4 * k + 2] - original[4 * k + 2])) /
        3 >=
      VISIBLE;
    per.push({
      zipVsPredicted: meanDiff(composite, predicted, all),
      zipZero: meanDiff(composite, original, (k) => a(k) === 0),
      zero: meanDiff(video, original, (k) => a(k) === 0),
      covered: meanDiff(video, original, (k) => a(k) > ALPHA_EDITED),
      coveredPredicted: meanDiff(video, predicted, (k) => a(k) > ALPHA_EDITED),
      visible: meanDiff(video, original, visible),
      visiblePredicted: meanDiff(predicted, original, visible),
      vsPredicted: meanDiff(video, predicted, all),
      vsInput: meanDiff(video, original, all),
    });
  }
  const f = (r: RegionStats) => (r.pixels ? r.mean.toFixed(2) : '-');
  per.forEach((r, t) =>
    console.log(
      `frame ${t}: |mp4−input| where α = 0 ${f(r.zero)} (${r.zero.pixels} px; zip ${f(r.zipZero)}), ` +
        `α > ${ALPHA_EDITED} ${f(r.covered)} (${r.covered.pixels} px), visible change ${f(r.visible)} ` +
        `(${r.visible.pixels} px, predicted ${f(r.visiblePredicted)}), all ${f(r.vsInput)}; |mp4−layer over input| ` +
        `${f(r.vsPredicted)} (α > ${ALPHA_EDITED}: ${f(r.coveredPredicted)}); |zip−layer over input| ${r.zipVsPredicted.mean.toFixed(3)}`,
    ),
  );
  alphas.sort((x, y) => x - y);
  const q = (p: number) => alphas[Math.floor(p * (alphas.length - 1))].toFixed(3);
  console.log(
    `α: min ${q(0)}, 5% ${q(0.05)}, median ${q(0.5)}, 95% ${q(0.95)}, max ${q(1)}; α = 0 on ` +
      `${alphas.filter((v) => v === 0).length} of ${alphas.length} px, α > ${ALPHA_EDITED} on ` +
      `${alphas.filter((v) => v > ALPHA_EDITED).length}`,
  );
  per.forEach((r, t) => {
    // The frames zip (lossless) is the layer over the input, to rounding; so it is the input where α = 0.
    expect(r.zipVsPredicted.mean, `frame ${t}: the frames zip is the layer over the input`).toBeLessThan(0.6);
    if (r.zipZero.pixels) expect(r.zipZero.mean, `frame ${t}: zip = input where α = 0`).toBeLessThan(0.6);
    // The MP4 is that within codec error, so it equals the input where α = 0…
    expect(r.vsPredicted.mean, `frame ${t}: the MP4 is the layer over the input`).toBeLessThan(CODEC_ERROR);
    if (r.zero.pixels) expect(r.zero.mean, `frame ${t}: the MP4 = the input where α = 0`).toBeLessThan(CODEC_ERROR);
    // …and differs from it where the layer covers it: clearly more than the codec's error there, and where the
    // change is visible, by about what the layer says.
    expect(r.covered.pixels, `frame ${t}: pixels the edit covers`).toBeGreaterThan(0.05 * width * height);
    expect(r.covered.mean, `frame ${t}: the MP4 ≠ the input where α > ${ALPHA_EDITED}`).toBeGreaterThan(
      2 * r.coveredPredicted.mean,
    );
    if (r.visible.pixels) {
      expect(r.visible.mean, `frame ${t}: the visible change shows`).toBeGreaterThan(0.6 * r.visiblePredicted.mean);
      expect(r.visible.mean, `frame ${t}: the visible change is no codec noise`).toBeGreaterThan(
        3 * r.vsPredicted.mean,
      );
    }
  });
  expect(
    per.reduce((n, r) => n + r.visible.pixels, 0),
    'pixels the edit changes visibly',
  ).toBeGreaterThan(0.05 * FRAMES * width * height);
  expect(pageErrors).toEqual([]);
  lap('checked');
});

function rgba(p: DecodedPng): Uint8Array {
  if (p.channels === 4) return p.pixels;
  const out = new Uint8Array(p.width * p.height * 4);
  for (let k = 0; k < p.width * p.height; k++) {
    out.set(p.pixels.subarray(3 * k, 3 * k + 3), 4 * k);
    out[4 * k + 3] = 255;
  }
  return out;
}
