/**
 * Helpers for the app's end-to-end tests (e2e/app-*.spec.ts): the tiny CLIP served in the hub layout from
 * `models/tiny-clip` through a route (so the model manager's download, progress and cache code runs for real, in
 * the worker too), a record of every request, synthetic drops, canvas fingerprints and a PNG reader (sharp).
 */
import { readFileSync, statSync } from 'node:fs';
import { expect, type BrowserContext, type Page, type Request } from '@playwright/test';
import sharp from 'sharp';

export const MODELS_DIR = new URL('../models/', import.meta.url);
// The shared test photos live beside the repository (../shared/data), as in CI.
export const IMAGES_DIR = new URL('../../shared/data/images/', import.meta.url).pathname;
export const TINY_MODEL = 'tiny-clip';
/** The app with the test quality level, the tiny model and the test hooks. */
export const APP_URL = `/?dev=1&debug=1&model=${TINY_MODEL}`;

export interface ModelServer {
  /** Model files served (path inside the model folder), in order. */
  served: string[];
  /** Every request the page and its workers made. */
  requests: string[];
  /** Set to make every model request fail this way. */
  failWith: 'none' | 404 | 'abort';
  /** While set, requests of the vision model file wait for it (a download in progress). */
  hold: Promise<void> | null;
}

/**
 * Serves `/models/**` from the repository's `models/` folder with Content-Length (the hub layout), answers the
 * Hugging Face Hub with a network error (these machines have no network), and records every request.
 */
