// Hosted where no headers can be set (GitHub Pages, an Azure Storage static website): the
// site served by a server that sends Content-Type and Content-Length and nothing else — no
// CSP header, no COOP/COEP, no nosniff. The whole flow must still work (a sample analysed,
// the key made, the plan signed and its fix command accepted by the native fixer, fixer.exe
// downloaded from the link with the SHA-256 the page shows), and the page must say which of
// the site's protections this host left out. With the site's headers, it says none is.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  launch,
  openPage,
  appReady,
  analyse,
  findingIds,
  copyFrom,
  foreignRequests,
  screenshot,
  serveDir,
  DIST,
} from './harness.mjs';
import { SimMachine, diagnoseNative, enrol, tokenOf, verify } from './native.mjs';
import { sampleFile } from './harness.mjs';

let browser;
let bare;
before(async () => {
  browser = await launch();
  bare = await serveDir(DIST);
});
after(async () => {
  await browser?.close();
  await bare?.close();
});

const SECURITY_HEADERS = [
  'content-security-policy',
  'cross-origin-opener-policy',
  'cross-origin-embedder-policy',
  'cross-origin-resource-policy',
  'x-content-type-options',
  'referrer-policy',
];

/** What the about panel says of the host's protections. */
async function protections(page) {
  const panel = page.getByTestId('protections');
  await panel.waitFor();
  return {
    missing: (await panel.getAttribute('data-missing')).split(' ').filter(Boolean).sort(),
    text: await panel.textContent(),
  };
}

test('with no headers at all the whole flow works, and the page says what is missing', async (t) => {
  const opened = await openPage(browser, '', { base: bare.url, clipboard: true });
  const { page, problems, requests } = opened;
  await appReady(page);
  const sent = await page.evaluate(async () => {
    const r = await fetch(location.href, { method: 'HEAD', cache: 'no-store' });
    return [...r.headers.keys()];
  });
  assert.deepEqual(sent.filter((h) => SECURITY_HEADERS.includes(h)), [], sent.join(', '));
  assert.equal(await page.evaluate(() => self.crossOriginIsolated), false);

  // What is missing, in words: the meta CSP cannot say frame-ancestors nor report-uri.
  const { missing, text } = await protections(page);
  assert.deepEqual(missing, ['corp', 'csp-header', 'isolation', 'nosniff']);
  assert.match(text, /<meta> tag only/);
  assert.match(text, /frame-ancestors/);
  assert.match(text, /report-uri/);
  assert.match(text, /Cross-Origin-Opener-Policy/);

  // The release it is: the version from build-info.json.
  const info = JSON.parse(readFileSync(join(DIST, 'build-info.json'), 'utf8'));
  assert.match(await page.getByTestId('version').textContent(), new RegExp(`rdpfix ${info.version.replace(/[.+]/g, '\\$&')} `));

  // A sample analysed, the key made, the plan signed; the native fixer accepts it.
  const sample = page.locator('button[data-sample="rdp-cert-keys"]');
  assert.equal(await analyse(page, () => sample.click()), 'done');
  assert.deepEqual(await findingIds(page), ['rdp-cert-keys']);
  await page.getByTestId('create-key').click();
  const fingerprint = (await page.getByTestId('key-fingerprint').textContent()).trim();
  await page.getByTestId('sign').click();
  await page.getByTestId('fix-command').waitFor();
  const trust = await copyFrom(page, 'trust-command');
  const fix = await copyFrom(page, 'fix-command');
  const computers = diagnoseNative([sampleFile('rdp-cert-keys.evtx')]).findings.flatMap((f) =>
    f.evidence.map((e) => e.computer),
  );
  const vm = new SimMachine(computers[0]);
  enrol(vm, trust, fingerprint);
  const verified = verify(vm, tokenOf(fix));
  assert.equal(verified.code, 0, JSON.stringify(verified.json));

  // fixer.exe from the page's link, with the SHA-256 the page shows.
  const shown = (await page.getByTestId('fixer-sha256').textContent()).trim();
  if (existsSync(join(DIST, 'fixer.exe'))) {
    const link = page.getByTestId('fixer-download');
    const href = await link.evaluate((a) => a.href);
    assert.equal(href, `${bare.url}fixer.exe`);
    const download = await page.evaluate(async (url) => {
      const bytes = await (await fetch(url)).arrayBuffer();
      const digest = await crypto.subtle.digest('SHA-256', bytes);
      return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
    }, href);
    const onDisk = createHash('sha256').update(readFileSync(join(DIST, 'fixer.exe'))).digest('hex');
    assert.equal(shown, onDisk, 'the page shows the SHA-256 of the fixer.exe it serves');
    assert.equal(download, onDisk, 'the link downloads that fixer.exe');
    assert.ok(readFileSync(join(DIST, 'fixer.exe.sha256'), 'utf8').startsWith(onDisk));
  } else {
    t.diagnostic('dist/ was built without fixer.exe: its download and hash not checked');
    assert.match(shown, /without fixer\.exe/);
  }

  await screenshot(page, 'hosting-no-headers');
  assert.deepEqual(foreignRequests(requests.filter((u) => !u.startsWith(bare.url))), []);
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('with the site headers the page lists no missing protection', async () => {
  const { page, problems } = await openPage(browser);
  await appReady(page);
  const { missing, text } = await protections(page);
  assert.deepEqual(missing, []);
  assert.match(text, /sends the site's security headers/);
  assert.deepEqual(problems, []);
  await page.context().close();
});
