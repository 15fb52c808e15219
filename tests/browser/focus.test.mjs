// When the results arrive, they come into view: the page scrolls to the diagnosis and moves
// focus to its heading (keyboard and screen-reader users continue from there), and a status
// line says the verdict. Not while the user is typing in a field: the focus, the caret and
// the scroll position stay, and only the status line speaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browserPerFile, analyse, chooseFiles, findingIds, sampleFile } from './harness.mjs';

const fresh = browserPerFile();

/** A phone's screen: the diagnosis starts well below the fold. */
const PHONE = { width: 390, height: 700 };

/** Where the results heading is against the viewport, and what has the focus. */
function where(page) {
  return page.evaluate(() => {
    const h = document.getElementById('results-title');
    const r = h.getBoundingClientRect();
    const a = document.activeElement;
    return {
      top: r.top,
      inView: r.top >= 0 && r.bottom <= window.innerHeight,
      scrollY: window.scrollY,
      focus: a === h ? 'results-title' : a?.id || a?.tagName.toLowerCase(),
      announced: document.querySelector('[data-testid="results-announcement"]').textContent,
    };
  });
}

test('results come into view with the focus on their heading, after a sample chosen by keyboard', async () => {
  const { page, problems } = await fresh({ viewport: PHONE });
  const before = await where(page);
  assert.equal(before.inView, false, `the diagnosis is already on screen: ${JSON.stringify(before)}`);
  assert.equal(before.announced, '');
  const sample = page.locator('button[data-sample="rdp-tls-disabled"]');
  await sample.focus();
  assert.equal(await analyse(page, () => page.keyboard.press('Enter')), 'done');
  // The scroll may be smooth: wait for it to end.
  await page.waitForFunction(() => {
    const r = document.getElementById('results-title').getBoundingClientRect();
    return r.top >= 0 && r.bottom <= window.innerHeight;
  });
  const after = await where(page);
  assert.equal(after.focus, 'results-title', JSON.stringify(after));
  assert.match(after.announced, /^Diagnosis ready: /);
  // Tab goes on from the diagnosis, not from the top of the page.
  await page.keyboard.press('Tab');
  const next = await page.evaluate(() =>
    Boolean(
      document.getElementById('results-title').compareDocumentPosition(document.activeElement) &
        Node.DOCUMENT_POSITION_FOLLOWING,
    ),
  );
  assert.ok(next, 'Tab after the results heading went back up the page');
  assert.deepEqual(problems, []);
  await page.context().close();
});

/** In the page, before its scripts: notes when a worker posts its answer drawn ahead. */
function watchWarm() {
  window.__warmAt = null;
  const Native = window.Worker;
  window.Worker = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        if (typeof e.data === 'object' && typeof e.data?.warm === 'string') window.__warmAt ??= performance.now();
      });
    }
  };
}

test('the answer drawn ahead of time is never seen, heard or focused', async () => {
  const { page, problems } = await fresh({ viewport: PHONE, init: [watchWarm] });
  // The analysis worker posts its answer for the chunks it read ahead; the page draws it
  // when idle, into an element in no document, and ends it a second later.
  await page.waitForFunction(() => window.__warmAt !== null, null, { timeout: 30_000 });
  await page.waitForTimeout(1500);
  const seen = await page.evaluate(() => ({
    results: document.querySelectorAll('[data-testid="results"]').length,
    state: document.querySelector('[data-testid="results"]').dataset.state,
    findings: document.querySelectorAll('[data-finding-id]').length,
    focus: document.activeElement?.tagName.toLowerCase(),
    scrollY: window.scrollY,
  }));
  assert.deepEqual(seen, { results: 1, state: 'idle', findings: 0, focus: 'body', scrollY: 0 });
  assert.equal((await where(page)).announced, '');
  // And the first real answer is this one, not the one drawn ahead.
  const sample = page.locator('button[data-sample="rdp-tls-disabled"]');
  assert.equal(await analyse(page, () => sample.click()), 'done');
  assert.deepEqual(await findingIds(page), ['rdp-tls-disabled']);
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('an input the page cannot read: its error comes into view too', async () => {
  const { page, problems } = await fresh({ viewport: PHONE });
  const state = await analyse(page, () =>
    chooseFiles(page, [
      {
        name: 'cut.evtx',
        mimeType: 'application/octet-stream',
        buffer: Buffer.from('ElfFile\0 this is not the rest of a log'),
      },
    ]),
  );
  assert.ok(['done', 'error'].includes(state), state);
  await page.waitForFunction(() => {
    const h = document.getElementById('results-title');
    const r = h.getBoundingClientRect();
    return document.activeElement === h && r.top >= 0 && r.bottom <= window.innerHeight;
  });
  const errors = page.getByTestId('results').getByTestId('error');
  assert.match(await errors.first().textContent(), /cut\.evtx/);
  assert.ok(await errors.first().isVisible());
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('typing in a field keeps the focus and the scroll when the results arrive', async () => {
  const { page, problems } = await fresh({ viewport: PHONE });
  const vm = page.getByTestId('vm');
  await vm.click();
  await page.keyboard.type('vm-app-0');
  const before = await where(page);
  assert.equal(before.focus, 'vm');
  // Files chosen while the caret is in the field (a drop, or a script): the analysis ends
  // while the user types.
  const state = await analyse(page, () =>
    chooseFiles(page, [sampleFile('rdp-tls-disabled.evtx')]),
  );
  assert.equal(state, 'done');
  await page.getByTestId('results-announcement').filter({ hasText: 'Diagnosis ready' }).waitFor();
  await page.keyboard.type('2');
  const after = await where(page);
  assert.equal(after.focus, 'vm', JSON.stringify(after));
  assert.equal(after.scrollY, before.scrollY, 'the page scrolled under the typing user');
  assert.equal(await vm.inputValue(), 'vm-app-02');
  assert.deepEqual(problems, []);
  await page.context().close();
});
