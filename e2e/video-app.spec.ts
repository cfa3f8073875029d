/**
 * Video part 1 in the production build, as a person uses it: switch to Video, drop car-turn.mp4 (80 frames: too
 * many, so the page offers trims that fit), trim it to a few small frames, decompose a few iterations on SwiftShader
 * and see the views change, stop, download the decomposition; then drop a corrupt file and see the message while the
 * clip from before stays.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { APP_URL, dropFile } from './appHelpers';

const CLIP = new URL('../../shared/data/video/car-turn.mp4', import.meta.url).pathname;
const STEP_TIMEOUT = 300_000;

test('a user imports, trims and decomposes a clip; a bad file keeps the clip', async ({ page }, testInfo) => {
  test.setTimeout(10 * 60_000);
  const clip = readFileSync(CLIP);
  await page.goto(APP_URL);
  await page.getByRole('radio', { name: 'Video' }).check();
  await expect(page.getByRole('heading', { name: 'Clip' })).toBeVisible();

  // 80 frames is more than a clip may keep: the message says so and offers trims that fit.
  await dropFile(page, clip, 'car-turn.mp4', 'video/mp4', 'video-dropzone');
  const error = page.getByTestId('video-error');
  await expect(error).toHaveAttribute('data-kind', 'too-many-frames', { timeout: 60_000 });
  await expect(error).toContainText('car-turn.mp4 has 80 frames');
  await expect(error.getByRole('button', { name: /Keep 70 frames/ })).toBeVisible();

  // A small trim: 4 frames, every 2nd, 64 px.
  await page.getByRole('spinbutton', { name: 'Frames' }).fill('4');
  await page.getByRole('spinbutton', { name: 'Every n-th frame' }).fill('2');
  await page.getByRole('spinbutton', { name: 'Long side at most (px)' }).fill('64');
  await page.getByRole('button', { name: 'Import again with this trim' }).click();
  const info = page.getByTestId('clip-info');
  await expect(info).toContainText('4 frames decoded at 64×64 px (of 80 in the source, 5 frames per second)', {
    timeout: 60_000,
  });
  await expect(page.getByTestId('clip-strip').locator('canvas')).toHaveCount(4);
  await expect(error).toHaveCount(0);

  // Decompose a few iterations: the views appear and change; stop.
  await page.getByRole('spinbutton', { name: 'Iterations' }).fill('50');
  await page.getByRole('button', { name: 'Decompose', exact: true }).click();
  const state = page.getByTestId('run-state');
  await expect(state).toHaveText(/Preparing|Decomposing/);
  const canvas = page.getByTestId('atlas-canvas');
  await expect(canvas).toHaveAttribute('data-iteration', '0', { timeout: STEP_TIMEOUT });
  await expect(state).toHaveText('Decomposing', { timeout: STEP_TIMEOUT });
  // No masks came with the clip: automatic motion masks decide the layers, and the page says how.
  await expect(page.getByTestId('atlas-layers')).toHaveText(/moving object|one background layer|masks/);
  await expect(page.getByTestId('atlas-iteration')).toHaveText(/^[1-9]\d*$/, { timeout: STEP_TIMEOUT });
  for (const view of ['Alpha', 'Background atlas', 'Foreground atlas', 'Input frame', 'Reconstruction']) {
    await page.getByRole('radio', { name: view }).check();
    await expect(canvas).toHaveAttribute('data-view', /./);
  }
  await expect(page.getByTestId('atlas-progress')).toContainText(/PSNR \d+\.\d dB/);
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  await expect(state).toHaveText('Stopped', { timeout: STEP_TIMEOUT });
  await page.getByLabel('Frame', { exact: true }).fill('3');
  await expect(canvas).toHaveAttribute('data-frame', '3', { timeout: STEP_TIMEOUT });
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 120_000 }),
    page.getByTestId('download-atlas').click(),
  ]);
  expect(download.suggestedFilename()).toBe('text2live-atlas.safetensors');
  const path = testInfo.outputPath(download.suggestedFilename());
  await download.saveAs(path);
  expect(readFileSync(path).length).toBeGreaterThan(1000);
  // The saved decomposition opens again for this clip, at the iteration it had.
  const stoppedAt = await page.getByTestId('atlas-iteration').textContent();
  await page.getByLabel('Open a decomposition file').setInputFiles(path);
  await expect(page.getByText(`The decomposition was opened at iteration ${stoppedAt}.`)).toBeVisible({
    timeout: STEP_TIMEOUT,
  });
  await expect(state).toHaveText('Stopped');
  await expect(page.getByTestId('atlas-iteration')).toHaveText(stoppedAt!);

  // A truncated file: named, and the clip from before stays.
  await dropFile(page, clip.subarray(0, 20_000), 'truncated.mp4', 'video/mp4', 'video-dropzone');
  await expect(error).toHaveAttribute('data-kind', 'corrupt', { timeout: 60_000 });
  await expect(error).toContainText('truncated.mp4');
  await expect(error).toContainText('The clip from before is still loaded.');
  await expect(info).toContainText('car-turn.mp4');
  await expect(state).toHaveText('Stopped');
});
