import { expect, test, type Page } from '@playwright/test';

/** Every no-WebGPU case must explain itself: what is missing, why it is needed, which browsers work. */
async function expectExplanation(page: Page, reason: RegExp): Promise<void> {
  await page.goto('/');
  await expect(page.getByRole('heading', { level: 1, name: 'Text2LIVE in the browser' })).toBeVisible();
  const gpu = page.getByRole('region', { name: 'Your GPU' });
  const alert = gpu.getByRole('alert');
  await expect(alert.getByRole('heading', { name: 'WebGPU is not available here' })).toBeVisible();
  await expect(alert).toContainText(reason);
  await expect(alert).toContainText('WebGPU compute shaders');
  await expect(alert).toContainText('Nothing is uploaded');
  const browsers = alert.getByRole('list');
  await expect(browsers).toContainText('Chrome or Edge 113');
  await expect(browsers).toContainText('Chrome 121');
  await expect(browsers).toContainText('Firefox 141');
  await expect(browsers).toContainText('Safari 26');
  await expect(browsers).toContainText('chrome://flags/#enable-unsafe-webgpu');
  await expect(gpu.getByText('WebGPU ready')).toHaveCount(0);
}

test('without navigator.gpu the app explains what is missing', async ({ page }, testInfo) => {
  await page.addInitScript(() => {
    delete (Object.getPrototypeOf(navigator) as { gpu?: unknown }).gpu;
  });
  await expectExplanation(page, /does not offer WebGPU/);
  expect(await page.evaluate(() => 'gpu' in navigator)).toBe(false);
  const shot = testInfo.outputPath('no-webgpu.png');
  await page.screenshot({ path: shot, fullPage: true });
  await testInfo.attach('no-webgpu', { path: shot, contentType: 'image/png' });
});

test('when requestAdapter resolves null the app explains there is no adapter', async ({ page }) => {
  await page.addInitScript(() => {
    GPU.prototype.requestAdapter = () => Promise.resolve(null);
  });
  await expectExplanation(page, /offered no GPU adapter/);
});

test('when requestDevice fails the app shows the browser’s message', async ({ page }) => {
  await page.addInitScript(() => {
    GPUAdapter.prototype.requestDevice = () =>
      Promise.reject(new DOMException('simulated device failure', 'OperationError'));
  });
  await expectExplanation(page, /could not open a device/);
  await expect(page.getByRole('alert')).toContainText('simulated device failure');
});
