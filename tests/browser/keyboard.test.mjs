// The main path by keyboard alone: Tab to a control, Enter or Space to use it — a sample,
// then the key, the signature and the fix command's copy button. Every control met on the
// way has a name a screen reader can say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browserPerFile, analyse, findingIds, screenshot } from './harness.mjs';

const fresh = browserPerFile();

/** Presses Tab until `locator` has the focus; fails if it never gets it. */
async function tabTo(page, locator, limit = 300) {
  const target = await locator.elementHandle();
  assert.ok(target, 'the control is not on the page');
  for (let i = 0; i < limit; i++) {
    if (await page.evaluate((el) => el === document.activeElement, target)) return i;
    await page.keyboard.press('Tab');
  }
  assert.fail(`${locator} was not reached with Tab in ${limit} presses`);
}

/** Controls without a name a screen reader could say. */
async function unnamedControls(page) {
  return page.evaluate(() => {
    const name = (el) =>
      el.getAttribute('aria-label') ||
      (el.getAttribute('aria-labelledby') &&
        document.getElementById(el.getAttribute('aria-labelledby'))?.textContent) ||
      [...(el.labels ?? [])].map((l) => l.textContent).join(' ') ||
      (el.tagName === 'BUTTON' || el.tagName === 'A' ? el.textContent : '') ||
      el.getAttribute('title') ||
      '';
    return [...document.querySelectorAll('button, a[href], input, select, textarea')]
      .filter((el) => el.type !== 'hidden' && !name(el).trim())
      .map((el) => el.outerHTML.slice(0, 120));
  });
}

test('keyboard: a sample to its finding', async () => {
  const { page, problems } = await fresh();
  assert.deepEqual(await unnamedControls(page), []);
  await page.locator('body').focus();
  await tabTo(page, page.locator('button[data-sample="rdp-tls-disabled"]'));
  assert.equal(await analyse(page, () => page.keyboard.press('Enter')), 'done');
  assert.deepEqual(await findingIds(page), ['rdp-tls-disabled']);
  await tabTo(page, page.locator('button[data-sample="healthy"]'));
  await page.keyboard.press('Space');
  await page.getByTestId('nothing-found').waitFor();
  assert.deepEqual(await findingIds(page), []);
  assert.deepEqual(await unnamedControls(page), []);
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('keyboard: key, signature and copying the fix command', async () => {
  const { page, problems } = await fresh({ clipboard: true });
  await page.locator('body').focus();
  await tabTo(page, page.locator('button[data-sample="rdp-cert-keys"]'));
  assert.equal(await analyse(page, () => page.keyboard.press('Enter')), 'done');
  await tabTo(page, page.getByTestId('create-key'));
  await page.keyboard.press('Enter');
  await page.getByTestId('key-fingerprint').waitFor();
  await tabTo(page, page.getByTestId('sign'));
  await page.keyboard.press('Enter');
  const fix = page.getByTestId('fix-command');
  await fix.waitFor();
  await page.evaluate(() => navigator.clipboard.writeText(''));
  const copy = fix
    .locator('xpath=ancestor::*[.//button][1]')
    .getByRole('button', { name: /copy/i })
    .first();
  await tabTo(page, copy);
  await page.keyboard.press('Enter');
  await page.waitForFunction(async () => (await navigator.clipboard.readText()) !== '');
  assert.equal(
    await page.evaluate(() => navigator.clipboard.readText()),
    (await fix.textContent()).trim(),
  );
  await screenshot(page, 'keyboard-plan');
  assert.deepEqual(await unnamedControls(page), []);
  assert.deepEqual(problems, []);
  await page.context().close();
});
