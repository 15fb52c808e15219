// Subresource integrity: `cargo xtask dist` writes the SHA-384 of app.js, pkg/web.js, the
// style sheet and the wasm into index.html, so a copy of any of them changed on the way
// (a CDN, a proxy, a tampered storage account) is refused and the page does not run it.
// Each file is changed by one byte-level edit on its way to the browser (a playwright route),
// with the page's CSP and headers as served.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browserPerFile, launch, openPage, appReady } from './harness.mjs';
import { before, after } from 'node:test';

const fresh = browserPerFile();
let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('index.html carries the integrity of everything it loads, and the page runs', async () => {
  const { page, problems } = await fresh();
  const sri = await page.evaluate(() => ({
    app: document.querySelector('script[src="app.js"]')?.integrity,
    wasm: document.querySelector('script[src="app.js"]')?.dataset.wasmIntegrity,
    glue: document.querySelector('link[rel="modulepreload"][href="pkg/web.js"]')?.integrity,
    css: document.querySelector('link[rel="stylesheet"][href="style.css"]')?.integrity,
  }));
  for (const [what, value] of Object.entries(sri)) {
    assert.match(value ?? '', /^sha384-[A-Za-z0-9+/]{64}$/, `${what}: ${value}`);
  }
  assert.deepEqual(problems, []);
  await page.context().close();
});

/** Opens the page with `file`'s body changed in transit; returns what it shows. */
async function tampered(file, change) {
  const route = async (r) => {
    const response = await r.fetch();
    const body = change(await response.body());
    await r.fulfill({ response, body });
  };
  const opened = await openPage(browser, '', { routes: [[`**/${file}`, route]] });
  const { page } = opened;
  // Long enough for the page to load, compile and mount had it been accepted.
  await page.waitForTimeout(3_000);
  const ready = await page.getByTestId('app-ready').count();
  const banner = await page.locator('.banner.error').allTextContents();
  await page.context().close();
  return { ready, banner, problems: opened.problems };
}

const appendComment = (body) => Buffer.concat([body, Buffer.from('\n// changed\n')]);

test('a changed app.js is refused: the page does not run it', async () => {
  const { ready, problems } = await tampered('app.js', appendComment);
  assert.equal(ready, 0, 'the app mounted from a changed app.js');
  assert.ok(
    problems.some((p) => /integrity/i.test(p)),
    `no integrity error: ${JSON.stringify(problems)}`,
  );
});

test('a changed pkg/web.js is refused: app.js does not import it', async () => {
  const { ready, problems } = await tampered('pkg/web.js', appendComment);
  assert.equal(ready, 0, 'the app mounted with a changed pkg/web.js');
  assert.ok(problems.some((p) => /integrity/i.test(p)), JSON.stringify(problems));
});

test('a changed wasm module is refused, and the page says it could not start', async () => {
  const { ready, banner } = await tampered('pkg/web_bg.wasm', (body) => {
    const copy = Buffer.from(body);
    copy[copy.length - 1] ^= 1;
    return copy;
  });
  assert.equal(ready, 0, 'the app mounted with a changed wasm module');
  assert.equal(banner.length, 1, JSON.stringify(banner));
  assert.match(banner[0], /could not start/);
});
