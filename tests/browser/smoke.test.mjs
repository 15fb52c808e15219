// The page loads, the wasm module starts and the Yew app renders: proves the bundle works in
// a real browser, not only that index.html was served.
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
    await page.screenshot({ path: join(ARTIFACTS, 'smoke.png'), fullPage: true });
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
  }
});
