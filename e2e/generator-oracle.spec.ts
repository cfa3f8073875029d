/**
 * The SkipGenerator against its PyTorch oracle in Chromium (WebGPU on SwiftShader), through engine-check.html's
 * `generator-oracle` check: the browser path of the comparison that src/nn/skip.test.ts runs in Node, with the same
 * rules (src/nn/generatorOracle.ts). The production build has no test fixtures, so the tests serve the file from disk.
 */
import { fileURLToPath } from 'node:url';
import { expect, type Page, test } from '@playwright/test';
import type { EngineCheckResult } from '../src/app/engineCheck';
import { ORACLE_KEYS } from '../src/app/engineChecks/generatorOracle';
import { GENERATOR_ORACLE_TOLERANCES } from '../src/nn/generatorOracle';

const FIXTURE_PATH = fileURLToPath(new URL('../test/fixtures/generator_small.safetensors', import.meta.url));
const FIXTURE_ROUTE = '**/fixtures/generator_small.safetensors';

async function openEngineCheck(page: Page, query = ''): Promise<void> {
  await page.goto(`/engine-check.html${query}`);
  await page.waitForFunction(() => window.__engineCheck !== undefined);
}

function runOracle(page: Page, options?: Record<string, string>): Promise<EngineCheckResult> {
  return page.evaluate((o) => window.__engineCheck!.run('generator-oracle', o), options);
}

test('the generator matches the PyTorch oracle in the browser: output and every parameter gradient', async ({
  page,
}, testInfo) => {
  let served = 0;
  await page.route(FIXTURE_ROUTE, (route) => {
    served++;
    return route.fulfill({ path: FIXTURE_PATH, contentType: 'application/octet-stream' });
  });
  await openEngineCheck(page);
  expect(await page.evaluate(() => window.__engineCheck!.names())).toContain('generator-oracle');

  const result = await runOracle(page);
  const K = ORACLE_KEYS;
  console.log(
    `generator-oracle on ${result.adapter} in ${(result.ms / 1000).toFixed(1)} s: output max abs error ` +
      `${result.errors[K.output]?.toExponential(2)}, worst gradient relative error ` +
      `${result.errors[K.worstGradient]?.toExponential(2)} (${result.notes?.[K.worstGradientName]}), ` +
      `${result.notes?.[K.zeroCount]} zero gradients ≤ ${result.errors[K.worstZeroGradient]?.toExponential(2)} × largest`,
  );
  expect(served).toBe(1);
  expect(result.error).toBeUndefined();
  expect(result.adapter).toBe('google · swiftshader');
  expect(result.failures).toEqual([]);

  expect(result.errors[K.output]).toBeLessThanOrEqual(1e-4);
  expect(result.errors[K.worstGradient]).toBeLessThanOrEqual(1e-3);
  // Analytically zero gradients (conv biases feeding a BN, the concat BN's β): ≤ 1e-3 × the largest gradient.
  expect(result.errors[K.worstZeroGradient]).toBeLessThanOrEqual(1e-3);
  expect(GENERATOR_ORACLE_TOLERANCES).toMatchObject({ output: 1e-4, gradientRelative: 1e-3, zeroGradient: 1e-3 });
  const tensors = Number(result.notes?.[K.parameterTensors]);
  const zero = Number(result.notes?.[K.zeroCount]);
  const relative = Number(result.notes?.[K.relativeCount]);
  expect(relative + zero).toBe(tensors);
  expect(zero).toBeGreaterThan(0);
  expect(zero).toBeLessThan(tensors / 3);
  expect(relative).toBeGreaterThan(tensors / 2);
  // One row per parameter plus the three headline rows, each within its tolerance.
  expect(Object.keys(result.errors)).toHaveLength(tensors + 3);
  for (const [k, v] of Object.entries(result.errors)) {
    expect(v, k).toBeLessThanOrEqual(result.tolerances?.[k] ?? result.tolerance);
  }
  expect(result.ok).toBe(true);

  const item = page.locator('li[data-check="generator-oracle"]');
  await expect(item).toHaveAttribute('data-state', 'pass');
  await expect(item).toContainText('Output max abs error');
  await item.locator('summary').click();
  const shot = testInfo.outputPath('generator-oracle.png');
  await page.screenshot({ path: shot, fullPage: true });
  await testInfo.attach('generator-oracle', { path: shot, contentType: 'image/png' });
});

test('a missing fixture (HTTP 404) shows a clear error on the page', async ({ page }) => {
  await page.route(FIXTURE_ROUTE, (route) => route.fulfill({ status: 404, contentType: 'text/plain', body: 'no' }));
  await openEngineCheck(page);
  const result = await runOracle(page);
  expect(result.ok).toBe(false);
  expect(result.error).toMatch(
    /^FixtureUnavailableError: Could not load the generator fixture from http:\/\/127\.0\.0\.1:\d+\/fixtures\/generator_small\.safetensors: HTTP 404/,
  );
  expect(result.error).toContain('does not ship test fixtures');
  const item = page.locator('li[data-check="generator-oracle"]');
  await expect(item).toHaveAttribute('data-state', 'fail');
  await expect(item.getByRole('alert')).toContainText('Could not load the generator fixture');
  await expect(item.getByRole('alert')).toContainText('HTTP 404');
  await expect(item.getByText('fail', { exact: true })).toBeVisible();
});

test('without the fixture, the preview server’s HTML fallback is reported as a missing fixture', async ({ page }) => {
  // No route: `vite preview` answers the unknown path with index.html and status 200.
  await openEngineCheck(page);
  const result = await runOracle(page);
  expect(result.ok).toBe(false);
  expect(result.error).toContain('Could not load the generator fixture');
  expect(result.error).toContain('HTML page, not a safetensors file');
});

test('the fixture URL comes from the argument, else from ?fixture=', async ({ page }) => {
  const asked: string[] = [];
  // A predicate on the path: a glob would also match the page URL, whose query ends in .safetensors.
  await page.route(
    (url) => url.pathname.endsWith('.safetensors'),
    (route) => {
      asked.push(new URL(route.request().url()).pathname);
      return route.fulfill({ status: 404 });
    },
  );
  await openEngineCheck(page, '?fixture=/elsewhere/from-query.safetensors');
  const fromQuery = await runOracle(page);
  expect(fromQuery.error).toContain('/elsewhere/from-query.safetensors: HTTP 404');
  const fromArgument = await runOracle(page, { fixture: '/elsewhere/from-argument.safetensors' });
  expect(fromArgument.error).toContain('/elsewhere/from-argument.safetensors: HTTP 404');
  expect(asked).toEqual(['/elsewhere/from-query.safetensors', '/elsewhere/from-argument.safetensors']);
});
