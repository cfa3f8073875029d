/**
 * A user's path through a real edit on SwiftShader with the tiny CLIP and the "Tiny (test)" quality level: the model
 * downloads (progress) and is cached, previews evolve, pause / resume / stop work, downloads are real PNGs, a session
 * re-opens, a reload loads the model from the cache without a request, and a lost GPU device is replaced and the
 * edit continues from its checkpoint.
 *
 * Every training step is slow on a software GPU (and the first one compiles all kernels), so the tests take as few
 * steps as they can and wait generously.
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import {
  APP_URL,
  canvasFingerprint,
  channelValues,
  decodePng,
  foreignRequests,
  IMAGES_DIR,
  serveModels,
} from './appHelpers';

const STEP_TIMEOUT = 300_000;

test.describe.configure({ mode: 'serial' });

/** The texts the model progress line showed, recorded in the page as they change. */
async function recordProgressTexts(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __modelProgress: string[] }).__modelProgress = seen;
    new MutationObserver(() => {
      const t = document.querySelector('[data-testid="model-progress"]')?.textContent;
      if (t && seen[seen.length - 1] !== t) seen.push(t);
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });
}

/**
 * A full-page screenshot, when the browser can make one: while SwiftShader runs a long GPU job the GPU process cannot
 * composite a frame, and a screenshot is not worth failing the test.
 */
