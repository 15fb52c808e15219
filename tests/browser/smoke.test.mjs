// The page loads, the wasm module starts and the Yew app renders: proves the bundle works in
// a real browser, not only that index.html was served. With nothing loaded the page offers
// its inputs, the collection commands and the privacy line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { launch, openPage, ARTIFACTS } from './harness.mjs';

test('the Yew app renders in headless Chromium', async () => {
  const browser = await launch();
  try {
    const { page, problems } = await openPage(browser);
    const app = page.locator('[data-testid="app-ready"]');
    await app.waitFor({ state: 'attached', timeout: 30_000 });
    // The loading placeholder from index.html is gone: app.js replaced it after init.
    assert.equal(await page.locator('#loading').count(), 0);
    const version = await page.locator('.version').textContent();
    assert.match(version ?? '', /analyzer \d+\.\d+\.\d+/);
    assert.match(await page.getByTestId('privacy').textContent(), /nothing leaves this browser/i);
    const input = page.getByTestId('drop-zone').locator('input[type="file"]');
    assert.equal(await input.count(), 1);
    assert.equal(await input.evaluate((e) => e.multiple), true);
    assert.ok((await page.getByTestId('collect-commands').locator('code').count()) > 3);
    // The block that fits Run Command's tail, for a VM where fixer.exe already is.
    assert.equal(await page.getByTestId('collect-compact').textContent(), 'fixer.exe collect --compact');
    for (const name of ['rdp-cert-keys', 'rdp-tls-disabled', 'rdp-broker-renamed', 'healthy']) {
      assert.equal(await page.locator(`button[data-sample="${name}"]`).count(), 1, name);
    }
    // The build says which fixer.exe it offers (or that it has none) without a 404.
    await page.getByTestId('fixer-sha256').filter({ hasNotText: 'loading' }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'smoke.png'), fullPage: true });
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});
