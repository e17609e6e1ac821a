// The page as a user drives it, on lab-gpt-tiny: upload, sweep (with a run added and one stopped, one
// diverging), exports, History after a reload, a shared link, a broken file, and the page's isolation
// (no request to another origin; the CSP blocks one). One browser page for the whole file.
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { unzipSync, strFromU8 } from 'fflate';
import { readFile } from 'node:fs/promises';
import { readSafetensors } from '../src/io/safetensors';

test.describe.configure({ mode: 'serial' });

const CONFIG =
  '/?model=lab-gpt-tiny&steps=10&batch=2&seq=16&lrs=1e-3,1e-2,1000&opt=adamw,riemannian-adamw&valevery=5&warmup=0';

/** Markup a careless page would render: uploaded text must show as these characters, never as elements. */
const MARKUP = '<img src=x onerror="window.__injected=1"><b id="injected">bold</b>';
const TEXT =
  MARKUP +
  '\n' +
  Array.from(
    { length: 60 },
    (_, i) => `Line ${i}: the quick brown fox jumps over the lazy dog, and the dog sleeps on.`,
  ).join('\n');

let context: BrowserContext;
let page: Page;
const requests: string[] = [];

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
  page = await context.newPage();
  context.on('request', (r) => requests.push(r.url()));
  await page.addInitScript(() => {
    const w = window as unknown as { __longTasks: { start: number; duration: number }[] };
    w.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) w.__longTasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  });
});

test.afterAll(async () => {
  await context.close();
});

const lossPanel = (name: string) => page.getByRole('figure', { name });
const runIdsIn = async (name: string) =>
  new Set(
    await lossPanel(name)
      .locator('[data-run-id]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-run-id'))),
  );
const runsTable = () => page.getByRole('table', { name: 'Runs' });
const row = (runId: string) => runsTable().locator(`tr[data-run-id="${runId}"]`);

test('names the adapter, and an uploaded text file is previewed at once', async () => {
  await page.goto(CONFIG);
  await expect(page.getByRole('heading', { name: 'LoRA Lab' })).toBeVisible();
  const gpu = page.getByRole('status', { name: 'GPU' });
  await expect(gpu).toContainText(/WebGPU adapter: .+/);
  await expect(gpu).not.toContainText('not available');
  await page.getByLabel('Upload dataset').setInputFiles({
    name: 'notes.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from(TEXT),
  });
  const preview = page.getByLabel('Dataset preview');
  await expect(preview).toContainText('notes.txt');
  await expect(preview).toContainText('Line 0: the quick brown fox');
  // Rendered as text: the markup's characters are there, no element was made of them, no script ran.
  await expect(preview).toContainText(MARKUP);
  await expect(page.locator('#injected')).toHaveCount(0);
  await expect(preview.locator('img')).toHaveCount(0);
  expect(
    await page.evaluate(() => (window as unknown as { __injected?: number }).__injected),
  ).toBeUndefined();
  await expect(preview).toContainText(/· 1 example ·/);
  await expect(page).toHaveURL(/data=file%3Anotes.txt/);
});

test('a sweep of 3 learning rates × 2 optimizers trains; a run is added, one stopped, one diverges', async () => {
  const start = page.getByRole('button', { name: 'Start sweep' });
  await expect(start).toBeEnabled();
  await start.click();
  const controls = page.getByRole('region', { name: 'Sweep progress and chart options' });
  await expect(controls).toHaveAttribute('data-first-loss-ms', /\d+/, { timeout: 120_000 });
  const firstLossMs = Number(await controls.getAttribute('data-first-loss-ms'));
  console.log(`time from "Start sweep" to the first loss point: ${(firstLossMs / 1000).toFixed(1)} s`);
  const trainingFrom = await page.evaluate(() => performance.now());

  // Add a run while the sweep trains: it joins at the next step.
  await page.getByLabel('Optimizer of the new run').selectOption('riemannian-adamw');
  await page.getByLabel('Learning rate of the new run').fill('3e-3');
  await page.getByRole('button', { name: '+ Add run' }).click();
  await expect(row('riemannian-adamw@0.003')).toBeVisible();
  // Stop one run.
  await page.getByRole('button', { name: 'Stop AdamW lr 1e-3' }).click();
  await expect(row('adamw@0.001')).toContainText('stopped');
  await expect(page.getByRole('progressbar', { name: 'Sweep progress' })).toBeVisible();

  await expect(page.getByRole('status', { name: 'Sweep status' })).toHaveText('Finished', {
    timeout: 150_000,
  });
  const trainingTo = await page.evaluate(() => performance.now());

  expect(await runIdsIn('Loss — AdamW')).toEqual(new Set(['adamw@0.001', 'adamw@0.01', 'adamw@1000']));
  expect(await runIdsIn('Loss — Riemannian AdamW')).toEqual(
    new Set([
      'riemannian-adamw@0.001',
      'riemannian-adamw@0.01',
      'riemannian-adamw@1000',
      'riemannian-adamw@0.003',
    ]),
  );
  await expect(runsTable().locator('tbody tr')).toHaveCount(7);
  for (const id of [
    'adamw@0.01',
    'riemannian-adamw@0.001',
    'riemannian-adamw@0.01',
    'riemannian-adamw@0.003',
  ])
    await expect(row(id).locator('td.status')).toHaveText('done');
  await expect(row('adamw@1000').locator('td.status')).toHaveText(/^diverged at step \d+$/);
  await expect(row('adamw@0.001').locator('td.status')).toHaveText(/^stopped/);
  const robustness = page.getByRole('figure', { name: 'Learning-rate robustness' });
  await expect(robustness.locator('[data-run-id]')).toHaveCount(2);

  const longTasks = await page.evaluate(
    ([from, to]) =>
      (window as unknown as { __longTasks: { start: number; duration: number }[] }).__longTasks.filter(
        (t) => t.start >= from && t.start <= to,
      ),
    [trainingFrom, trainingTo],
  );
  const longest = Math.max(0, ...longTasks.map((t) => t.duration));
  console.log(
    `main-thread long tasks while training: ${longTasks.length}, longest ${Math.round(longest)} ms`,
  );
  expect(longest).toBeLessThanOrEqual(100);
});

