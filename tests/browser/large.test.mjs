// A 10 MiB .evtx made of real chunks (tests/fixtures/corpus/system.evtx repeated, then the
// rdp-cert-keys sample's chunks: see evtx.mjs) is read through the file input and gives the
// sample's finding, the same event count as the native fixer, and stays within the page's
// worker. The time from choosing it to the findings on screen is recorded as a test
// artifact (large-10mib.json) and printed; it is a measurement, not a pass/fail threshold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, truncateSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  launch,
  openPage,
  appReady,
  chooseFiles,
  analyse,
  analysisFinished,
  findingIds,
  fixture,
  sampleFile,
  inputStatus,
  errorTexts,
  ARTIFACTS,
} from './harness.mjs';
import { makeLargeEvtx } from './evtx.mjs';
import { launchForMeasuring, openMeasuredPage, measureAnalysis } from './measure.mjs';
import { diagnoseNative } from './native.mjs';

test('a 10 MiB real-content .evtx chosen through the file input gives its finding', async (t) => {
  const out = join(mkdtempSync(join(tmpdir(), 'rdpfix-large-')), 'System-10MiB.evtx');
  const made = makeLargeEvtx({
    out,
    bytes: 10 * 1024 * 1024,
    filler: fixture('corpus/system.evtx'),
    tail: sampleFile('rdp-cert-keys.evtx'),
  });
  const native = diagnoseNative([out]);
  const browser = await launchForMeasuring();
  try {
    const { page, problems } = await openMeasuredPage(browser);
    const m = await measureAnalysis(page, out);
    const record = { file: 'System-10MiB.evtx', ...made, ...m, chromium: browser.version() };
    writeFileSync(join(ARTIFACTS, 'large-10mib.json'), `${JSON.stringify(record, null, 2)}\n`);
    t.diagnostic(JSON.stringify(record));
    assert.equal(m.state, 'done');
    assert.deepEqual(m.findings, native.findings.map((f) => f.id).sort());
    assert.deepEqual(m.findings, ['rdp-cert-keys']);
    assert.equal(m.events, native.inputs[0].events);
    const [row] = await inputStatus(page);
    assert.equal(row.skipped, native.inputs[0].skipped);
    assert.equal(row.sha256, native.inputs[0].sha256);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    rmSync(out, { force: true });
  }
});

test('a large file shows progress and can be cancelled; the page then works as before', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'rdpfix-cancel-')), 'System-128MiB.evtx');
  makeLargeEvtx({
    out,
    bytes: 128 * 1024 * 1024,
    filler: fixture('corpus/system.evtx'),
    tail: sampleFile('rdp-cert-keys.evtx'),
  });
  const browser = await launch();
  try {
    const { page, problems } = await openPage(browser);
    await appReady(page);
    await chooseFiles(page, [out]);
    const progress = page.getByTestId('progress');
    await progress.waitFor({ state: 'visible' });
    // It says how far it got (bytes, events) while it works.
    await page.waitForFunction(
      () => /\d/.test(document.querySelector('[data-testid="progress"]')?.textContent ?? ''),
    );
    await page.getByTestId('cancel').click();
    assert.equal(await analysisFinished(page), 'cancelled');
    assert.deepEqual(await findingIds(page), []);
    await progress.waitFor({ state: 'detached' });
    assert.equal(
      await analyse(page, () => page.locator('button[data-sample="rdp-broker-renamed"]').click()),
      'done',
    );
    assert.deepEqual(await findingIds(page), ['rdp-broker-renamed']);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    rmSync(out, { force: true });
  }
});

