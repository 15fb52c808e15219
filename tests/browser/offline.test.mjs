// The offline copy (static/sw.js, filled in by `cargo xtask dist`): once the page has been
// loaded, it reloads and analyses logs with the network gone — the admin's network may be
// the thing that is broken. A new release is a new sw.js: the page offers it, switching
// reloads into it and deletes the old cache; a release whose files do not match the
// SHA-384 its sw.js lists is not installed, and the copy in use goes on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  launch,
  openPage,
  appReady,
  analyse,
  chooseFiles,
  findingIds,
  sampleFile,
  serveDir,
  DIST,
} from './harness.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** Opens the page with its service worker allowed and waits until it controls the page. */
async function controlled(base) {
  const opened = await openPage(browser, '', { serviceWorkers: 'allow', base });
  const { page } = opened;
  await appReady(page);
  await page.evaluate(() => navigator.serviceWorker.ready);
  // The first visit is not controlled (no clients.claim()): the next load is.
  await page.reload();
  await appReady(page);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  return opened;
}

const cacheNames = (page) => page.evaluate(() => caches.keys());

test('once loaded, the page reloads and analyses a log with the network gone', async () => {
  const { page, context, problems } = await controlled();
  await context.setOffline(true);
  await page.reload();
  await appReady(page);
  assert.equal(await page.getByTestId('offline').getAttribute('data-offline'), 'true');
  const file = sampleFile('rdp-tls-disabled.evtx');
  assert.equal(await analyse(page, () => chooseFiles(page, [file])), 'done');
  assert.deepEqual(await findingIds(page), ['rdp-tls-disabled']);
  // Offline the host cannot be asked for its headers: said, not guessed.
  const unknown = await page
    .locator('[data-testid="protection"][data-state="unknown"]')
    .evaluateAll((rows) => rows.map((r) => r.dataset.id).sort());
  assert.deepEqual(unknown, ['corp', 'csp-header', 'nosniff']);
  // What failed is the network alone (the headers' HEAD request).
  assert.deepEqual(
    problems.filter((p) => !/ERR_INTERNET_DISCONNECTED/.test(p)),
    [],
  );
  await context.close();
});

/** A private copy of dist/ served with no headers, for a test that changes it. */
async function copyOfSite() {
  const dir = mkdtempSync(join(tmpdir(), 'rdpfix-offline-'));
  cpSync(DIST, dir, { recursive: true });
  const site = await serveDir(dir);
  return {
    dir,
    site,
    close: async () => {
      await site.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const sri = (bytes) => `sha384-${createHash('sha384').update(bytes).digest('base64')}`;

/**
 * Makes the copy a "new release": `build-info.json` names `version`, and sw.js lists its new
 * SHA-384 (unless `stale`) under a new cache name.
 */
function release(dir, version, { stale = false } = {}) {
  const infoPath = join(dir, 'build-info.json');
  const before = readFileSync(infoPath);
  const after = Buffer.from(JSON.stringify({ ...JSON.parse(before), version }, null, 2));
  writeFileSync(infoPath, after);
  let sw = readFileSync(join(dir, 'sw.js'), 'utf8');
  assert.ok(sw.includes(sri(before)), 'sw.js lists build-info.json');
  if (!stale) sw = sw.replace(sri(before), sri(after));
  sw = sw.replace(/const CACHE = "([^"]+)";/, `const CACHE = "$1-${version}";`);
  writeFileSync(join(dir, 'sw.js'), sw);
}

test('a new release is offered, switched to on a click, and the old cache deleted', async () => {
  const copy = await copyOfSite();
  try {
    const { page, context } = await controlled(copy.site.url);
    const [old] = await cacheNames(page);
    assert.match(old, /^rdpfix-/);
    const oldVersion = await page.getByTestId('version').textContent();

    release(copy.dir, '9.9.9-next');
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration()).update());
    await page.getByTestId('update-ready').waitFor({ timeout: 30_000 });
    // Until the admin switches, the page runs the release it loaded.
    assert.equal(await page.getByTestId('version').textContent(), oldVersion);

    await Promise.all([
      page.waitForEvent('load'),
      page.getByTestId('update-ready').getByRole('button').click(),
    ]);
    await appReady(page);
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="version"]')?.textContent.includes('9.9.9-next'),
    );
    await page.waitForFunction(async () => (await caches.keys()).length === 1);
    assert.deepEqual(await cacheNames(page), [`${old}-9.9.9-next`]);
    await context.close();
  } finally {
    await copy.close();
  }
});

test('a release whose files do not match its sw.js is not installed; the old one goes on', async () => {
  const copy = await copyOfSite();
  try {
    const { page, context } = await controlled(copy.site.url);
    const names = await cacheNames(page);
    release(copy.dir, '9.9.9-changed', { stale: true });
    const outcome = await page.evaluate(async () => {
      const reg = await navigator.serviceWorker.getRegistration();
      await reg.update().catch(() => {});
      const worker = reg.installing;
      if (!worker) return 'nothing installing';
      return new Promise((ok) =>
        worker.addEventListener('statechange', () => {
          if (['redundant', 'installed', 'activated'].includes(worker.state)) ok(worker.state);
        }),
      );
    });
    assert.equal(outcome, 'redundant', 'the changed release was installed');
    assert.equal(await page.getByTestId('update-ready').count(), 0);
    assert.deepEqual(await cacheNames(page), names, 'the failed install left a cache behind');
    await page.reload();
    await appReady(page);
    assert.doesNotMatch(await page.getByTestId('version').textContent(), /9\.9\.9-changed/);
    await context.close();
  } finally {
    await copy.close();
  }
});