async function screenshot(page: Page, path: string): Promise<void> {
  try {
    await page.screenshot({ path, fullPage: true, timeout: 45_000 });
  } catch (e) {
    console.warn(`screenshot ${path} skipped: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Records the main thread's long tasks (> 50 ms) from the start. */
async function recordLongTasks(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const tasks: number[] = [];
    (window as unknown as { __longTasks: number[] }).__longTasks = tasks;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) tasks.push(Math.round(e.duration));
    }).observe({ type: 'longtask', buffered: true });
  });
}

async function longTasks(page: Page): Promise<number[]> {
  return page.evaluate(() => (window as unknown as { __longTasks: number[] }).__longTasks.splice(0));
}

async function stepShown(page: Page): Promise<number> {
  const t = await page
    .getByTestId('step')
    .textContent()
    .catch(() => null);
  return t ? Number(t) : 0;
}

async function startTinyEdit(page: Page, photo: string): Promise<void> {
  await page.getByLabel('Choose a photo').setInputFiles(IMAGES_DIR + photo);
  await page.getByRole('textbox', { name: /Edit layer/ }).fill('golden');
  await page.getByRole('textbox', { name: 'Full image' }).fill('golden dog');
  await page.getByRole('textbox', { name: 'Input photo' }).fill('dog');
  await page.getByRole('radio', { name: 'Tiny (test)' }).check();
  await page.getByRole('button', { name: 'Start', exact: true }).click();
}

test('a user edits a photo: download, live previews, pause, resume, stop, downloads, session, cache', async ({
  page,
  context,
  baseURL,
}, testInfo) => {
  test.setTimeout(15 * 60_000);
  const server = await serveModels(context);
  await recordProgressTexts(page);
  await recordLongTasks(page);
  const violations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
  });
  const shot = (name: string) => screenshot(page, testInfo.outputPath(`${name}.png`));
  const timings: Record<string, number> = {};
  const t0 = Date.now();
  const mark = (name: string) => (timings[name] = Math.round((Date.now() - t0) / 100) / 10);

  await page.goto(APP_URL);
  await startTinyEdit(page, 'dog-on-bench.png');
  await expect(page.getByTestId('run-state')).toHaveText('Preparing');

  // The model downloads with byte progress, then is ready.
  const modelState = page.getByTestId('model-state');
  await expect(modelState).toHaveAttribute('data-state', 'ready', { timeout: 120_000 });
  mark('model ready');
  const texts = await page.evaluate(() => (window as unknown as { __modelProgress: string[] }).__modelProgress);
  expect(texts.length).toBeGreaterThan(1);
  expect(texts[texts.length - 1]).toMatch(/^[\d.]+ MB of [\d.]+ MB \(100%\)/);
  expect(server.served.sort()).toEqual(
    ['config.json', 'onnx/text_model.onnx', 'onnx/vision_model.onnx', 'tokenizer.json', 'tokenizer_config.json'].sort(),
  );

  // Training: the untrained layer first, then a different one after a step.
  await expect(page.getByTestId('run-state')).toHaveText('Training', { timeout: 120_000 });
  const canvas = page.getByTestId('result-canvas');
  await expect(canvas).toHaveAttribute('data-step', '0', { timeout: STEP_TIMEOUT });
  mark('first preview');
  const first = await canvasFingerprint(page);
  await shot('app-training-first-preview');
  await expect(canvas).toHaveAttribute('data-step', /^[1-9]\d*$/, { timeout: STEP_TIMEOUT });
  mark('second preview');
  const second = await canvasFingerprint(page);
  expect(second.hash).not.toBe(first.hash);
  await expect(page.getByTestId('progress-text')).toContainText(/Step \d+ of 40/);
  await expect(page.getByTestId('progress-text')).toContainText(/steps\/s|s\/step/);
  await expect(page.getByRole('img', { name: /^Loss chart: total loss/ })).toBeVisible();
  await shot('app-training');
  // Leaving now asks first.
  const guarded = await page.evaluate(() => {
    const e = new Event('beforeunload', { cancelable: true });
    window.dispatchEvent(e);
    return e.defaultPrevented;
  });
  expect(guarded, 'beforeunload asks while training').toBe(true);
  // While the worker trains, the main thread only draws: long tasks (> 50 ms) stay rare and short. (Page load and
  // the first render are not counted; SwiftShader competes with the page for the same 2 cores.)
  await longTasks(page);

  // Pause between steps, then resume.
  await page.getByRole('button', { name: 'Pause' }).click();
  await expect(page.getByTestId('run-state')).toHaveText('Paused', { timeout: STEP_TIMEOUT });
  mark('paused');
  const pausedAt = await stepShown(page);
  await shot('app-paused');
  await page.waitForTimeout(1500);
  expect(await stepShown(page)).toBe(pausedAt);
  await page.getByRole('button', { name: 'Resume' }).click();
  await expect(page.getByTestId('run-state')).toHaveText('Training');
  await expect.poll(() => stepShown(page), { timeout: STEP_TIMEOUT }).toBeGreaterThan(pausedAt);
  mark('resumed and stepped');

  const duringTraining = await longTasks(page);
  console.log(`main-thread long tasks while training: ${JSON.stringify(duringTraining)}`);
  expect(Math.max(0, ...duringTraining), 'longest main-thread task while training (ms)').toBeLessThan(500);

  // Stop: the result stays.
  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(page.getByTestId('run-state')).toHaveText('Stopped', { timeout: STEP_TIMEOUT });
  mark('stopped');
  const stoppedAt = await stepShown(page);
  await expect(page.getByRole('button', { name: 'Continue training' })).toBeVisible();
  await shot('app-stopped');

  // Views.
  for (const view of ['Edit layer', 'Alpha', 'Green screen', 'Input', 'Composite']) {
    await page.getByRole('radio', { name: view }).check();
    await expect(canvas).toHaveAttribute('data-view', /./);
  }
  await page.getByRole('checkbox', { name: 'Before/after' }).check();
  await page.getByRole('slider', { name: 'Divider' }).fill('30');
  await page.getByRole('button', { name: 'Zoom in' }).click();
  await expect(page.getByLabel('Zoom level')).toHaveText('125%');
  await shot('app-before-after');
  await page.getByRole('button', { name: 'Fit' }).click();

  // Downloads: composite and edit layer are real PNGs of the photo's size (tiny level: the working size).
  const save = async (testId: string) => {
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 120_000 }),
      page.getByTestId(testId).click(),
    ]);
    const path = testInfo.outputPath(download.suggestedFilename());
    await download.saveAs(path);
    return { name: download.suggestedFilename(), bytes: readFileSync(path) };
  };
  const composite = await save('download-composite');
  expect(composite.name).toBe('text2live-composite.png');
  const cPng = decodePng(composite.bytes);
  expect([cPng.width, cPng.height]).toEqual([64, 64]);
  const edit = await save('download-edit');
  expect(edit.name).toBe('text2live-edit-layer.png');
  const ePng = decodePng(edit.bytes);
  expect([ePng.width, ePng.height]).toEqual([64, 64]);
  expect(ePng.channels).toBe(4);
  expect(channelValues(ePng, 3).size, 'the alpha of the edit layer is not constant').toBeGreaterThan(1);
  const alpha = await save('download-alpha');
  expect(decodePng(alpha.bytes).width).toBe(64);
  const session = await save('download-session');
  expect(session.name).toMatch(/\.safetensors$/);
  expect(session.bytes.length).toBeGreaterThan(64 * 64 * 4);
  mark('downloads');

  // Open the session again: same step, a preview, and training can continue.
  await page.getByLabel('Open a session file').setInputFiles(testInfo.outputPath(session.name));
  await expect(page.getByTestId('notice').filter({ hasText: `Session opened at step ${stoppedAt} of 40` })).toBeVisible(
    {
      timeout: 120_000,
    },
  );
  await expect(page.getByTestId('run-state')).toHaveText('Stopped', { timeout: STEP_TIMEOUT });
  await expect(canvas).toHaveAttribute('data-step', String(stoppedAt));
  await expect(page.getByRole('textbox', { name: /Edit layer/ })).toHaveValue('golden');
  mark('session reopened');

  // Nothing but the app and the model files went over the network, and the CSP blocked nothing.
  expect(foreignRequests(server, baseURL!)).toEqual([]);
  expect(violations).toEqual([]);
  // onnxruntime-web's WASM came from this build, and the worker's model requests were seen.
  const origin = new URL(baseURL!).origin;
  expect(server.requests.some((u) => u.startsWith(`${origin}/assets/ort-wasm`) && u.endsWith('.wasm'))).toBe(true);
  expect(server.requests.filter((u) => u.includes('/models/')).length).toBeGreaterThanOrEqual(5);

  // Reload: the model comes from the cache, without a single model request.
  const servedBefore = server.served.length;
  const modelRequestsBefore = server.requests.filter((u) => u.includes('/models/')).length;
  await page.reload();
  await expect(page.getByTestId('model-state')).toHaveAttribute('data-state', 'cached');
  await page.getByRole('button', { name: 'Load model now' }).click();
  await expect(page.getByTestId('model-state')).toHaveAttribute('data-state', 'ready', { timeout: 120_000 });
  await expect(page.getByTestId('model-state')).toHaveText('Loaded from this browser’s cache.');
  expect(server.served.length).toBe(servedBefore);
  expect(server.requests.filter((u) => u.includes('/models/')).length).toBe(modelRequestsBefore);
  mark('reloaded from cache');
  await shot('app-cached');
  console.log('app-edit timings (s):', JSON.stringify(timings));
});

test('a lost GPU device is replaced and the edit continues from its checkpoint', async ({
  page,
  context,
}, testInfo) => {
  test.setTimeout(15 * 60_000);
  await serveModels(context);
  const t0 = Date.now();
  await page.goto(APP_URL);
  await startTinyEdit(page, 'woman-on-bench.png');
  await expect(page.getByTestId('run-state')).toHaveText('Training', { timeout: 180_000 });
  await expect.poll(() => stepShown(page), { timeout: STEP_TIMEOUT }).toBeGreaterThanOrEqual(1);
  const before = await stepShown(page);
  await page.getByRole('button', { name: 'Simulate GPU device loss' }).click();
  const lost = page.getByTestId('notice').filter({ hasText: 'The GPU device was lost' });
  await expect(lost).toBeVisible({ timeout: STEP_TIMEOUT });
  await expect(lost).toContainText(/Continuing from the checkpoint at step \d+/);
  await screenshot(page, testInfo.outputPath('app-device-lost.png'));
  await expect(page.getByTestId('notice').filter({ hasText: 'Recovered on a new GPU device' })).toBeVisible({
    timeout: STEP_TIMEOUT,
  });
  await expect(page.getByTestId('run-state')).toHaveText('Training');
  await expect.poll(() => stepShown(page), { timeout: STEP_TIMEOUT }).toBeGreaterThan(before);
  await expect(page.getByTestId('run-error')).toHaveCount(0);
  await screenshot(page, testInfo.outputPath('app-recovered.png'));
  await page.getByRole('button', { name: 'Stop' }).click();
  await expect(page.getByTestId('run-state')).toHaveText('Stopped', { timeout: STEP_TIMEOUT });
  console.log(`device-loss test: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});
