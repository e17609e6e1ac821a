import { expect, test } from '@playwright/test';

test('the engine trains in the browser: a 3-step sweep matches the float64 model', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('status', { name: 'GPU' })).toContainText('WebGPU adapter:');
  await page.getByRole('button', { name: 'Run engine self-test' }).click();
  const result = page.getByRole('status', { name: 'Self-test' });
  await expect(result).toContainText(/Passed|FAILED|error/, { timeout: 150_000 });
  await expect(result).toContainText('Passed');
});
