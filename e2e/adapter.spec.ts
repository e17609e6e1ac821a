import { expect, test } from '@playwright/test';

test('the page loads on localhost and names the WebGPU adapter it got', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('heading', { name: 'LoRA Lab' })).toBeVisible();
  const status = page.getByRole('status', { name: 'GPU' });
  await expect(status).toContainText(/WebGPU adapter: .+/);
  await expect(status).not.toContainText('not available');
});
