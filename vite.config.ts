import { defineConfig, type Plugin } from 'vitest/config';
import react from '@vitejs/plugin-react';
import { readFileSync } from 'node:fs';

/**
 * The built page's Content-Security-Policy, as a <meta> tag. Build only (`apply: 'build'`): the dev
 * server's HMR needs an inline script. 'wasm-unsafe-eval' lets onnxruntime-web compile its WebAssembly;
 * blob: workers are what ORT's proxy may use; everything else comes from our own origin.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
].join('; ');

function contentSecurityPolicy(): Plugin[] {
  return [
    {
      name: 'lora-lab-csp',
      apply: 'build',
      transformIndexHtml: () => [
        {
          tag: 'meta',
          attrs: { 'http-equiv': 'Content-Security-Policy', content: CSP },
          injectTo: 'head-prepend',
        },
      ],
    },
    {
      // A <meta> policy does not reach the Worker (a worker takes the policy of its own response), so
      // `vite preview` (and the e2e tests on it) also sends the policy as a header, as a host should.
      name: 'lora-lab-csp-preview-header',
      apply: (_config, env) => env.isPreview === true,
      configurePreviewServer(server) {
        server.middlewares.use((_req, res, next) => {
          res.setHeader('Content-Security-Policy', CSP);
          next();
        });
      },
    },
  ];
}

/**
 * The reproduction report (docs/reproduction.md), served by our own origin as plain text at
 * `reproduction.txt` (a build asset, and the same path from the dev server), so the page's "Reproduce
 * the paper" preset can link to it offline and under the CSP. Plain text: the browser shows it inline.
 */
function reproductionReport(): Plugin {
  const read = () => readFileSync(new URL('./docs/reproduction.md', import.meta.url), 'utf8');
  return {
    name: 'lora-lab-reproduction-report',
    configureServer(server) {
      server.middlewares.use('/reproduction.txt', (_req, res) => {
        res.setHeader('Content-Type', 'text/plain; charset=utf-8');
        res.end(read());
      });
    },
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: 'reproduction.txt', source: read() });
    },
  };
}

export default defineConfig({
  plugins: [react(), ...contentSecurityPolicy(), reproductionReport()],
  worker: { format: 'es' },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  test: {
    include: ['src/**/*.test.ts', 'bench/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    maxWorkers: 2,
    // A worker's files share its process, its test device and the device's compiled pipelines: SwiftShader
    // compiles each pipeline once per worker instead of once per file (unit tests 1,085 → 820 s wall on 2
    // workers). src/test/setup.ts resets the shared test state before each file.
    isolate: false,
    setupFiles: ['src/test/setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
