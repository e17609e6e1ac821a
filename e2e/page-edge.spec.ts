// The page without WebGPU, and a sweep stopped as a whole (kept in History as stopped).
import { expect, test } from '@playwright/test';

test('without WebGPU the page says so, names the browsers that have it, and nothing else breaks', async ({
  page,
}) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.addInitScript(() => {
    Object.defineProperty(Navigator.prototype, 'gpu', { get: () => undefined, configurable: true });
  });
  await page.goto('/');
  const panel = page.getByRole('region', { name: /WebGPU is not available/ });
  await expect(panel).toBeVisible();
  await expect(panel).toContainText('Chrome and Edge 113');
  await expect(panel).toContainText('Safari 26');
  await expect(panel).toContainText('Firefox 141');
  await expect(page.getByRole('status', { name: 'GPU' })).toHaveText('WebGPU not available');
  await expect(page.getByRole('button', { name: 'Start sweep' })).toBeDisabled();
  await expect(page.getByRole('figure', { name: 'Loss — AdamW' })).toBeVisible();
  await page.getByLabel('Steps', { exact: true }).fill('12');
  await expect(page).toHaveURL(/steps=12/);
  expect(errors).toEqual([]);
});

test('"Stop" stops every run; the stopped sweep is kept in History', async ({ page }) => {
  await page.goto(
    '/?model=lab-gpt-tiny&data=devils-dictionary.txt&steps=200&batch=2&seq=16&lrs=1e-3,1e-2&opt=adamw,sgd',
  );
  await expect(page.getByLabel('Dataset preview')).toContainText('devils-dictionary.txt');
  await page.getByRole('button', { name: 'Start sweep' }).click();
  await expect(page.getByRole('table', { name: 'Runs' }).locator('td.status').first()).toHaveText('running', {
    timeout: 120_000,
  });
  await expect(page.getByRole('figure', { name: 'Loss — SGD' })).toBeVisible();
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  await expect(page.getByRole('status', { name: 'Sweep status' })).toHaveText('Stopped', { timeout: 60_000 });
  const statuses = await page.getByRole('table', { name: 'Runs' }).locator('td.status').allTextContents();
  expect(statuses).toHaveLength(4);
  for (const s of statuses) expect(s).toMatch(/^stopped/);
  const history = page.getByRole('list', { name: 'Past sweeps' });
  await expect(history.locator('li').first()).toContainText('stopped');
  await history
    .getByRole('button', { name: /^Delete/ })
    .first()
    .click();
  await expect(page.getByRole('list', { name: 'Past sweeps' })).toHaveCount(0);
  await expect(page.getByRole('link', { name: 'History (0)' })).toBeVisible();
});

test('a reload during a sweep offers to resume it from its last checkpoint', async ({ page }) => {
  await page.goto(
    '/?model=lab-gpt-tiny&data=devils-dictionary.txt&steps=100&batch=2&seq=16&lrs=1e-3,1e-2&opt=adamw,riemannian-adamw',
  );
  await expect(page.getByLabel('Dataset preview')).toContainText('devils-dictionary.txt');
  await page.getByRole('button', { name: 'Start sweep' }).click();
  await expect(page.getByLabel('Speed')).toContainText(/saved at step \d+/, { timeout: 120_000 });
  await page.reload();
  const panel = page.getByRole('region', { name: 'Interrupted sweep' });
  await expect(panel).toContainText(/saved at step \d+ of 100/);
  const saved = Number((await panel.textContent())!.match(/saved at step (\d+)/)![1]);
  await panel.getByRole('button', { name: `Resume from step ${saved}` }).click();
  await expect(page.getByRole('status', { name: 'Sweep status' })).toHaveText('Training', {
    timeout: 120_000,
  });
  // The curves up to the checkpoint come back, and training goes on after it.
  const adamw = page.getByRole('figure', { name: 'Loss — AdamW' }).locator('[data-run-id]');
  await expect(adamw).toHaveCount(2);
  await expect
    .poll(async () => Number((await page.getByText(/^Step \d+ \/ 100$/).textContent())!.split(' ')[1]), {
      timeout: 60_000,
    })
    .toBeGreaterThan(saved);
  const raw = await page.getByRole('figure', { name: 'Loss — AdamW' }).getAttribute('data-points');
  expect(Number(raw)).toBeGreaterThan(2 * saved);
  await page.getByRole('button', { name: 'Stop', exact: true }).click();
  await expect(page.getByRole('status', { name: 'Sweep status' })).toHaveText('Stopped', { timeout: 60_000 });
  await expect(page.getByRole('region', { name: 'Interrupted sweep' })).toHaveCount(0);
});