test('hiding a run removes its line; the adapter downloads as a PEFT zip', async () => {
  await row('adamw@0.01').getByRole('checkbox').uncheck();
  expect(await runIdsIn('Loss — AdamW')).toEqual(new Set(['adamw@0.001', 'adamw@1000']));
  await row('adamw@0.01').getByRole('checkbox').check();
  // Chart options act on every panel and live in the URL.
  await page.getByRole('radio', { name: 'linear' }).check({ force: true });
  await expect(lossPanel('Loss — AdamW')).toHaveAttribute('data-y-scale', 'linear');
  await expect(lossPanel('Loss — Riemannian AdamW')).toHaveAttribute('data-y-scale', 'linear');
  await expect(page).toHaveURL(/[?&]y=linear/);
  await page.getByRole('radio', { name: 'time' }).check({ force: true });
  await expect(page).toHaveURL(/[?&]x=time/);
  await page.getByRole('radio', { name: 'step' }).check({ force: true });

  await page.getByLabel('Run', { exact: true }).selectOption('riemannian-adamw@0.01');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download adapter (PEFT zip)' }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/\.zip$/);
  const files = unzipSync(new Uint8Array(await readFile(await download.path())));
  expect(Object.keys(files)).toEqual(
    expect.arrayContaining(['adapter_config.json', 'adapter_model.safetensors']),
  );
  const { tensors } = readSafetensors(files['adapter_model.safetensors']);
  expect([...tensors.keys()].sort()).toEqual([
    'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight',
    'base_model.model.transformer.h.0.attn.c_attn.lora_B.weight',
  ]);
  const config = JSON.parse(strFromU8(files['adapter_config.json'])) as Record<string, unknown>;
  expect(config).toMatchObject({ peft_type: 'LORA', r: 4, lora_alpha: 8, fan_in_fan_out: true });
  expect(config.target_modules).toEqual(['c_attn']);

  const [csvFile] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download results (CSV)' }).click(),
  ]);
  const csv = await readFile(await csvFile.path(), 'utf8');
  expect(csv.split('\n')[0]).toMatch(/^run,optimizer,lr,step,train_loss,val_loss,diverged_at_step(,|$)/);
});

test('samples from the base model and a finished run, side by side; merged ONNX and JSON download', async () => {
  await page.getByLabel('Prompt').fill('Line 3: the quick');
  await page.getByLabel('Adapter', { exact: true }).selectOption('riemannian-adamw@0.01');
  await page.getByRole('button', { name: 'Generate' }).click();
  const base = page.getByRole('figure', { name: 'Sample: Base model' });
  const tuned = page.getByRole('figure', { name: 'Sample: Riemannian AdamW lr 1e-2' });
  await expect(base).toContainText(/\d+\.\d s/);
  await expect(tuned).toContainText(/\d+\.\d s/);

  const [merged] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download merged ONNX' }).click(),
  ]);
  expect(merged.suggestedFilename()).toMatch(/\.onnx$/);
  expect((await readFile(await merged.path())).length).toBeGreaterThan(10_000);
  const [json] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download results (JSON)' }).click(),
  ]);
  const results = JSON.parse(await readFile(await json.path(), 'utf8')) as { runs: { id: string }[] };
  expect(results.runs).toHaveLength(7);

  const [png] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download Loss — AdamW as PNG' }).click(),
  ]);
  const pngBytes = await readFile(await png.path());
  expect([...pngBytes.subarray(1, 4)].map((b) => String.fromCharCode(b)).join('')).toBe('PNG');
});

