// Checks that the built page's engine Worker fetches nothing from another origin: serves dist/ with the
// CSP the page ships, drives the built Worker in headless Chromium (parse a built-in dataset, train a
// 2-step sweep, generate text with onnxruntime-web from the base model and from a trained run, export
// an adapter) and fails if any request left our origin or any CSP violation was reported.
//
//   npx vite build && E2E_PORT=4183 bash scripts/with-webgpu.sh node scripts/check-same-origin.mjs [dist]
import { createServer } from 'node:http';
import { readFile, readdir } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { chromium } from '@playwright/test';

const dist = process.argv[2] ?? 'dist';
const port = Number(process.env.E2E_PORT ?? 4183);
const origin = `http://127.0.0.1:${port}`;
const CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; connect-src 'self'";
const TYPES = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.css': 'text/css',
};

const served = [];
const server = createServer(async (req, res) => {
  const path = decodeURIComponent(new URL(req.url, origin).pathname);
  served.push(path);
  const file = join(dist, normalize(path === '/' ? '/index.html' : path));
  try {
    const body = await readFile(file);
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-security-policy': CSP,
    });
    res.end(body);
  } catch {
    res.writeHead(404, { 'content-security-policy': CSP });
    res.end('not found');
  }
});
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--enable-unsafe-webgpu',
    '--use-webgpu-adapter=swiftshader',
    '--enable-features=Vulkan',
    '--no-sandbox',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
const context = await browser.newContext();
const requests = [];
const failed = [];
const consoleLines = [];
context.on('request', (r) => requests.push(r.url()));
context.on('requestfailed', (r) => failed.push(`${r.url()} ${r.failure()?.errorText}`));
const page = await context.newPage();
page.on('console', (m) => consoleLines.push(m.text()));
await page.goto(`${origin}/`);

const workerFile = (await readdir(join(dist, 'assets'))).find((f) => /^worker-.*\.js$/.test(f));
if (!workerFile) throw new Error(`no worker-*.js in ${dist}/assets`);

let failure;
const log = await page
  .evaluate(async (workerUrl) => {
    const out = [];
    const violations = [];
    const w = new Worker(workerUrl, { type: 'module' });
    let waiting;
    const inbox = [];
    w.onmessage = (e) => {
      inbox.push(e.data);
      waiting?.();
    };
    w.onerror = (e) => out.push(`worker error: ${e.message}`);
    document.addEventListener('securitypolicyviolation', (e) => violations.push(e.blockedURI));
    const next = async (pred) => {
      for (;;) {
        const i = inbox.findIndex(pred);
        if (i >= 0) return inbox.splice(i, 1)[0];
        const bad = inbox.find((m) => m.type === 'error' || m.type === 'datasetError');
        if (bad) throw new Error(JSON.stringify(bad));
        await new Promise((r) => (waiting = r));
      }
    };
    w.postMessage({ type: 'hello' });
    out.push(`ready: ${(await next((m) => m.type === 'ready')).adapter.description}`);
    w.postMessage({
      type: 'parseDataset',
      requestId: 1,
      source: { kind: 'builtin', name: 'devils-dictionary.txt' },
      options: { skipBadLines: false, valFraction: 0.1 },
    });
    out.push(`dataset: ${(await next((m) => m.type === 'dataset')).preview.tokens} tokens`);
    const lora = { r: 2, alpha: 4, targets: ['c_attn'] };
    const hyper = {
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0,
      damping: 1e-6,
      preconditionerOrder: 'paper',
    };
    w.postMessage({
      type: 'start',
      sweepId: 's',
      model: 'lab-gpt-tiny',
      sweep: {
        lora,
        steps: 2,
        batch: 2,
        seq: 16,
        warmup: 0,
        decay: 'constant',
        seed: 0,
        order: 'sequential',
        valFraction: 0.1,
        valEvery: 0,
        valBatches: 1,
        divergenceFactor: 3,
        hyper,
        runs: [{ id: 'radamw', optimizer: 'riemannian-adamw', lr: 0.01 }],
      },
    });
    const done = await next((m) => m.type === 'done');
    out.push(`done: ${done.results.steps} steps, ${done.adapters.length} adapter(s)`);
    const gen = (requestId, from) =>
      w.postMessage({
        type: 'generate',
        requestId,
        from,
        prompt: 'The ',
        maxTokens: 24,
        temperature: 0,
        topK: 0,
        seed: 0,
      });
    gen(2, { kind: 'base', model: 'lab-gpt-tiny' });
    out.push(`generated (base): ${JSON.stringify((await next((m) => m.type === 'generated')).text)}`);
    gen(3, { kind: 'run', runId: 'radamw' });
    out.push(`generated (run): ${JSON.stringify((await next((m) => m.type === 'generated')).text)}`);
    w.postMessage({ type: 'exportAdapter', requestId: 4, from: { kind: 'run', runId: 'radamw' } });
    const ex = await next((m) => m.type === 'exported');
    out.push(`exported: ${ex.fileName} ${ex.bytes.length} bytes`);
    w.terminate();
    return { out, violations };
  }, `/assets/${workerFile}`)
  .catch((e) => {
    failure = e instanceof Error ? e.message : String(e);
    return { out: [], violations: [] };
  });

await browser.close();
server.close();

const foreign = requests.filter(
  (u) => !u.startsWith(`${origin}/`) && !u.startsWith('blob:') && !u.startsWith('data:'),
);
const cspLines = consoleLines.filter((l) => /Content Security Policy|Refused to/i.test(l));
console.log(log.out.join('\n'));
console.log(`\nrequests seen by the browser (${requests.length}):\n  ${requests.join('\n  ')}`);
console.log(`requests served (${served.length}):\n  ${served.join('\n  ')}`);
console.log(`failed requests: ${failed.length ? failed.join(', ') : 'none'}`);
console.log(`CSP violations: ${[...log.violations, ...cspLines].join(', ') || 'none'}`);
if (failure) console.log(`\nthe Worker failed: ${failure}`);
const ok = !failure && foreign.length === 0 && log.violations.length === 0 && cspLines.length === 0;
console.log(
  ok ? '\nOK: every request was same-origin' : `\nFAIL: other origins: ${foreign.join(', ') || 'none'}`,
);
process.exit(ok ? 0 : 1);
