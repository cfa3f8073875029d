import { expect, test, type Page } from '@playwright/test';

/** Every no-WebGPU case must explain itself: what is missing, why it is needed, which browsers work. */
async function expectExplanation(page: Page, reason: RegExp, failure: string): Promise<void> {
  // The worker opens the GPU device (the page never does): the test hook makes its acquisition fail this way, on the
  // real WebGPU objects of the worker.
  await page.goto(`/?debug=1&gpu=${failure}`);
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
  await expectExplanation(page, /does not offer WebGPU/, 'no-api');
  const shot = testInfo.outputPath('no-webgpu.png');
  await page.screenshot({ path: shot, fullPage: true });
  await testInfo.attach('no-webgpu', { path: shot, contentType: 'image/png' });
});

test('when requestAdapter resolves null the app explains there is no adapter', async ({ page }) => {
  await expectExplanation(page, /offered no GPU adapter/, 'no-adapter');
});

test('when requestDevice fails the app shows the browser’s message', async ({ page }) => {
  await expectExplanation(page, /could not open a device/, 'no-device');
  await expect(page.getByRole('alert')).toContainText('simulated device failure');
});
