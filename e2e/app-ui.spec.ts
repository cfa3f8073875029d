/**
 * The editor page without training: security headers, landmarks and labels, keyboard operation, photo input
 * (picker, drop, bad files, huge photos), the model panel's failure path and loading from disk.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import {
  APP_URL,
  dropFile,
  foreignRequests,
  imageFile,
  IMAGES_DIR,
  MODELS_DIR,
  serveModels,
  TINY_MODEL,
  unnamedControls,
} from './appHelpers';

test('the page has a strict CSP, landmarks, labelled controls and a keyboard path to Start', async ({
  page,
  context,
  baseURL,
}, testInfo) => {
  const server = await serveModels(context);
  const violations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
  });
  const response = await page.goto(APP_URL);
  const csp = response!.headers()['content-security-policy'];
  expect(csp).toContain("default-src 'self'");
  expect(csp).toContain("script-src 'self' 'wasm-unsafe-eval'");
  expect(csp).not.toMatch(/script-src[^;]*(unsafe-inline|https?:)/);
  expect(csp).toContain('connect-src');

  await expect(page.getByRole('banner')).toBeVisible();
  await expect(page.getByRole('main')).toBeVisible();
  await expect(page.getByRole('contentinfo')).toBeVisible();
  for (const name of ['Photo', 'Edit', 'CLIP model', 'Training', 'Result', 'Downloads', 'Your GPU']) {
    await expect(page.getByRole('region', { name, exact: true })).toBeVisible();
  }
  await expect(page.getByRole('region', { name: 'Your GPU' }).getByText('WebGPU ready')).toBeVisible();
  await expect(page.getByTestId('model-state')).toHaveAttribute('data-state', /not-cached|unknown/);

  // Every control has an accessible name; the prompt fields are found by their labels.
  expect(await unnamedControls(page)).toEqual([]);
  await expect(page.getByRole('textbox', { name: /Edit layer/ })).toBeVisible();
  await expect(page.getByRole('textbox', { name: 'Full image' })).toBeVisible();
  await expect(page.getByRole('textbox', { name: 'Input photo' })).toBeVisible();
  await expect(page.getByRole('textbox', { name: /Region of interest/ })).toBeVisible();
  await expect(page.getByRole('radio', { name: 'Tiny (test)' })).toBeChecked();
  await expect(page.getByRole('radio', { name: 'Preview' })).toBeVisible();

  // A preset fills the prompt fields.
  await page.getByRole('combobox', { name: 'Preset' }).selectOption({ label: 'Golden dog' });
  await expect(page.getByRole('textbox', { name: /Edit layer/ })).toHaveValue('golden dog');
  await expect(page.getByRole('textbox', { name: 'Input photo' })).toHaveValue('dog');
  await expect(page.getByRole('textbox', { name: /Region of interest/ })).toHaveValue('dog');
  await page.getByRole('combobox', { name: 'Preset' }).selectOption({ label: 'None (type your own)' });
  for (const name of [/Edit layer/, 'Full image', 'Input photo', /Region of interest/]) {
    await page.getByRole('textbox', { name }).fill('');
  }

  // Keyboard only: choose a file through the picker button, type prompts, tab to Start.
  await page.getByLabel('Choose a photo').setInputFiles(IMAGES_DIR + 'dog-on-bench.png');
  await expect(page.getByTestId('photo-size')).toHaveText('512×512 px');
  await page.getByRole('textbox', { name: /Edit layer/ }).focus();
  await page.keyboard.type('golden');
  const start = page.getByRole('button', { name: 'Start', exact: true });
  await expect(start).toBeEnabled();
  let reached = false;
  for (let i = 0; i < 60 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await start.evaluate((el) => el === document.activeElement);
  }
  expect(reached, 'Tab reaches Start').toBe(true);
  // The focused button shows a focus ring.
  const outline = await start.evaluate((el) => getComputedStyle(el).outlineStyle);
  expect(outline).not.toBe('none');

  // Views are radios: arrow keys move between them.
  await page.getByRole('radio', { name: 'Composite' }).focus();
  await page.keyboard.press('ArrowRight');
  await expect(page.getByRole('radio', { name: 'Edit layer' })).toBeChecked();

  // The Advanced panel opens with the keyboard and resets.
  const advanced = page.getByRole('region', { name: 'Advanced settings' });
  await advanced.locator('summary').focus();
  await page.keyboard.press('Enter');
  const lr = advanced.getByRole('spinbutton', { name: 'Learning rate', exact: true });
  await expect(lr).toHaveValue('0.0025');
  await lr.fill('0.01');
  await expect(advanced.getByText('1 changed')).toBeVisible();
  await advanced.getByRole('button', { name: 'Reset to defaults' }).click();
  await expect(lr).toHaveValue('0.0025');

  expect(violations).toEqual([]);
  expect(foreignRequests(server, baseURL!)).toEqual([]);
  expect(server.served).toEqual([]); // nothing is downloaded before it is needed
  await page.screenshot({ path: testInfo.outputPath('app-ready.png'), fullPage: true });
});

test('a bad file is rejected with a message and the previous photo stays', async ({ page, context }, testInfo) => {
  await serveModels(context);
  await page.goto(APP_URL);
  // A synthetic drop of a real photo.
  await dropFile(page, imageFile('woman-on-bench.png'), 'woman-on-bench.png', 'image/png');
  await expect(page.getByTestId('photo-name')).toHaveText('woman-on-bench.png');
  await expect(page.getByRole('img', { name: 'The photo: woman-on-bench.png' })).toBeVisible();

  // A text file renamed .png.
  await page.getByLabel('Choose a photo').setInputFiles({
    name: 'notes.png',
    mimeType: 'image/png',
    buffer: Buffer.from('These are my notes, not a picture.\n'),
  });
  const error = page.locator('#photo-error');
  await expect(error).toContainText('“notes.png” could not be read as an image');
  await expect(error).toContainText('Your previous photo is still loaded.');
  await expect(page.getByTestId('photo-name')).toHaveText('woman-on-bench.png');
  await page.screenshot({ path: testInfo.outputPath('app-bad-file.png'), fullPage: true });

  // An empty file, dropped.
  await dropFile(page, Buffer.alloc(0), 'empty.jpg', 'image/jpeg');
  await expect(error).toContainText('“empty.jpg” is empty');
  await expect(page.getByTestId('photo-name')).toHaveText('woman-on-bench.png');

  // Not an image type at all.
  await page.getByLabel('Choose a photo').setInputFiles({
    name: 'report.pdf',
    mimeType: 'application/pdf',
    buffer: Buffer.from('%PDF-1.4'),
  });
  await expect(error).toContainText('not an image');

  // A good one clears the message.
  await page.getByLabel('Choose a photo').setInputFiles(IMAGES_DIR + 'dog-on-bench.png');
  await expect(error).toHaveCount(0);
  await expect(page.getByTestId('photo-name')).toHaveText('dog-on-bench.png');
});

test('a very large photo is downscaled with a visible notice', async ({ page, context }) => {
  await serveModels(context);
  await page.goto(APP_URL);
  // A 3000×2000 PNG made in the page, then pasted (a paste event with the file).
  await page.evaluate(async () => {
    const c = new OffscreenCanvas(3000, 2000);
    const g = c.getContext('2d')!;
    const grad = g.createLinearGradient(0, 0, 3000, 2000);
    grad.addColorStop(0, '#246');
    grad.addColorStop(1, '#fc8');
    g.fillStyle = grad;
    g.fillRect(0, 0, 3000, 2000);
    const blob = await c.convertToBlob({ type: 'image/png' });
    const dt = new DataTransfer();
    dt.items.add(new File([blob], 'huge.png', { type: 'image/png' }));
    document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  });
  await expect(page.getByTestId('photo-name')).toHaveText('huge.png');
  await expect(page.getByTestId('photo-size')).toHaveText('2048×1365 px');
  await expect(page.getByTestId('downscale-notice')).toContainText('3000×2000');
});

test('a failing model download explains itself, offers a retry and loading from disk', async ({
  page,
  context,
  baseURL,
}, testInfo) => {
  test.setTimeout(240_000);
  const server = await serveModels(context);
  server.failWith = 404;
  await page.goto(APP_URL);
  await page.getByRole('button', { name: 'Load model now' }).click();
  const error = page.getByTestId('model-error');
  await expect(error).toContainText(`Could not load config.json of model ${TINY_MODEL}`);
  await expect(error).toContainText('HTTP 404');
  await expect(error).toContainText('self-hosted');
  await expect(error.getByRole('button', { name: 'Retry download' })).toBeVisible();
  await expect(error.getByRole('button', { name: 'Use model files from disk…' })).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath('app-model-error.png'), fullPage: true });

  // The connection breaks instead: a retry says so.
  server.failWith = 'abort';
  await error.getByRole('button', { name: 'Retry download' }).click();
  await expect(error).toContainText('could not reach');

  // From disk: pick the model's files.
  const dir = new URL(`${TINY_MODEL}/`, MODELS_DIR);
  const files = ['config.json', 'tokenizer.json', 'tokenizer_config.json']
    .map((name) => ({ name, mimeType: 'application/json', buffer: readFileSync(new URL(name, dir)) }))
    .concat(
      readdirSync(new URL('onnx/', dir)).map((name) => ({
        name,
        mimeType: 'application/octet-stream',
        buffer: readFileSync(new URL(`onnx/${name}`, dir)),
      })),
    );
  await page.getByLabel('Model files').setInputFiles(files);
  await expect(page.getByTestId('picked-files')).toContainText(`${files.length} files picked`);
  const before = server.served.length;
  await page.getByRole('button', { name: 'Load model now' }).click();
  await expect(page.getByTestId('model-state')).toHaveAttribute('data-state', 'ready', { timeout: 120_000 });
  await expect(error).toHaveCount(0);
  expect(server.served.length).toBe(before); // nothing downloaded
  expect(foreignRequests(server, baseURL!).every((u) => /huggingface\.co/.test(u))).toBe(true);
});
