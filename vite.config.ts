import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

/**
 * Cross-origin isolation (COOP same-origin + COEP require-corp) on every response of the dev and the
 * preview server: SharedArrayBuffer, and with it onnxruntime-web's threaded WASM, needs it.
 * A middleware rather than `server.headers` so that every response gets them, including the
 * ones Vite's own middlewares answer early (HTML, transformed modules, 304s).
 */
const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
} as const;

function crossOriginIsolation(): Plugin {
  const setHeaders = (
    _req: unknown,
    res: { setHeader(name: string, value: string): unknown },
    next: () => void,
  ): void => {
    for (const [name, value] of Object.entries(ISOLATION_HEADERS)) res.setHeader(name, value);
    next();
  };
  return {
    name: 'text2live:cross-origin-isolation',
    configureServer(server) {
      server.middlewares.use(setHeaders);
    },
    configurePreviewServer(server) {
      server.middlewares.use(setHeaders);
    },
  };
}

const page = (name: string) => fileURLToPath(new URL(name, import.meta.url));

export default defineConfig({
  plugins: [react(), crossOriginIsolation()],
  worker: { format: 'es' },
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
