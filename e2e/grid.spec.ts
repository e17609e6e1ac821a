// Two-axis sweeps and the paper preset on lab-gpt-tiny: a 2 × 2 × 2 grid (optimizers × learning rates ×
// dampings), with a run of its own δ added while it trains, fills one heatmap per optimizer; "Reproduce
// the paper" fills the settings, and a tiny-scaled run of it fills every loss panel and the robustness
// chart. One browser page for the whole file.
import { expect, test, type Page } from '@playwright/test';

test.describe.configure({ mode: 'serial' });

let page: Page;

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
});

test.afterAll(async () => {
  await page.close();
});

const status = () => page.getByRole('status', { name: 'Sweep status' });
const runIdsIn = (name: string) =>
  page
    .getByRole('figure', { name })
    .locator('g[data-run-id]')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-run-id')));

test('a 2 × 2 × 2 grid (optimizers × learning rates × dampings) and a run added with its own δ fill a heatmap per optimizer', async () => {
  await page.goto(
    '/?model=lab-gpt-tiny&data=e2e-restaurants.jsonl&steps=6&batch=2&seq=16&lrs=1e-3,1e-2' +
      '&opt=riemannian-adamw,riemannian-sgd&valevery=3&y=linear',
  );
  await expect(page.getByLabel('Dataset preview')).toContainText('e2e-restaurants.jsonl');
  await page.getByLabel('Sweep also over').selectOption('damping');
  const values = page.getByLabel('Damping δ values');
  await values.fill('1e-4, 0');
  await expect(page.getByRole('alert').filter({ hasText: 'Every damping δ must be above 0.' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Start sweep' })).toBeDisabled();
  await values.fill('1e-4, 1e-2');
  await expect(page).toHaveURL(/[?&]axis=damping&axisv=0\.0001%2C0\.01/);

  await page.getByRole('button', { name: 'Start sweep' }).click();

  // While it trains, add a run with its own δ: a new learning rate and a new δ (a column and a row).
  const controls = page.getByRole('region', { name: 'Sweep progress and chart options' });
  await expect(controls).toHaveAttribute('data-first-loss-ms', /\d+/, { timeout: 120_000 });
  const addRun = page.getByRole('form', { name: 'Add run' });
  await addRun.getByLabel('Optimizer of the new run').selectOption('riemannian-adamw');
  await addRun.getByLabel('Learning rate of the new run').fill('3e-3');
  const delta = addRun.getByLabel('Damping δ of the new run');
  await expect(delta).toHaveValue('1e-4'); // the sweep's first δ
  await delta.fill('0');
  await addRun.getByRole('button', { name: '+ Add run' }).click();
  await expect(addRun.getByRole('alert')).toHaveText('The damping δ must be above 0.');
  await expect(delta).toHaveAttribute('aria-invalid', 'true');
  await addRun.screenshot({ path: test.info().outputPath('add-run-error.png') });
  await delta.fill('1e-3');
  await addRun.getByRole('button', { name: '+ Add run' }).click();
  const added = page.locator('tr[data-run-id="riemannian-adamw@0.003,damping=1e-3"]');
  await expect(added).toBeVisible();
  await expect(added.locator('td.num').nth(1)).toHaveText('1e-3'); // the δ column
  await page.screenshot({ path: test.info().outputPath('add-run.png') });

  await expect(status()).toHaveText('Finished', { timeout: 170_000 });

  for (const [name, count] of [
    ['Heatmap — Riemannian AdamW', '5'],
    ['Heatmap — Riemannian SGD', '4'],
  ]) {
    const map = page.getByRole('figure', { name });
    await expect(map).toHaveAttribute('data-cells', count);
    const cells = await map
      .locator('g.heatmap-cell')
      .evaluateAll((els) => els.map((e) => [e.getAttribute('data-value'), e.getAttribute('data-diverged')]));
    expect(cells).toHaveLength(Number(count));
    for (const [value, diverged] of cells) {
      expect(diverged).toBe('false');
      expect(Number(value)).toBeGreaterThan(0);
    }
  }
  // Loss lines: one per learning rate × damping, dashed by the damping; robustness: one line per damping.
  const ids = await runIdsIn('Loss — Riemannian AdamW');
  expect(new Set(ids)).toEqual(
    new Set([
      'riemannian-adamw@0.001,damping=1e-4',
      'riemannian-adamw@0.001,damping=0.01',
      'riemannian-adamw@0.01,damping=1e-4',
      'riemannian-adamw@0.01,damping=0.01',
      'riemannian-adamw@0.003,damping=1e-3',
    ]),
  );
  await expect(
    page.getByRole('figure', { name: 'Learning-rate robustness' }).locator('g[data-run-id]'),
  ).toHaveCount(5);
  const table = page.getByRole('table', { name: 'Runs' });
  await expect(table.getByRole('columnheader', { name: 'δ' })).toBeVisible();
  await expect(table.locator('tr[data-run-id="riemannian-sgd@0.01,damping=1e-4"]')).toContainText('1e-4');

  await page.getByRole('region', { name: 'Heatmaps' }).scrollIntoViewIfNeeded();
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: 'docs/screenshot-grid.png', fullPage: true });
});

test('"Reproduce the paper" fills the settings; scaled to the tiny model it fills every chart', async () => {
  if (page.url() === 'about:blank') await page.goto('/'); // run on its own (-g)
  await page.getByRole('button', { name: 'Reproduce the paper' }).click();
  await expect(page.getByLabel('Steps', { exact: true })).toHaveValue('300');
  await expect(page.getByLabel('Base model', { exact: true })).toHaveValue('lab-gpt');
  await expect(page.getByLabel('Sweep also over')).toHaveValue('damping');
  await expect(page.getByLabel('Damping δ values')).toHaveValue('1e-6, 0.01');
  for (const o of ['SGD', 'Riemannian SGD', 'AdamW', 'Riemannian AdamW', 'LoRA+ AdamW'])
    await expect(page.getByRole('checkbox', { name: o, exact: true })).toBeChecked();
  await expect(page.getByRole('note', { name: 'Learning rates per optimizer' })).toContainText(
    'LoRA+ AdamW: 1e-5, 1e-4, 1e-3, 3.2e-3, 1e-2',
  );
  await expect(page.locator('#preset-scaling')).toContainText('Scaled down from the report');
  // The report is served by our own origin, as text.
  const link = page.getByRole('link', { name: 'docs/reproduction.md' });
  const report = await page.request.get(new URL((await link.getAttribute('href'))!, page.url()).href);
  expect(report.ok()).toBe(true);
  expect(await report.text()).toContain('# Reproduction');

  // The preset's scale is for a real GPU: the tiny model and a few steps here.
  await page.getByLabel('Base model', { exact: true }).selectOption('lab-gpt-tiny');
  await page.getByLabel('Steps', { exact: true }).fill('3');
  await page.getByLabel('Batch', { exact: true }).fill('2');
  await page.getByLabel('Sequence length', { exact: true }).fill('16');
  await page.getByText('More: warm-up').click();
  await page.getByLabel('Validate every (steps)').fill('3');
  await expect(page.getByLabel('Dataset preview')).toContainText('e2e-restaurants.jsonl');
  await page.getByRole('button', { name: 'Start sweep' }).click();
  await expect(status()).toHaveText('Finished', { timeout: 170_000 });

  const expected: [string, number][] = [
    ['Loss — SGD', 5],
    ['Loss — Riemannian SGD', 10],
    ['Loss — AdamW', 5],
    ['Loss — Riemannian AdamW', 10],
    ['Loss — LoRA+ AdamW', 5],
  ];
  for (const [name, n] of expected) expect(await runIdsIn(name)).toHaveLength(n);
  const robustness = page.getByRole('figure', { name: 'Learning-rate robustness' });
  await expect(robustness.locator('g[data-run-id]')).toHaveCount(7);
  const points = await robustness
    .locator('[data-lr]')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-loss') ?? e.getAttribute('data-diverged')));
  expect(points).toHaveLength(35);
  await expect(page.getByRole('figure', { name: 'Heatmap — Riemannian SGD' })).toHaveAttribute(
    'data-cells',
    '10',
  );
  await page.screenshot({ path: test.info().outputPath('preset.png'), fullPage: true });
});
