/**
 * A plain static file server for the end-to-end tests, doing what a static host (Netlify, Cloudflare Pages) does
 * with the production build: files from a folder with their content types, `/` and pretty URLs mapped to `.html`
 * files, and the response headers of the folder's `_headers` file (parsed by the same module vite.config.ts uses),
 * which itself is not served. No Vite involved, so a header only the preview server sends would be missed here.
 */
import { readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { headersFor, parseHeadersFile, type HeaderRule } from '../src/deploy/headersFile.mjs';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  // WebAssembly.instantiateStreaming (onnxruntime-web) insists on this type.
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

/** The hosts' own configuration files, which they read and never serve. */
const HOST_FILES = new Set(['/_headers', '/_redirects']);

export interface ServedResponse {
  path: string;
  status: number;
  headers: Record<string, string>;
}

export interface StaticServer {
  /** http://127.0.0.1:PORT, without a trailing slash. */
  url: string;
  /** Every response, in order. */
  served: ServedResponse[];
  close(): Promise<void>;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The file a URL path names: `/` and `/dir/` → index.html, `/page` → page.html; null outside the root or missing. */
function resolveFile(root: string, path: string): string | null {
  if (HOST_FILES.has(path)) return null;
  const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
  if (file !== root && !file.startsWith(root + sep)) return null;
  if (isFile(file)) return file;
  if (isFile(join(file, 'index.html'))) return join(file, 'index.html');
  if (extname(file) === '' && isFile(`${file}.html`)) return `${file}.html`;
  return null;
}

export async function serveStatic(folder: string): Promise<StaticServer> {
  const root = normalize(folder).replace(/[\\/]$/, '');
  const rules: HeaderRule[] = isFile(join(root, '_headers'))
    ? parseHeadersFile(readFileSync(join(root, '_headers'), 'utf8'))
    : [];
  const served: ServedResponse[] = [];
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      path = '';
    }
    const file = path.startsWith('/') && !path.includes('\0') ? resolveFile(root, path) : null;
    const status = req.method !== 'GET' && req.method !== 'HEAD' ? 405 : file ? 200 : 404;
    const headers: Record<string, string> = {
      ...headersFor(rules, path || '/'),
      'Content-Type': status === 200 ? (CONTENT_TYPES[extname(file!)] ?? 'application/octet-stream') : 'text/plain',
    };
    const body =
      status === 200 ? readFileSync(file!) : Buffer.from(status === 404 ? 'Not found' : 'Method not allowed');
    headers['Content-Length'] = String(body.length);
    served.push({ path, status, headers });
    res.writeHead(status, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    served,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // The browser keeps its connections alive; close() alone would wait for them.
        server.closeAllConnections();
      }),
  };
}
