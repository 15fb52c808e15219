// Log text is only ever text: event descriptions holding `<script>`, an `<img onerror>`, an
// `<iframe srcdoc>` and a `<b id>` (tests/fixtures/browser/markup-in-event-data.txt) show up
// on screen as the characters they are, and none of them becomes an element or runs. No CSP
// violation may be reported either: the markup must never reach the DOM as markup, not
// merely be stopped by the CSP once it does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { browserPerFile, chooseFiles, analyse, findingIds, fixture } from './harness.mjs';

const FILE = fixture('browser/markup-in-event-data.txt');

const fresh = browserPerFile();

async function assertRenderedAsText(page, problems, trigger) {
  assert.equal(await analyse(page, trigger), 'done');
  assert.deepEqual(await findingIds(page), ['rdp-cert-keys']);
  const seen = await page.evaluate(() => {
    const results = document.querySelector('[data-testid="results"]');
    return {
      pwned: window.__rdpfixPwned ?? null,
      scripts: results.querySelectorAll('script').length,
      images: results.querySelectorAll('img').length,
      iframes: document.querySelectorAll('iframe').length,
      injected: document.getElementById('rdpfix-injected') !== null,
      violations: window.__violations,
      text: results.textContent,
    };
  });
  assert.equal(seen.pwned, null, 'markup from the log ran');
  assert.deepEqual(
    { scripts: seen.scripts, images: seen.images, iframes: seen.iframes, injected: seen.injected },
    { scripts: 0, images: 0, iframes: 0, injected: false },
  );
  assert.deepEqual(seen.violations, []);
  assert.ok(seen.text.includes('<script>window.__rdpfixPwned = "script"</script>'), 'script text');
  assert.ok(seen.text.includes('<b id="rdpfix-injected">has failed</b>'), 'bold text');
  // Visible to a person, not only present in the DOM.
  await page.getByText('<script>window.__rdpfixPwned', { exact: false }).first().waitFor();
  assert.deepEqual(problems, []);
}

async function open() {
  const opened = await fresh();
  await opened.page.evaluate(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__violations.push(e.effectiveDirective),
    );
  });
  return opened;
}

test('markup in event data chosen as a file renders as text and never runs', async () => {
  const { page, problems } = await open();
  await assertRenderedAsText(page, problems, () => chooseFiles(page, [FILE]));
  await page.context().close();
});

test('markup in pasted event data renders as text and never runs', async () => {
  const { page, problems } = await open();
  await page.getByTestId('paste-box').fill(readFileSync(FILE, 'utf8'));
  await assertRenderedAsText(page, problems, () => page.getByTestId('paste-analyse').click());
  await page.context().close();
});
