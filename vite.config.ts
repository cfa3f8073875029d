import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';
import { metaCsp, withSources } from './src/deploy/csp.mjs';
import { headersFor, headerValue, parseHeadersFile } from './src/deploy/headersFile.mjs';

/**
 * The response headers of public/_headers (COOP + COEP for cross-origin isolation, the CSP, nosniff, caching of
 * hashed assets), which static hosts read from dist/_headers, on every response of the dev and the preview server
 * too: one source, so the three never drift. A middleware rather than `server.headers` so that every response gets
 * them, including the ones Vite's own middlewares answer early (HTML, transformed modules, 304s).
 */
const HEADER_RULES = parseHeadersFile(
  readFileSync(fileURLToPath(new URL('./public/_headers', import.meta.url)), 'utf8'),
);
const CSP = 'Content-Security-Policy';

/** The dev server also needs React Refresh's inline preamble (a hash would be brittle) and the HMR websocket. */
function devCsp(policy: string): string {
  return withSources(withSources(policy, 'script-src', ["'unsafe-inline'"]), 'connect-src', ['ws:', 'wss:']);
}

function staticHostHeaders(): Plugin {
  const headers =
    (dev: boolean) =>
    (req: { url?: string }, res: { setHeader(name: string, value: string): unknown }, next: () => void): void => {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      for (const [name, value] of Object.entries(headersFor(HEADER_RULES, path))) {
        res.setHeader(name, dev && name.toLowerCase() === CSP.toLowerCase() ? devCsp(value) : value);
      }
      next();
    };
  return {
    name: 'text2live:static-host-headers',
    configureServer(server) {
      server.middlewares.use(headers(true));
    },
    configurePreviewServer(server) {
      server.middlewares.use(headers(false));
    },
    // The built pages carry the CSP as a meta tag too, for hosts that cannot send headers (it cannot carry
    // frame-ancestors, and cross-origin isolation needs the headers). Not in dev: both policies would apply, and
    // the meta one would block React Refresh's inline preamble.
    // Right after <meta charset>: a meta policy only governs the elements after it, and the charset comes first.
    transformIndexHtml(html, ctx) {
      if (ctx.server) return;
      const policy = headerValue(headersFor(HEADER_RULES, ctx.path), CSP);
      if (!policy) throw new Error(`public/_headers gives ${ctx.path} no ${CSP}`);
      const charset = /<meta charset="[^"]*"\s*\/?>/i.exec(html);
      if (!charset) throw new Error(`${ctx.path} has no <meta charset> to put the CSP after`);
      const end = charset.index + charset[0].length;
      const meta = `<meta http-equiv="${CSP}" content="${metaCsp(policy).replace(/&/g, '&amp;').replace(/"/g, '&quot;')}" />`;
      return `${html.slice(0, end)}\n    ${meta}${html.slice(end)}`;
    },
  };
}

/**
 * `@xenova/transformers` imports its own (old) onnxruntime-web; the text encoder only uses its tokenizer, so those
 * imports resolve to a stub and the old runtime and its WASM stay out of the bundle.
 */
const XENOVA_ORT_STUB = '\0xenova-onnxruntime-stub';
function xenovaOnnxruntimeStub(): Plugin {
  return {
    name: 'text2live:xenova-onnxruntime-stub',
    enforce: 'pre',
    resolveId(source, importer) {
      if (
        (source === 'onnxruntime-web' || source === 'onnxruntime-node') &&
        importer &&
        /[\\/]@xenova[\\/]transformers[\\/]/.test(importer)
      )
        return XENOVA_ORT_STUB;
      return null;
    },
    load(id) {
      return id === XENOVA_ORT_STUB
        ? 'export const env = { wasm: {} };\nexport class Tensor {}\nexport default { env, Tensor };\n'
        : null;
    },
  };
}

const page = (name: string) => fileURLToPath(new URL(name, import.meta.url));

export default defineConfig({
  plugins: [react(), staticHostHeaders(), xenovaOnnxruntimeStub()],
  worker: { format: 'es', plugins: () => [xenovaOnnxruntimeStub()] },
  // onnxruntime-web loads its .wasm/.mjs files relative to its own module URL; pre-bundling breaks that.
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  build: {
    // Every browser with WebGPU supports ES2022 (top-level await in workers included).
    target: 'es2022',
    sourcemap: true,
    rolldownOptions: {
      input: {
        main: page('./index.html'),
        'engine-check': page('./engine-check.html'),
      },
    },
  },
});
