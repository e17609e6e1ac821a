// Bring your own model: a GPT-2 checkpoint's files (src/io/fixtures/tiny-gpt2) opened in the page, its
// card, a 2-run sweep on it, the fallback after a reload (files are not stored), and a folder that cannot
// be used. One browser page for the whole file.
import { expect, test, type BrowserContext, type Page } from '@playwright/test';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';

test.describe.configure({ mode: 'serial' });

const FIXTURE = fileURLToPath(new URL('../src/io/fixtures/tiny-gpt2/', import.meta.url));
const CONFIG =
  '/?model=lab-gpt-tiny&steps=4&batch=2&seq=16&lrs=1e-2&opt=adamw,riemannian-adamw&valevery=0&warmup=0';
const JSONL = Array.from({ length: 30 }, (_, i) =>
  JSON.stringify({ prompt: `name[Cafe ${i}] → `, completion: `Cafe ${i} serves coffee by the river.` }),
).join('\n');

let context: BrowserContext;
let page: Page;

test.beforeAll(async ({ browser }) => {
  context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  page = await context.newPage();
});

test.afterAll(async () => {
  await context.close();
});

const card = () => page.getByRole('group', { name: 'Model card' });
const runsTable = () => page.getByRole('table', { name: 'Runs' });
const row = (runId: string) => runsTable().locator(`tr[data-run-id="${runId}"]`);

test('the three files of a checkpoint open from the button; the card describes the model', async () => {
  await page.goto(CONFIG);
  await expect(page.getByRole('status', { name: 'GPU' })).toContainText(/WebGPU adapter: .+/);
  await expect(card()).toContainText('lab-gpt-tiny');
  await page.getByLabel('Upload dataset').setInputFiles({
    name: 'cafes.jsonl',
    mimeType: 'application/jsonl',
    buffer: Buffer.from(JSONL),
  });
  await expect(page.getByLabel('Dataset preview')).toContainText('cafes.jsonl');

  const chooser = page.waitForEvent('filechooser');
  await page.getByRole('button', { name: 'Open model files…', exact: true }).click();
  await (
    await chooser
  ).setFiles(['config.json', 'model.safetensors', 'tokenizer.json'].map((f) => FIXTURE + f));

  await expect(card()).toContainText('opened from your files');
  // Chosen without a folder, and config.json names no hub id: named after its shape.
  await expect(card()).toContainText('gpt2-2x64-v1000');
  await expect(card()).toContainText('named after its shape in config.json');
  await expect(card()).toContainText('2 × 64');
  await expect(card()).toContainText('1,000');
  await expect(card()).toContainText('Files stay in this tab');
  await expect(card().getByLabel('GPU memory of a sweep')).toContainText('fits this GPU’s limits');
  await expect(page.getByRole('combobox', { name: 'Base model' })).toHaveValue(/^opened:/);
  await expect(page.getByRole('alert', { name: 'Model files error' })).toHaveCount(0);
  // Re-read for the opened model's tokenizer (bytes until src/data tokenizes at token level).
  await expect(page.getByLabel('Token count')).toHaveText(
    /^[\d,]+ tokens \((.+’s tokenizer\.json|UTF-8 bytes)\)$/,
  );
  await card().screenshot({ path: 'test-results/model-card.png' });
});

test('a 2-run sweep trains on the opened model; samples from the base model and a run', async () => {
  const start = page.getByRole('button', { name: 'Start sweep' });
  await expect(start).toBeEnabled();
  await start.click();
  await expect(page.getByRole('status', { name: 'Sweep status' })).toHaveText('Finished', {
    timeout: 120_000,
  });
  for (const id of ['adamw@0.01', 'riemannian-adamw@0.01']) {
    await expect(row(id).locator('td.status')).toHaveText('done');
    // The train-loss cell holds a number: the run's loss points arrived.
    await expect(row(id)).toContainText(/\d+\.\d{3}/);
  }
  await expect(
    page.getByRole('figure', { name: 'Loss — AdamW' }).locator('[data-run-id="adamw@0.01"]'),
  ).not.toHaveCount(0);
  await expect(
    page
      .getByRole('figure', { name: 'Loss — Riemannian AdamW' })
      .locator('[data-run-id="riemannian-adamw@0.01"]'),
  ).not.toHaveCount(0);
  // Samples of an opened model: its ONNX graph is written from the weights, text decoded by its tokenizer.
  await page.getByLabel('Prompt').fill('The');
  await page.getByLabel('Adapter', { exact: true }).selectOption('adamw@0.01');
  await page.getByRole('button', { name: 'Generate' }).click();
  await expect(page.getByRole('figure', { name: 'Sample: Base model' })).toContainText(/\d+\.\d s/);
  await expect(page.getByRole('figure', { name: /^Sample: AdamW lr/ })).toContainText(/\d+\.\d s/);

  // The merged model as a checkpoint folder: weights, and the config and tokenizer the user opened.
  await page.getByLabel('Run', { exact: true }).selectOption('adamw@0.01');
  const [folder] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Download merged safetensors' }).click(),
  ]);
  expect(folder.suggestedFilename()).toBe('adamw@0.01-merged-safetensors.zip');
  const files = unzipSync(new Uint8Array(await readFile(await folder.path())));
  expect(Object.keys(files).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json']);
  expect(files['tokenizer.json']).toEqual(new Uint8Array(await readFile(join(FIXTURE, 'tokenizer.json'))));
  expect(files['model.safetensors'].length).toBeGreaterThan(600_000);
});