export async function serveModels(context: BrowserContext): Promise<ModelServer> {
  const server: ModelServer = { served: [], requests: [], failWith: 'none', hold: null };
  context.on('request', (r: Request) => server.requests.push(r.url()));
  await context.route('**/models/**', async (route) => {
    const url = new URL(route.request().url());
    const rel = decodeURIComponent(url.pathname.replace(/^\/models\//, ''));
    if (server.failWith === 'abort') return route.abort('connectionreset');
    if (server.hold && rel.includes('vision_model')) await server.hold;
    const file = new URL(rel, MODELS_DIR);
    let ok = false;
    try {
      ok = !rel.includes('..') && statSync(file).isFile();
    } catch {
      ok = false;
    }
    if (server.failWith === 404 || !ok) return route.fulfill({ status: 404, body: 'Not found' });
    const body = readFileSync(file);
    server.served.push(rel.slice(rel.indexOf('/') + 1));
    // A request the page cancelled while it was held has nobody to answer.
    await route
      .fulfill({
        status: 200,
        body,
        headers: {
          'Content-Type': rel.endsWith('.json') ? 'application/json' : 'application/octet-stream',
          'Content-Length': String(body.length),
          'Cross-Origin-Resource-Policy': 'same-origin',
        },
      })
      .catch(() => undefined);
  });
  await context.route(/^https:\/\/([a-z0-9-]+\.)*(huggingface\.co|hf\.co)\//, (route) =>
    route.abort('internetdisconnected'),
  );
  return server;
}

/** Requests that are neither this app's own files nor model files. */
export function foreignRequests(server: ModelServer, baseURL: string): string[] {
  const origin = new URL(baseURL).origin;
  return server.requests.filter((u) => {
    if (u.startsWith('blob:') || u.startsWith('data:')) return false;
    const url = new URL(u);
    if (url.origin === origin) return false;
    return true;
  });
}

/** Drops a file on the drop zone the way a browser does (DataTransfer with a File, dragenter/dragover/drop). */
export async function dropFile(
  page: Page,
  bytes: Buffer,
  name: string,
  type: string,
  target = 'dropzone',
): Promise<void> {
  await page.evaluate(
    async ({ b64, name, type, target }) => {
      const bin = atob(b64);
      const data = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) data[i] = bin.charCodeAt(i);
      const dt = new DataTransfer();
      dt.items.add(new File([data], name, { type }));
      const zone = document.querySelector(`[data-testid="${target}"]`)!;
      for (const kind of ['dragenter', 'dragover', 'drop']) {
        zone.dispatchEvent(new DragEvent(kind, { bubbles: true, cancelable: true, dataTransfer: dt }));
      }
    },
    { b64: bytes.toString('base64'), name, type, target },
  );
}

/** A fingerprint of what the result canvas shows (FNV-1a over its pixels) and the step it shows. */
export async function canvasFingerprint(page: Page): Promise<{ hash: string; step: string; opaque: number }> {
  return page.evaluate(() => {
    const c = document.querySelector<HTMLCanvasElement>('[data-testid="result-canvas"]')!;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let h = 0x811c9dc5;
    let opaque = 0;
    for (let i = 0; i < d.length; i++) {
      h ^= d[i];
      h = Math.imul(h, 0x01000193) >>> 0;
      if (i % 4 === 3 && d[i] > 0) opaque++;
    }
    return { hash: h.toString(16), step: c.dataset.step ?? '', opaque };
  });
}

/** Keeps what the result canvas shows now under `key`, to compare with later (`canvasDifference`). */
export async function snapshotCanvas(page: Page, key: string): Promise<void> {
  await page.evaluate((key) => {
    const c = document.querySelector<HTMLCanvasElement>('[data-testid="result-canvas"]')!;
    const w = window as unknown as { __canvas?: Record<string, ImageData> };
    (w.__canvas ??= {})[key] = c.getContext('2d')!.getImageData(0, 0, c.width, c.height);
  }, key);
}

/**
 * How far the result canvas is now from the snapshot `key`: the largest and the mean per-channel difference (0–255),
 * or null when its size changed.
 */
export async function canvasDifference(page: Page, key: string): Promise<{ max: number; mean: number } | null> {
  return page.evaluate((key) => {
    const c = document.querySelector<HTMLCanvasElement>('[data-testid="result-canvas"]')!;
    const then = (window as unknown as { __canvas: Record<string, ImageData> }).__canvas[key];
    const now = c.getContext('2d')!.getImageData(0, 0, c.width, c.height);
    if (now.width !== then.width || now.height !== then.height) return null;
    let max = 0;
    let sum = 0;
    for (let i = 0; i < now.data.length; i++) {
      const d = Math.abs(now.data[i] - then.data[i]);
      max = Math.max(max, d);
      sum += d;
    }
    return { max, mean: sum / now.data.length };
  }, key);
}

export interface DecodedPng {
  width: number;
  height: number;
  channels: 3 | 4;
  pixels: Uint8Array;
}

/** Decodes an 8-bit RGB or RGBA PNG (what the app's downloads are) with sharp, failing the test on anything else. */
export async function decodePng(bytes: Buffer): Promise<DecodedPng> {
  const image = sharp(bytes);
  const meta = await image.metadata();
  expect(meta.format, 'PNG format').toBe('png');
  expect(meta.depth, 'bit depth').toBe('uchar');
  const { data, info } = await image.raw().toBuffer({ resolveWithObject: true });
  expect([3, 4], 'channels').toContain(info.channels);
  return {
    width: info.width,
    height: info.height,
    channels: info.channels as 3 | 4,
    pixels: new Uint8Array(data.buffer, data.byteOffset, data.length),
  };
}

/** Distinct values of one channel. */
export function channelValues(png: DecodedPng, channel: number): Set<number> {
  const values = new Set<number>();
  for (let i = channel; i < png.pixels.length; i += png.channels) values.add(png.pixels[i]);
  return values;
}

/** Every interactive control has an accessible name (a by-hand check in the spirit of axe's label rules). */
export async function unnamedControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    const controls = document.querySelectorAll<HTMLElement>(
      'button, input:not([type="hidden"]), select, textarea, [tabindex]:not([tabindex="-1"]), a[href], summary',
    );
    for (const el of controls) {
      const tag = el.tagName.toLowerCase();
      const labelledBy = el.getAttribute('aria-labelledby');
      const byIds = labelledBy
        ? labelledBy
            .split(/\s+/)
            .map((id) => document.getElementById(id)?.textContent ?? '')
            .join(' ')
        : '';
      const labels = 'labels' in el ? Array.from((el as HTMLInputElement).labels ?? []).map((l) => l.textContent) : [];
      const name = [el.getAttribute('aria-label'), byIds, ...labels, tag === 'input' ? '' : el.textContent]
        .filter(Boolean)
        .join(' ')
        .trim();
      if (!name) out.push(el.outerHTML.slice(0, 120));
    }
    return out;
  });
}

export function imageFile(name: string): Buffer {
  return readFileSync(IMAGES_DIR + name);
}
