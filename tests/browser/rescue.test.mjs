// A VM nothing runs on, from the page alone: the SYSTEM and SOFTWARE hives of its OS disk
// (tests/fixtures/hives, VM-APP-01's) and the disk's System log (the rdp-cert-keys sample,
// the same computer) chosen like logs give a diagnosis with configuration findings; the
// plan is for the attached disk by default (its computer, MachineGuid and control set from
// the hives), leaves out what has no offline form, and once signed the fix panel shows the
// rescue-VM sequence instead of Run Command's fix: every block with its copy button, the az
// commands naming the VM as typed, the repair script saved by the copied Cloud Shell block
// byte for byte as the download gives it, parsing as PowerShell, enrolling the page's key
// and applying the plan offline. The NATIVE fixer then does what the script has it do:
// `trust add` prints the page's fingerprint, and the token is checked (native.mjs).
//
// A page built without fixer.exe (`cargo xtask dist --no-exe`) offers no script; it is
// given a stand-in fixer SHA-256 here, as enrol.test.mjs does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import {
  analyse,
  browserPerFile,
  chooseFiles,
  copyFrom,
  findingIds,
  fixture,
  foreignRequests,
  sampleFile,
  screenshot,
} from './harness.mjs';
import { SimMachine, commandWords, diagnoseNative, enrol, fixerRuns } from './native.mjs';
import { assertParses } from './powershell.mjs';

const fresh = browserPerFile();

/** build-info.json with a stand-in fixer SHA-256 when this dist has no fixer.exe. */
async function withFixerHash(route) {
  const response = await route.fetch();
  const info = await response.json();
  const json = { ...info, fixer_sha256: info.fixer_sha256 || 'c0'.repeat(32) };
  return route.fulfill({ response, json });
}

/** The attached disk's files as a rescue VM shows them, each under its Windows name. */
function diskFiles() {
  const disk = mkdtempSync(join(tmpdir(), 'rdpfix-disk-'));
  const config = join(disk, 'Windows/System32/config');
  const logs = join(disk, 'Windows/System32/winevt/Logs');
  mkdirSync(config, { recursive: true });
  mkdirSync(logs, { recursive: true });
  const files = [join(config, 'SYSTEM'), join(config, 'SOFTWARE'), join(logs, 'System.evtx')];
  copyFileSync(fixture('hives/healthy/SYSTEM'), files[0]);
  copyFileSync(fixture('hives/rdp-disabled-policy/SOFTWARE'), files[1]);
  copyFileSync(sampleFile('rdp-cert-keys.evtx'), files[2]);
  return files;
}

/** Attaches `hives` (SYSTEM, SOFTWARE) to the simulated machine as the disk at `drive`. */
function attach(machine, drive, hives) {
  const json = JSON.parse(readFileSync(machine.file, 'utf8'));
  json.machine.disk_files = Object.fromEntries(
    hives.map((path) => [
      `${drive}\\Windows\\System32\\config\\${basename(path)}`,
      readFileSync(path).toString('hex'),
    ]),
  );
  writeFileSync(machine.file, JSON.stringify(json));
}

