// Offline registry hives (an OS disk attached to a rescue VM: Windows\System32\config\SYSTEM
// and SOFTWARE) chosen in the file input like logs: read in the browser into the
// configuration snapshot, with the findings, rows and digests `fixer diagnose --json` gives
// for the same files. The hives are the fixtures of tests/fixtures/hives (testkit's regf
// writer; each also reads back with hivexsh). Nothing may leave the page while it works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  browserPerFile,
  chooseFiles,
  analyse,
  findingIds,
  inputStatus,
  foreignRequests,
  fixture,
} from './harness.mjs';
import { diagnoseNative } from './native.mjs';

const fresh = browserPerFile();

/** The fixture hives, copied under their Windows names (the page sees the file name). */
function hives(...rels) {
  const dir = mkdtempSync(join(tmpdir(), 'rdpfix-hives-'));
  return rels.map((rel, i) => {
    const sub = join(dir, String(i));
    mkdirSync(sub);
    const path = join(sub, rel.split('/').pop());
    copyFileSync(fixture(`hives/${rel}`), path);
    return path;
  });
}

async function assertSameAsNative(page, files, expected) {
  const native = diagnoseNative(files);
  const ids = await findingIds(page);
  assert.deepEqual(ids, native.findings.map((f) => f.id).sort());
  assert.deepEqual(ids, expected);
  const rows = await inputStatus(page);
  assert.equal(rows.length, native.inputs.length, JSON.stringify(rows));
  for (const [i, input] of native.inputs.entries()) {
    assert.equal(rows[i].format, 'registry-hive', JSON.stringify(rows[i]));
    assert.equal(input.format, 'registry-hive');
    assert.equal(rows[i].errors, input.errors, `${input.name}: errors`);
    assert.equal(rows[i].sha256, input.sha256, `${input.name}: sha256`);
  }
}

test('a SYSTEM hive chosen like a log gives its configuration finding', async () => {
  const { page, problems, requests } = await fresh();
  const files = hives('port-changed/SYSTEM');
  assert.equal(await analyse(page, () => chooseFiles(page, files)), 'done');
  await assertSameAsNative(page, files, ['rdp-config-port-changed']);
  assert.deepEqual(foreignRequests(requests), []);
  assert.deepEqual(problems, []);
});

test('a SYSTEM and a SOFTWARE hive of one machine are read together', async () => {
  const { page, problems, requests } = await fresh();
  const files = hives('healthy/SYSTEM', 'rdp-disabled-policy/SOFTWARE');
  assert.equal(await analyse(page, () => chooseFiles(page, files)), 'done');
  await assertSameAsNative(page, files, ['rdp-config-disabled-by-policy']);
  assert.deepEqual(foreignRequests(requests), []);
  assert.deepEqual(problems, []);
});
