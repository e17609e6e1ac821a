// A large dataset read with an opened model's tokenizer.json (src/io/fixtures/tiny-gpt2) takes a while:
// the dataset section shows how far the tokenizing has come, then the preview.
import { expect, test } from '@playwright/test';
import { fileURLToPath } from 'node:url';

const FIXTURE = fileURLToPath(new URL('../src/io/fixtures/tiny-gpt2/', import.meta.url));
const CONFIG = '/?model=lab-gpt-tiny&steps=4&batch=2&seq=16&lrs=1e-2&opt=adamw&valevery=0&warmup=0';

/** About 6 MB of varied lines: a few seconds of byte-level BPE in the Worker. */
function bigText(): string {
  const lines: string[] = [];
  for (let i = 0; i < 120_000; i++)
    lines.push(`Cafe ${(i * 7919) % 100_003} serves coffee by the river, table ${i % 97}.`);
  return lines.join('\n');
}

test('a large txt read with an opened tokenizer shows its progress, then the preview', async ({ page }) => {
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(CONFIG);
  await expect(page.getByRole('status', { name: 'GPU' })).toContainText(/WebGPU adapter: .+/);
  const chooser = page.waitForEvent('filechooser');
  await page.getByRole('button', { name: 'Open model files…', exact: true }).click();
  await (
    await chooser
  ).setFiles(['config.json', 'model.safetensors', 'tokenizer.json'].map((f) => FIXTURE + f));
  await expect(page.getByRole('combobox', { name: 'Base model' })).toHaveValue(/^opened:/);
  await expect(page.getByLabel('Token count')).toContainText('tokenizer.json');

  const panel = page.getByRole('region', { name: '2 · Dataset' });
  await page.getByLabel('Upload dataset').setInputFiles({
    name: 'big.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from(bigText()),
  });
  const bar = panel.getByRole('progressbar', { name: 'Reading the dataset' });
  await expect(bar).toBeVisible();
  await expect(panel.getByRole('status')).toContainText(
    'Reading big.txt with gpt2-2x64-v1000’s tokenizer.json',
  );
  await expect(panel).toContainText(/\d+% tokenized|checking the file/);
  await panel.screenshot({ path: 'test-results/dataset-progress.png' });

  await expect(page.getByLabel('Dataset preview')).toContainText('big.txt');
  await expect(bar).toHaveCount(0);
  await expect(page.getByLabel('Token count')).toHaveText(
    /^[\d,]+ tokens \(gpt2-2x64-v1000’s tokenizer\.json\)$/,
  );
  await panel.screenshot({ path: 'test-results/dataset-progress-done.png' });
});
