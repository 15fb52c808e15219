// Logs as admins carry them off a VM: a .zip of fixer collect's folder (the layouts of
// Explorer's "Compressed folder" and of Compress-Archive, tests/fixtures/archives/) chosen in
// the file input, and the folder itself dropped on the drop zone. Each must give the findings
// of the loose files and what `fixer diagnose` gives for the same zip or folder; a bad archive
// an error in words while its sound member is still read.
//
// The folder drop is a real one: Chromium's DevTools protocol (Input.dispatchDragEvent) drops
// the path of a folder on disk, so the page walks real directory entries (webkitGetAsEntry)
// as it does when an admin drags the folder from Explorer.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  browserPerFile,
  chooseFiles,
  analyse,
  findingIds,
  inputStatus,
  errorTexts,
  fixture,
  sampleFile,
} from './harness.mjs';
import { diagnoseNative } from './native.mjs';

const fresh = browserPerFile();
const LOOSE = [fixture('corpus/Application_no_crc32.evtx'), sampleFile('rdp-cert-keys.evtx')];
let folder;
let loose;

before(() => {
  // fixer collect's folder: the two logs, and the rdpfix-logs.zip it writes beside them.
  const dir = mkdtempSync(join(tmpdir(), 'rdpfix-archives-'));
  folder = join(dir, 'rdpfix-logs');
  mkdirSync(folder);
  copyFileSync(LOOSE[0], join(folder, 'Application.evtx'));
  copyFileSync(LOOSE[1], join(folder, 'System.evtx'));
  copyFileSync(fixture('archives/explorer.zip'), join(folder, 'rdpfix-logs.zip'));
  loose = diagnoseNative(LOOSE);
});

/** The findings and the rows of the logs read (not the archive's own row) match `loose`. */
async function assertSameAsLoose(page) {
  assert.deepEqual(await findingIds(page), loose.findings.map((f) => f.id).sort());
  assert.deepEqual(await findingIds(page), ['rdp-cert-keys']);
  const logs = (await inputStatus(page)).filter((r) => r.format === 'evtx');
  assert.deepEqual(
    logs.map((r) => [r.events, r.sha256]),
    loose.inputs.map((i) => [i.events, i.sha256]),
    'each log: the events and the digest of the loose file',
  );
}

/**
 * The page's rows are `fixer diagnose --json target`'s inputs (a folder's files named by
 * their path in the dropped folder on the page, by their file name natively).
 */
async function assertSameAsNative(page, target) {
  const native = diagnoseNative([target]);
  assert.deepEqual(await findingIds(page), native.findings.map((f) => f.id).sort());
  const rows = await inputStatus(page);
  assert.equal(rows.length, native.inputs.length, JSON.stringify(rows));
  for (const [row, input] of rows.map((r, i) => [r, native.inputs[i]])) {
    assert.ok(row.text.includes(input.name), `${row.text} is not ${input.name}`);
    assert.deepEqual(
      [row.format, row.events, row.errors, row.sha256],
      [input.format, input.events, input.errors, input.sha256],
      input.name,
    );
  }
  return rows;
}

for (const name of ['explorer.zip', 'compress-archive.zip']) {
  test(`${name} gives the loose files' findings, as fixer diagnose does`, async () => {
    const { page, problems } = await fresh();
    const zip = fixture(`archives/${name}`);
    assert.equal(await analyse(page, () => chooseFiles(page, [zip])), 'done');
    await assertSameAsLoose(page);
    const rows = await assertSameAsNative(page, zip);
    assert.deepEqual(
      rows.map((r) => r.text.split(/zip archive|binary event log/)[0]),
      [name, `${name} › rdpfix-logs/Application.evtx`, `${name} › rdpfix-logs/System.evtx`],
    );
    assert.deepEqual(await errorTexts(page), []);
    assert.deepEqual(problems, []);
  });
}

test('a dropped folder is walked: its logs read, the zip beside them left out', async () => {
  const { page, problems } = await fresh();
  const zone = await page.getByTestId('drop-zone').boundingBox();
  const at = { x: zone.x + zone.width / 2, y: zone.y + zone.height / 2 };
  const data = { items: [], files: [folder], dragOperationsMask: 1 };
  const cdp = await page.context().newCDPSession(page);
  const state = await analyse(page, async () => {
    for (const type of ['dragEnter', 'dragOver', 'drop']) {
      await cdp.send('Input.dispatchDragEvent', { type, ...at, data });
    }
  });
  assert.equal(state, 'done');
  await assertSameAsLoose(page);
  const rows = await assertSameAsNative(page, folder);
  assert.deepEqual(
    rows.map((r) => [r.text.split(/binary event log|zip archive/)[0], r.format, r.events]),
    [
      ['rdpfix-logs/Application.evtx', 'evtx', loose.inputs[0].events],
      ['rdpfix-logs/System.evtx', 'evtx', loose.inputs[1].events],
      ['rdpfix-logs/rdpfix-logs.zip', 'zip', 0],
    ],
  );
  assert.match(rows[2].text, /not opened: it lies beside the folder's other files/);
  assert.deepEqual(problems, []);
});

test('an archive with an encrypted member: said in words, the other member read', async () => {
  // compress-archive.zip with System.evtx's "encrypted" flag set, in its local and central
  // headers (the second of each).
  const zip = Buffer.from(readFileSync(fixture('archives/compress-archive.zip')));
  const headers = (sig) => {
    const at = [];
    for (let i = zip.indexOf(sig); i >= 0; i = zip.indexOf(sig, i + 1)) at.push(i);
    return at;
  };
  zip[headers(Buffer.from('PK\x03\x04', 'latin1'))[1] + 6] |= 1;
  zip[headers(Buffer.from('PK\x01\x02', 'latin1'))[1] + 8] |= 1;
  const path = join(mkdtempSync(join(tmpdir(), 'rdpfix-locked-')), 'locked.zip');
  writeFileSync(path, zip);
  const { page, problems } = await fresh();
  assert.equal(await analyse(page, () => chooseFiles(page, [path])), 'done');
  const errors = await errorTexts(page);
  assert.ok(
    errors.some((e) => e.includes('locked.zip') && /System\.evtx: skipped: it is encrypted/.test(e)),
    JSON.stringify(errors),
  );
  const rows = await assertSameAsNative(page, path);
  assert.equal(rows.length, 2);
  assert.equal(rows[1].events, loose.inputs[0].events, 'Application.evtx was read');
  assert.deepEqual(await findingIds(page), []);
  assert.deepEqual(problems, []);
});
