import { expect, test } from '@playwright/test';

const ISOLATION = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
};

test('the app shows the SwiftShader adapter, the software warning, limits and features', async ({ page }, testInfo) => {
  const responses: { url: string; headers: Record<string, string> }[] = [];
  page.on('response', (r) => responses.push({ url: r.url(), headers: r.headers() }));

  const response = await page.goto('/');
  expect(response?.status()).toBe(200);
  await expect(page).toHaveTitle('Text2LIVE in the browser');
  await expect(page.getByRole('heading', { level: 1, name: 'Text2LIVE in the browser' })).toBeVisible();
  await expect(page.getByRole('banner')).toBeVisible();
  await expect(page.getByRole('main')).toBeVisible();

  const gpu = page.getByRole('region', { name: 'Your GPU' });
  await expect(gpu.getByText('WebGPU ready')).toBeVisible();

  const facts = gpu.getByRole('definition');
  const fact = (term: string) => gpu.locator('dt', { hasText: term }).locator('xpath=following-sibling::dd[1]');
  await expect(facts.first()).toBeVisible();
  await expect(fact('Vendor')).toHaveText('google');
  await expect(fact('Architecture')).toHaveText('swiftshader');
  await expect(fact('Fallback (software) adapter')).toHaveText('Yes');

  const warning = gpu.getByRole('note');
  await expect(warning).toBeVisible();
  await expect(warning).toContainText('training will be very slow');

  // SwiftShader's limits (docs/WEBGPU_ON_CPU.md), as the device granted them, formatted for people.
  const limit = (name: string) =>
    gpu
      .getByRole('row', { name: new RegExp(`^${name}\\b`) })
      .getByRole('cell')
      .first();
  await expect(limit('maxBufferSize')).toHaveText('1 GiB');
  await expect(limit('maxStorageBufferBindingSize')).toHaveText('1 GiB');
  await expect(limit('maxComputeWorkgroupStorageSize')).toHaveText('32 KiB');
  await expect(limit('maxComputeInvocationsPerWorkgroup')).toHaveText('256');

  const features = gpu.getByRole('list', { name: 'Features' });
  await expect(features.getByRole('listitem').filter({ hasText: 'timestamp-query' })).toContainText('yes');
  await expect(features.getByRole('listitem').filter({ hasText: 'shader-f16' })).toContainText('no');

  // Cross-origin isolated, because every response carries COOP and COEP.
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  expect(response!.headers()).toMatchObject(ISOLATION);
  const scripts = responses.filter((r) => r.url.endsWith('.js'));
  expect(scripts.length).toBeGreaterThan(0);
  for (const r of scripts) expect(r.headers, r.url).toMatchObject(ISOLATION);

  const shot = testInfo.outputPath('webgpu-info.png');
  await page.screenshot({ path: shot, fullPage: true });
  await testInfo.attach('webgpu-info', { path: shot, contentType: 'image/png' });
});

test('the preview server sends COOP and COEP on pages and assets', async ({ request }) => {
  for (const path of ['/', '/engine-check.html', '/does-not-exist.png']) {
    const r = await request.get(path);
    expect(r.headers(), path).toMatchObject(ISOLATION);
  }
});
