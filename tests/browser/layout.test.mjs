// For people on a phone or in dark mode: at phone width the page, with a finding and its
// plan on screen, needs no sideways scrolling; with the system in dark mode the page is dark.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browserPerFile, analyse, findingIds, screenshot } from './harness.mjs';

const fresh = browserPerFile();

/** The relative luminance (0 black … 1 white) of an element's computed background. */
function luminance(page, selector) {
  return page.evaluate((sel) => {
    let el = document.querySelector(sel);
    let bg = 'rgba(0, 0, 0, 0)';
    while (el) {
      bg = getComputedStyle(el).backgroundColor;
      if (!/rgba\(.*, 0\)$|transparent/.test(bg)) break;
      el = el.parentElement;
    }
    const [r, g, b] = bg.match(/[\d.]+/g).slice(0, 3).map(Number);
    const lin = (c) => ((c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  }, selector);
}

test('at phone width a finding and its plan fit the screen', async () => {
  const { page, problems } = await fresh({ viewport: { width: 375, height: 740 } });
  assert.equal(
    await analyse(page, () => page.locator('button[data-sample="rdp-cert-keys"]').click()),
    'done',
  );
  assert.deepEqual(await findingIds(page), ['rdp-cert-keys']);
  const overflow = await page.evaluate(
    () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
  );
  await screenshot(page, 'phone-results');
  assert.ok(overflow <= 1, `the page scrolls sideways by ${overflow}px at 375px`);
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('the page follows the system dark mode', async () => {
  const light = await fresh();
  const dark = await fresh();
  await dark.page.emulateMedia({ colorScheme: 'dark' });
  await light.page.emulateMedia({ colorScheme: 'light' });
  const [l, d] = [await luminance(light.page, 'main'), await luminance(dark.page, 'main')];
  assert.ok(l > 0.5, `light background luminance ${l}`);
  assert.ok(d < 0.2, `dark background luminance ${d}`);
  await screenshot(dark.page, 'empty-dark');
  assert.deepEqual([...light.problems, ...dark.problems], []);
  await light.page.context().close();
  await dark.page.context().close();
});
