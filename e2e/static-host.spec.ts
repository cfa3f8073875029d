/**
 * The production build (dist/) on a plain static host: a small Node server that serves files and applies
 * dist/_headers the way Netlify and Cloudflare Pages do (e2e/staticServer.ts), with no Vite in between. The page
 * must be cross-origin isolated, carry the same CSP as header and as meta tag, render, find WebGPU, and load the
 * tiny CLIP in its worker (onnxruntime-web's WASM included) without a single CSP violation.
 */
import { fileURLToPath } from 'node:url';
import { expect, test, type Worker } from '@playwright/test';
import { META_UNSUPPORTED_DIRECTIVES, parseCsp } from '../src/deploy/csp.mjs';
import { headerValue } from '../src/deploy/headersFile.mjs';
import { APP_URL, foreignRequests, serveModels } from './appHelpers';
import { serveStatic, type StaticServer } from './staticServer';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));

let host: StaticServer;
test.beforeAll(async () => {
  host = await serveStatic(DIST);
});
test.afterAll(async () => {
  await host?.close();
});

/** A policy's directives as sorted sets, for comparing two policies in substance (order and spacing aside). */
function directiveSets(policy: string, without: readonly string[] = []): Record<string, string[]> {
  return Object.fromEntries(
    parseCsp(policy)
      .filter(([name]) => !without.includes(name))
      .map(([name, sources]) => [name, [...sources].sort()]),
  );
}

test('a static host with dist/_headers: isolated, one CSP as header and meta, WebGPU and the model load', async ({
  page,
  context,
}) => {
  test.setTimeout(120_000);
  const models = await serveModels(context);
  // CSP violations: the page's events, and what the page and its workers log (the worker's own events are
  // recorded once it runs; anything before that shows in its console).
  const violations: string[] = [];
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      (window as unknown as { __cspViolations?: string[] }).__cspViolations ??= [];
      (window as unknown as { __cspViolations: string[] }).__cspViolations.push(
        `${e.effectiveDirective} blocked ${e.blockedURI}`,
      );
    });
  });
  const logged = (text: string) => {
    if (/Content Security Policy|Refused to/i.test(text)) violations.push(text);
  };
  page.on('console', (m) => logged(m.text()));
  const workers: Worker[] = [];
  page.on('worker', (w) => {
    workers.push(w);
    w.on('console', (m) => logged(m.text()));
    void w
      .evaluate(() => {
        self.addEventListener('securitypolicyviolation', (e) => {
          const g = self as unknown as { __cspViolations?: string[] };
          (g.__cspViolations ??= []).push(`${e.effectiveDirective} blocked ${e.blockedURI}`);
        });
      })
      .catch(() => undefined);
  });

  const response = await page.goto(host.url + APP_URL);
  expect(response?.status()).toBe(200);
  const headers = response!.headers();
  expect(headers).toMatchObject({
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-embedder-policy': 'require-corp',
    'x-content-type-options': 'nosniff',
  });

  // Cross-origin isolated: SharedArrayBuffer (onnxruntime-web's threads) is there.
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  expect(await page.evaluate(() => typeof SharedArrayBuffer)).toBe('function');

  // One policy: the meta tag says what the header says, less the directives a meta tag cannot carry.
  const headerCsp = headerValue(headers, 'Content-Security-Policy');
  expect(headerCsp, 'CSP header').toBeTruthy();
  expect(headerCsp).toContain("frame-ancestors 'none'");
  const metas = await page
    .locator('meta[http-equiv="Content-Security-Policy"]')
    .evaluateAll((els) => els.map((el) => el.getAttribute('content') ?? ''));
  expect(metas).toHaveLength(1);
  expect(directiveSets(metas[0])).toEqual(directiveSets(headerCsp!, META_UNSUPPORTED_DIRECTIVES));
  expect(Object.keys(directiveSets(metas[0]))).not.toContain('frame-ancestors');

  // The app renders and finds WebGPU.
  await expect(page.getByRole('heading', { level: 1, name: 'Text2LIVE in the browser' })).toBeVisible();
  await expect(page.getByRole('region', { name: 'Your GPU' }).getByText('WebGPU ready')).toBeVisible();

  // The worker loads the tiny CLIP: the text tower is an onnxruntime-web session on its WASM from this build.
  await page.getByRole('button', { name: 'Load model now' }).click();
  await expect(page.getByTestId('model-state')).toHaveAttribute('data-state', 'ready', { timeout: 90_000 });
  const wasm = host.served.filter((r) => /^\/assets\/ort-wasm[^/]*\.wasm$/.test(r.path));
  expect(wasm.map((r) => [r.status, r.headers['Content-Type']])).toEqual([[200, 'application/wasm']]);
  const workerScripts = host.served.filter((r) => /^\/assets\/editWorker-[^/]+\.js$/.test(r.path));
  expect(workerScripts.length).toBeGreaterThan(0);
  for (const r of workerScripts) {
    // A worker's CSP and COEP come from its own response, not from the page.
    expect(headerValue(r.headers, 'Content-Security-Policy')).toBe(headerCsp);
    expect(headerValue(r.headers, 'Cross-Origin-Embedder-Policy')).toBe('require-corp');
  }
  expect(workers.length).toBeGreaterThan(0);
  expect(foreignRequests(models, host.url)).toEqual([]);

  const pageEvents = await page.evaluate(
    () => (window as unknown as { __cspViolations?: string[] }).__cspViolations ?? [],
  );
  const workerEvents: string[] = [];
  for (const w of workers) {
    workerEvents.push(
      ...(await w
        .evaluate(() => (self as unknown as { __cspViolations?: string[] }).__cspViolations ?? [])
        .catch(() => [] as string[])),
    );
  }
  expect([...violations, ...pageEvents, ...workerEvents]).toEqual([]);
});

test('the static host caches hashed assets for good, not the pages, and does not serve _headers', async ({
  request,
}) => {
  const page = await request.get(`${host.url}/engine-check`);
  expect(page.status()).toBe(200);
  expect(page.headers()).toMatchObject({ 'cross-origin-embedder-policy': 'require-corp' });
  expect(page.headers()['cache-control']).toBeUndefined();
  const html = await page.text();
  expect(html).toMatch(/<meta charset="UTF-8" \/>\s*<meta http-equiv="Content-Security-Policy" content="[^"]+"/);
  const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1];
  const script = await request.get(host.url + asset);
  expect(script.headers()).toMatchObject({
    'cache-control': 'public, max-age=31536000, immutable',
    'cross-origin-opener-policy': 'same-origin',
    'content-type': 'text/javascript; charset=utf-8',
  });
  expect((await request.get(`${host.url}/_headers`)).status()).toBe(404);
});