test('after a reload the sweep is in History and reopens', async () => {
  await page.reload();
  const history = page.getByRole('list', { name: 'Past sweeps' });
  await expect(history.locator('li')).toHaveCount(1);
  await expect(history).toContainText('lab-gpt-tiny');
  await history.getByRole('button', { name: /^Open/ }).click();
  await expect(page.getByRole('status', { name: 'Sweep status' })).toHaveText('Opened from History');
  expect((await runIdsIn('Loss — Riemannian AdamW')).size).toBe(4);
  await expect(row('adamw@1000').locator('td.status')).toHaveText(/diverged/);
  // Exports work from the stored adapters (the engine no longer holds this sweep after the reload).
  await page.getByLabel('Run', { exact: true }).selectOption('adamw@0.01');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download adapter (PEFT zip)' }).click(),
  ]);
  const files = unzipSync(new Uint8Array(await readFile(await download.path())));
  const { tensors } = readSafetensors(files['adapter_model.safetensors']);
  expect(tensors.has('base_model.model.transformer.h.0.attn.c_attn.lora_A.weight')).toBe(true);
});

test('a shared link restores the same settings', async () => {
  const url = page.url();
  const other = await context.newPage();
  await other.goto(url);
  await expect(other.getByLabel('Steps', { exact: true })).toHaveValue('10');
  await expect(other.getByLabel('Batch', { exact: true })).toHaveValue('2');
  await expect(other.getByLabel('Sequence length', { exact: true })).toHaveValue('16');
  await expect(other.getByLabel('Exact values')).toHaveValue('1e-3, 1e-2, 1e3');
  await expect(other.getByLabel('Base model', { exact: true })).toHaveValue('lab-gpt-tiny');
  await expect(other.getByRole('checkbox', { name: 'Riemannian AdamW', exact: true })).toBeChecked();
  await expect(other.getByRole('checkbox', { name: 'SGD', exact: true })).not.toBeChecked();
  expect(new URL(other.url()).search).toBe(new URL(url).search);
  await other.close();
});

test('a broken JSONL file shows its line-numbered error and Start is refused', async () => {
  const bad = ['{"text":"fine"}', '{"text":"also fine"}', '{"text": oops}', '{"text":"fine"}'].join('\n');
  await page.getByLabel('Upload dataset').setInputFiles({
    name: 'broken.jsonl',
    mimeType: 'application/jsonl',
    buffer: Buffer.from(bad),
  });
  const error = page.getByRole('alert', { name: 'Dataset error' });
  await expect(error).toContainText('broken.jsonl');
  await expect(error).toContainText('line 3');
  await expect(page.getByRole('button', { name: 'Start sweep' })).toBeDisabled();
  // An invalid setting is refused beside its field.
  await page.getByLabel('Steps', { exact: true }).fill('0');
  await expect(page.getByRole('alert').filter({ hasText: 'Steps must be' })).toBeVisible();
  await page.getByLabel('Steps', { exact: true }).fill('10');
});

test('"Skip bad lines" accepts the partly bad file and counts what it skipped', async () => {
  await page.getByRole('checkbox', { name: 'Skip bad lines' }).check();
  const preview = page.getByLabel('Dataset preview');
  await expect(preview).toContainText('Skipped 1 bad line');
  await expect(preview).toContainText('also fine');
  await expect(page.getByRole('status', { name: 'Dataset warnings' })).toContainText('line 3');
  await expect(page.getByRole('alert', { name: 'Dataset error' })).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Start sweep' })).toBeEnabled();
  // The size limit is stated beside the upload control.
  await expect(page.getByText(/^\(up to \d+ MiB\)$/)).toBeVisible();
});

test('the page talks to no other origin, and its CSP blocks a cross-origin fetch', async () => {
  const origin = new URL(page.url()).origin;
  const foreign = requests.filter((u) => !u.startsWith(origin) && !/^(data|blob):/.test(u));
  expect(foreign).toEqual([]);
  console.log(`${requests.length} requests, all to ${origin}`);
  const probe = await page.evaluate(async () => {
    const violations: string[] = [];
    document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective));
    let fetched = 'ok';
    try {
      await fetch('https://example.com/');
    } catch (e) {
      fetched = String(e);
    }
    await new Promise((r) => setTimeout(r, 200));
    return { fetched, violations };
  });
  expect(probe.fetched).not.toBe('ok');
  expect(probe.violations).toContain('connect-src');
  // The engine's Worker runs under the same policy (sent as a header by the server).
  const worker = page.workers().find((w) => /worker/.test(w.url()));
  expect(worker).toBeDefined();
  const fromWorker = await worker!.evaluate(async () => {
    const violations: string[] = [];
    self.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective));
    let fetched = 'ok';
    try {
      await fetch('https://example.com/');
    } catch (e) {
      fetched = String(e);
    }
    await new Promise((r) => setTimeout(r, 200));
    return { fetched, violations };
  });
  expect(fromWorker.fetched).not.toBe('ok');
  expect(fromWorker.violations).toContain('connect-src');
});
