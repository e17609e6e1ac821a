// A finished sweep on the built-in data, photographed for the README (docs/screenshot.png):
// both loss panels and the robustness chart in view at 1440×900.
import { expect, test } from '@playwright/test';

test('screenshot of a finished sweep', async ({ page }) => {
  test.setTimeout(300_000);
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(
    '/?model=lab-gpt-tiny&data=e2e-restaurants.jsonl&steps=24&batch=2&seq=32&lrmin=1e-4&lrmax=1e-1&lrn=4' +
      '&lrs=1e-4,1e-3,1e-2,1e-1,3&opt=adamw,riemannian-adamw&valevery=6&smooth=0.8&y=linear',
  );
  await expect(page.getByLabel('Dataset preview')).toContainText('e2e-restaurants.jsonl');
  await page.getByRole('button', { name: 'Start sweep' }).click();
  await expect(page.getByRole('status', { name: 'Sweep status' })).toHaveText('Finished', {
    timeout: 280_000,
  });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: 'docs/screenshot.png' });
});