/** Runs a copied Cloud Shell block with bash in a new folder; returns the folder. */
function inCloudShell(block) {
  const dir = mkdtempSync(join(tmpdir(), 'rdpfix-cloudshell-'));
  const r = spawnSync('bash', ['-c', block], { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return dir;
}

test('hives and logs of an attached disk: an offline plan, signed, and the rescue sequence', async () => {
  const files = diskFiles();
  const native = diagnoseNative(files);
  const expected = native.findings.map((f) => f.id).sort();
  assert.ok(expected.includes('rdp-config-disabled-by-policy'), expected.join(', '));
  assert.ok(expected.includes('rdp-cert-keys'), expected.join(', '));

  const { page, problems, requests } = await fresh({
    clipboard: true,
    routes: [['**/build-info.json', withFixerHash]],
  });
  await page.getByTestId('rg').fill('rg-prod(weu)_01');
  await page.getByTestId('vm').fill('vm-app-01');
  assert.equal(await analyse(page, () => chooseFiles(page, files)), 'done');
  assert.deepEqual(await findingIds(page), expected);
  await page.getByTestId('configuration').waitFor();

  // The plan is for the disk by default, named by its own SYSTEM hive.
  await page.getByTestId('plan-where').waitFor();
  assert.equal(await page.getByTestId('plan-where-disk').isChecked(), true);
  assert.equal((await page.getByTestId('plan-computer-name').textContent()).trim(), 'VM-APP-01');
  const steps = await page.getByTestId('plan-step').allTextContents();
  assert.ok(steps.some((s) => /fDenyTSConnections/.test(s)), steps.join('\n'));
  await page.getByTestId('left-out').waitFor();
  // No Run Command fix for a VM nothing runs on.
  await page.getByTestId('create-key').click();
  const fingerprint = (await page.getByTestId('key-fingerprint').textContent()).trim();
  await page.getByTestId('rescue-vm').waitFor();
  assert.equal(await page.getByTestId('runcommand-enrol').count(), 0);
  assert.equal(await page.getByTestId('repair-save-0').count(), 0, 'no script before signing');

  await page.getByTestId('sign').click();
  await page.getByTestId('repair-save-0').waitFor();
  for (const id of ['snapshot', 'extension', 'create', 'save', 'run', 'check', 'restore', 'after']) {
    assert.equal(await page.getByTestId(`repair-${id}`).count(), 1, id);
  }
  await screenshot(page, 'rescue-sequence');

  // The az commands, as copied: the names as typed, the snapshot the same everywhere.
  const create = commandWords(await copyFrom(page, 'repair-create-0'));
  assert.deepEqual(create.slice(0, 4), ['az', 'vm', 'repair', 'create']);
  assert.equal(create[create.indexOf('-g') + 1], 'rg-prod(weu)_01');
  assert.equal(create[create.indexOf('-n') + 1], 'vm-app-01');
  const run = commandWords(await copyFrom(page, 'repair-run-0'));
  assert.deepEqual(run.slice(0, 4), ['az', 'vm', 'repair', 'run']);
  assert.equal(run[run.indexOf('--custom-script-file') + 1], 'rdpfix-offline.ps1');
  assert.ok(run.includes('--run-on-repair'));
  const snapshot = commandWords(await copyFrom(page, 'repair-snapshot-0'));
  const name = snapshot[snapshot.indexOf('-n') + 1];
  assert.match(name, /^vm-app-01-os-rdpfix-\d{8}T\d{4}Z$/);
  assert.ok((await copyFrom(page, 'repair-after-1')).includes(`-n '${name}'`));

  // The Cloud Shell block writes the script the download gives, byte for byte.
  const dir = inCloudShell(await copyFrom(page, 'repair-save-0'));
  const saved = readFileSync(join(dir, 'rdpfix-offline.ps1'));
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('repair-script-download').click(),
  ]);
  assert.equal(download.suggestedFilename(), 'rdpfix-offline.ps1');
  const downloaded = readFileSync(await download.path());
  assert.deepEqual(saved, downloaded);
  const script = saved.toString('ascii');
  await assertParses(script, 'the repair script');

  // What it has fixer.exe run: enrol the page's key, then apply offline, in that order.
  const runs = fixerRuns(script).map((words) => words.slice(0, words.indexOf('2>&1')));
  assert.equal(runs.length, 2, JSON.stringify(runs));
  assert.deepEqual(runs[0].slice(0, 2), ['trust', 'add']);
  assert.deepEqual(runs[1].slice(0, 4), ['apply', '--offline', 'auto', '--yes']);
  const token = runs[1][4];
  assert.match(token, /^rdpfix1\./);

  // A simulated rescue VM with the disk attached as F: (its hives), trusting nothing yet.
  const rescue = new SimMachine('rescue-vm01');
  attach(rescue, 'F:', files.slice(0, 2));
  enrol(rescue, `fixer.exe ${runs[0].map((w) => `"${w}"`).join(' ')}`, fingerprint);
  // The token is the signed plan for that disk: found by its MachineGuid, checks 1-9 pass.
  const checked = rescue.run(['--json', 'verify', '--offline', 'auto', token]);
  assert.equal(checked.code, 0, checked.stdout + checked.stderr);
  const { plan } = JSON.parse(checked.stdout);
  assert.equal(plan.computer, 'VM-APP-01', JSON.stringify(plan));
  assert.deepEqual([...plan.findings].sort(), expected);
  // Without --offline the fixer refuses it: it is not for the machine it runs on.
  const online = rescue.run(['--json', 'verify', token]);
  assert.equal(online.code, 3, online.stdout);
  assert.equal(JSON.parse(online.stdout).code, 'wrong_computer');
  // The script's apply, word for word: the fixer takes it, finds the disk and dry-runs the
  // plan on it; this simulated disk holds the hives only, so the MachineKeys steps would
  // fail and nothing is changed (exit 3, what the script reports as NOT APPLIED).
  const applied = rescue.run(runs[1]);
  assert.equal(applied.code, 3, applied.stdout + applied.stderr);
  assert.match(applied.stdout, /WOULD FAIL: F:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys: not found/);

  assert.deepEqual(foreignRequests(requests), []);
  assert.deepEqual(problems, []);
});

test('a running-VM plan from the same inputs keeps the Run Command fix', async () => {
  const { page, problems } = await fresh({
    clipboard: true,
    routes: [['**/build-info.json', withFixerHash]],
  });
  await page.getByTestId('rg').fill('rg-prod-01');
  await page.getByTestId('vm').fill('vm-app-01');
  assert.equal(await analyse(page, () => chooseFiles(page, diskFiles())), 'done');
  await page.getByTestId('plan-where-vm').check();
  await page.getByTestId('create-key').click();
  await page.getByTestId('runcommand-enrol').waitFor();
  assert.equal(await page.getByTestId('rescue-vm').count(), 0);
  assert.equal(await page.getByTestId('left-out').count(), 0);
  assert.deepEqual(problems, []);
});