// Read batch by batch (a .evtx of more than 16 chunks): a damaged real log (records the
// parser rejects, from the corpus) repeated, the sample's chunks, then the file cut inside
// its last chunk. Every figure the input row shows, and its SHA-256, equal the native read,
// whether the worker hashes the file after posting the findings or lends the bytes it reads
// to its hashing helper.
test('a damaged, truncated large .evtx read batch by batch reads as natively', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'rdpfix-split-')), 'RdpCoreTS-damaged.evtx');
  makeLargeEvtx({
    out,
    bytes: 6 * 1024 * 1024,
    filler: fixture('corpus/2-vss_0-Microsoft-Windows-RemoteDesktopServices-RdpCoreTS%4Operational.evtx'),
    tail: sampleFile('rdp-cert-keys.evtx'),
  });
  truncateSync(out, statSync(out).size - 40_000);
  const native = diagnoseNative([out]);
  const [input] = native.inputs;
  assert.ok(input.skipped > 0, 'the filler has records the parser rejects');
  assert.ok(input.truncated, 'the file is cut inside a chunk');
  const browser = await launch();
  try {
    for (const hashing of ['after', 'helper']) {
      const { page, problems } = await openPage(browser, `?hashing=${hashing}`);
      await appReady(page);
      assert.equal(await analyse(page, () => chooseFiles(page, [out])), 'done');
      assert.deepEqual(await findingIds(page), native.findings.map((f) => f.id).sort());
      const [row] = await inputStatus(page);
      assert.equal(row.events, input.events);
      assert.equal(row.skipped, input.skipped);
      assert.equal(row.errors, input.errors);
      assert.equal(row.sha256, input.sha256, `${hashing}: sha256`);
      if (hashing === 'helper') assert.ok(row.spent.helper_ms > 0, 'the helper hashed it');
      else assert.equal(row.spent.helper_ms, 0, 'hashed in the analysis worker, after');
      assert.ok(
        (await errorTexts(page)).some((e) => e.includes('RdpCoreTS-damaged.evtx')),
        'the damage is said in words',
      );
      assert.deepEqual(problems, []);
      await page.context().close();
    }
  } finally {
    await browser.close();
    rmSync(out, { force: true });
  }
});

// The findings do not wait for the logs' SHA-256: the worker posts them, then the digests,
// which only the signed plan needs. Until they come the fix panel says so, and how far the
// hashing is, and offers no signing; then the plan is there and names the same digest as
// the native read.
test('the findings come before the hashes, and the plan waits for them', async () => {
  const out = join(mkdtempSync(join(tmpdir(), 'rdpfix-hashing-')), 'System-32MiB.evtx');
  makeLargeEvtx({
    out,
    bytes: 32 * 1024 * 1024,
    filler: fixture('corpus/system.evtx'),
    tail: sampleFile('rdp-cert-keys.evtx'),
  });
  const native = diagnoseNative([out]);
  const browser = await launch();
  try {
    const { page, problems } = await openPage(browser, '?hashing=after');
    await appReady(page);
    await page.evaluate(() => {
      const seen = {
        findingsWhileHashing: false,
        placeholder: false,
        signWithPlaceholder: false,
        howFar: false,
      };
      window.__seen = seen;
      new MutationObserver(() => {
        const r = document.querySelector('[data-testid="results"]');
        const hashing = document.querySelector('[data-testid="hashing"]');
        const placeholder = hashing !== null;
        seen.placeholder ||= placeholder;
        // The worker says how far it is ("… 1.0 MiB of 32.0 MiB …") after its first MiB.
        seen.howFar ||= / of 32\.0 MiB/.test(hashing?.textContent ?? '');
        seen.signWithPlaceholder ||= placeholder && document.querySelector('[data-testid="sign"]') !== null;
        seen.findingsWhileHashing ||=
          r?.getAttribute('data-state') === 'done' &&
          r.getAttribute('data-hashing') === 'true' &&
          document.querySelector('[data-finding-id]') !== null;
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
    assert.equal(await analyse(page, () => chooseFiles(page, [out])), 'done');
    const seen = await page.evaluate(() => window.__seen);
    assert.deepEqual(seen, {
      findingsWhileHashing: true,
      placeholder: true,
      signWithPlaceholder: false,
      howFar: true,
    });
    assert.deepEqual(await findingIds(page), ['rdp-cert-keys']);
    await page.getByTestId('sign').waitFor();
    assert.equal(await page.getByTestId('hashing').count(), 0);
    const [row] = await inputStatus(page);
    assert.equal(row.sha256, native.inputs[0].sha256);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    rmSync(out, { force: true });
  }
});
