import { expect, test } from '@playwright/test';
import type { EngineCheckResult } from '../src/app/engineCheck';

test('elementwise ops: forward and tape gradients match the page’s finite differences', async ({ page }, testInfo) => {
  await page.goto('/engine-check.html');
  await page.waitForFunction(() => window.__engineCheck !== undefined);
  expect(await page.evaluate(() => window.__engineCheck!.names())).toContain('elementwise-gradcheck');

  const result: EngineCheckResult = await page.evaluate(() => window.__engineCheck!.run('elementwise-gradcheck'));
  console.log(
    `elementwise-gradcheck on ${result.adapter}: max error ${result.maxError.toExponential(2)} ` +
      `(tolerance ${result.tolerance}) in ${(result.ms / 1000).toFixed(1)} s`,
  );
  expect(result.error).toBeUndefined();
  expect(result.adapter).toBe('google · swiftshader');
  // 5 cases: a forward error each, a gradient error per input (4 binary, 1 unary).
  expect(Object.keys(result.errors)).toHaveLength(5 + 9);
  expect(result.maxError).toBeLessThan(1e-3);
  expect(result.ok).toBe(true);

  const item = page.locator('li[data-check="elementwise-gradcheck"]');
  await expect(item).toHaveAttribute('data-state', 'pass');
  await expect(item.getByText('pass', { exact: true })).toBeVisible();
  await expect(item).toContainText('Max error');
  await item.locator('summary').click(); // open the table of measured errors
  const shot = testInfo.outputPath('engine-check.png');
  await page.screenshot({ path: shot, fullPage: true });
  await testInfo.attach('engine-check', { path: shot, contentType: 'image/png' });
});

test('an unknown check name is rejected with the list of known checks', async ({ page }) => {
  await page.goto('/engine-check.html');
  await page.waitForFunction(() => window.__engineCheck !== undefined);
  const message = await page.evaluate(() =>
    window.__engineCheck!.run('no-such-check').then(
      () => 'resolved',
      (e: Error) => e.message,
    ),
  );
  expect(message).toContain('elementwise-gradcheck');
});