test('after a reload the settings stay, on a built-in model, with a notice to open the files again', async () => {
  await expect(page).toHaveURL(/model=opened%3A/);
  await page.reload();
  await expect(page.getByRole('status', { name: 'Model notice' })).toContainText(
    'Open the model files again',
  );
  await expect(page.getByRole('combobox', { name: 'Base model' })).toHaveValue('lab-gpt');
  await expect(page).toHaveURL(/[?&]model=lab-gpt&/);
  await expect(page).toHaveURL(/[?&]steps=4&/);
  await expect(page).toHaveURL(/[?&]seq=16&/);
  await page.screenshot({ path: 'test-results/model-reloaded.png' });
});

test('a folder with pytorch_model.bin only is refused, with the reason', async () => {
  const dir = join(await mkdtemp(join(tmpdir(), 'lora-lab-e2e-')), 'gpt2-pickle');
  await mkdir(dir);
  await writeFile(join(dir, 'pytorch_model.bin'), Buffer.from('not really a pickle'));
  await writeFile(join(dir, 'config.json'), await readFile(FIXTURE + 'config.json'));
  await page.getByTestId('model-folder-input').setInputFiles(dir);
  const alert = page.getByRole('alert', { name: 'Model files error' });
  await expect(alert).toContainText('only pytorch_model.bin was given');
  await expect(alert).toContainText('model.safetensors');
  // Nothing else broke: the built-in model is still selected and described.
  await expect(page.getByRole('combobox', { name: 'Base model' })).toHaveValue('lab-gpt');
  await expect(card()).toContainText('lab-gpt');
  await page.locator('.model-panel').screenshot({ path: 'test-results/model-panel-refused.png' });
});

test('the three files dropped onto the model section open the model', async () => {
  const files = await Promise.all(
    ['config.json', 'model.safetensors', 'tokenizer.json'].map(async (name) => ({
      name,
      base64: (await readFile(FIXTURE + name)).toString('base64'),
    })),
  );
  const dataTransfer = await page.evaluateHandle((list) => {
    const dt = new DataTransfer();
    for (const f of list)
      dt.items.add(new File([Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0))], f.name));
    return dt;
  }, files);
  await page.locator('.model-panel').dispatchEvent('drop', { dataTransfer });
  await expect(page.getByRole('combobox', { name: 'Base model' })).toHaveValue(/^opened:/);
  await expect(card()).toContainText('2 × 64');
  await expect(page.getByRole('alert', { name: 'Model files error' })).toHaveCount(0);
  await expect(page.getByRole('status', { name: 'Model notice' })).toHaveCount(0);
});

/** The fixture's three files, with one weight of model.safetensors changed, in a new folder. */
async function changedModelFiles(): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'lora-lab-changed-'));
  const bytes = await readFile(FIXTURE + 'model.safetensors');
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<
    string,
    { data_offsets: [number, number] }
  >;
  const key = Object.keys(header).find((k) => k.endsWith('h.0.mlp.c_fc.weight'))!;
  const at = 8 + n + header[key].data_offsets[0]; // its first float, which the fingerprint samples
  bytes.writeFloatLE(bytes.readFloatLE(at) + 0.5, at);
  await writeFile(join(dir, 'model.safetensors'), bytes);
  for (const f of ['config.json', 'tokenizer.json'])
    await writeFile(join(dir, f), await readFile(FIXTURE + f));
  return ['config.json', 'model.safetensors', 'tokenizer.json'].map((f) => join(dir, f));
}

async function openFiles(paths: string[]) {
  const chooser = page.waitForEvent('filechooser');
  await page.getByRole('button', { name: 'Open model files…', exact: true }).click();
  await (await chooser).setFiles(paths);
  await expect(page.getByRole('combobox', { name: 'Base model' })).toHaveValue(/^opened:/);
}

test('an interrupted sweep on an opened model is not resumed on other weights of its name', async () => {
  await page.goto(CONFIG.replace('steps=4', 'steps=100') + '&data=devils-dictionary.txt');
  await expect(page.getByLabel('Dataset preview')).toContainText('devils-dictionary.txt');
  const original = ['config.json', 'model.safetensors', 'tokenizer.json'].map((f) => FIXTURE + f);
  await openFiles(original);
  await page.getByRole('button', { name: 'Start sweep' }).click();
  await expect(page.getByLabel('Speed')).toContainText(/saved at step \d+/, { timeout: 120_000 });
  await page.reload();
  const panel = page.getByRole('region', { name: 'Interrupted sweep' });
  await expect(panel).toContainText(/saved at step \d+ of 100/);

  await openFiles(await changedModelFiles());
  await expect(card()).toContainText('gpt2-2x64-v1000');
  await expect(panel.getByRole('alert')).toContainText(
    /the checkpoint is of model 'gpt2-2x64-v1000' \([0-9a-f]{8}\), not 'gpt2-2x64-v1000' \([0-9a-f]{8}\): the same name, but other weights/,
  );
  await expect(panel.getByRole('button', { name: /^Resume from step/ })).toBeDisabled();

  await openFiles(original);
  await expect(panel.getByRole('alert')).toHaveCount(0);
  await expect(panel.getByRole('button', { name: /^Resume from step/ })).toBeEnabled();
  await panel.getByRole('button', { name: 'Discard' }).click();
  await expect(panel).toHaveCount(0);
});
