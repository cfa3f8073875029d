import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

/**
 * Cross-origin isolation (COOP same-origin + COEP require-corp) and the CSP below on every response of the dev and the
 * preview server: SharedArrayBuffer, and with it onnxruntime-web's threaded WASM, needs it.
 * A middleware rather than `server.headers` so that every response gets them, including the
 * ones Vite's own middlewares answer early (HTML, transformed modules, 304s).
 */
const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
} as const;

/**
 * Content-Security-Policy: no remote or inline scripts (WebAssembly compilation is allowed for onnxruntime-web),
 * workers from our origin (onnxruntime-web's threads are module workers of its own chunk), and network access only
 * to our origin and the Hugging Face Hub (model files; its LFS/Xet redirects land on *.huggingface.co / *.hf.co).
 * The dev server additionally needs React Refresh's inline preamble (checked by hash would be brittle).
 */
const CSP_DIRECTIVES = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "connect-src 'self' https://huggingface.co https://*.huggingface.co https://*.hf.co",
  "img-src 'self' blob: data:",
  "style-src 'self' 'unsafe-inline'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
];
export const CONTENT_SECURITY_POLICY = CSP_DIRECTIVES.join('; ');
const DEV_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace(
  "script-src 'self' 'wasm-unsafe-eval'",
  "script-src 'self' 'wasm-unsafe-eval' 'unsafe-inline'",
).replace("connect-src 'self'", "connect-src 'self' ws: wss:");

function crossOriginIsolation(): Plugin {
  const headers =
    (csp: string) =>
    (_req: unknown, res: { setHeader(name: string, value: string): unknown }, next: () => void): void => {
      for (const [name, value] of Object.entries(ISOLATION_HEADERS)) res.setHeader(name, value);
      res.setHeader('Content-Security-Policy', csp);
      next();
    };
  return {
    name: 'text2live:cross-origin-isolation',
    configureServer(server) {
      server.middlewares.use(headers(DEV_CONTENT_SECURITY_POLICY));
    },
    configurePreviewServer(server) {
      server.middlewares.use(headers(CONTENT_SECURITY_POLICY));
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
  plugins: [react(), crossOriginIsolation(), xenovaOnnxruntimeStub()],
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
