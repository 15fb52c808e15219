// Getting the fix onto a VM nobody can log into: the Azure fields give the az and
// Invoke-AzVMRunCommand forms and the snapshot command; the Run Command script and the
// Serial Console line carry the signed plan, which the native fixer accepts, and the SHA-256
// of the very fixer.exe this page serves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  browserPerFile,
  chooseFiles,
  analyse,
  copyFrom,
  screenshot,
  sampleFile,
  BASE_URL,
} from './harness.mjs';
import { SimMachine, fixerArgs } from './native.mjs';

const fresh = browserPerFile();

const text = async (page, testid) => (await page.getByTestId(testid).textContent()).trim();
const TOKEN = /rdpfix1\.[A-Za-z0-9._-]+/;

/** The SHA-256 of the fixer.exe the page's own origin serves, or null when it has none. */
async function servedFixerSha256() {
  const r = await fetch(new URL('fixer.exe', BASE_URL));
  if (r.status === 404) return null;
  assert.equal(r.status, 200);
  return createHash('sha256').update(Buffer.from(await r.arrayBuffer())).digest('hex');
}

test('Azure names: a bad one is refused in words, good ones give the az and PowerShell forms', async () => {
  const { page, problems } = await fresh();
  await page.getByTestId('vm').fill('bad name!');
  await page.getByTestId('rg').fill('rg-prod-01');
  await page.waitForFunction(
    () => document.querySelector('[data-testid="vm"]').getAttribute('aria-invalid') === 'true',
  );
  const described = await page
    .getByTestId('vm')
    .evaluate((el) => document.getElementById(el.getAttribute('aria-describedby'))?.textContent);
  assert.match(described ?? '', /\S/, 'the invalid VM name is explained');
  await page.getByTestId('vm').fill('vm-app-01');
  await page.waitForFunction(
    () => document.querySelector('[data-testid="vm"]').getAttribute('aria-invalid') === 'false',
  );
  const collect = await text(page, 'runcommand-collect');
  assert.match(collect, /Get-WinEvent|wevtutil/);
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('the Run Command script and the Serial Console line carry the plan and the served fixer.exe hash', async () => {
  const file = sampleFile('rdp-cert-keys.evtx');
  const { page, problems } = await fresh({ clipboard: true });
  await page.getByTestId('rg').fill('rg-prod-01');
  await page.getByTestId('vm').fill('vm-app-01');
  assert.equal(await analyse(page, () => chooseFiles(page, [file])), 'done');
  const snapshot = await text(page, 'snapshot-command');
  assert.ok(snapshot.includes('rg-prod-01') && snapshot.includes('vm-app-01'), snapshot);
  assert.match(snapshot, /snapshot/i);
  await page.getByTestId('create-key').click();
  await page.getByTestId('key-fingerprint').waitFor();
  const trust = await copyFrom(page, 'trust-command');
  await page.getByTestId('sign').click();
  await page.getByTestId('fix-command').waitFor();
  const token = (await text(page, 'fix-command')).match(TOKEN)?.[0];
  assert.ok(token, 'no token in the fix command');

  const served = await servedFixerSha256();
  const shown = await text(page, 'fixer-sha256');
  const href = await page.getByTestId('fixer-download').evaluate((a) => a.href);
  assert.equal(new URL(href).origin, new URL(BASE_URL).origin, 'fixer.exe comes from the page');
  if (served === null) {
    // A build without fixer.exe (cargo xtask dist --no-exe) says so instead of a hash.
    assert.doesNotMatch(shown, /^[0-9a-f]{64}$/i);
    await page.context().close();
    return;
  }
  assert.equal(shown.toLowerCase(), served);
  const script = await copyFrom(page, 'runcommand-fix');
  assert.ok(script.toUpperCase().includes(served.toUpperCase()), 'the script checks the hash');
  assert.equal(script.match(TOKEN)?.[0], token, 'the script applies the signed plan');
  assert.match(script, /apply/);
  const serial = await copyFrom(page, 'serial-fix');
  assert.equal(serial.match(TOKEN)?.[0], token);
  assert.ok(serial.toUpperCase().includes(served.toUpperCase()));
  const az = await copyFrom(page, 'az-fix');
  assert.ok(az.includes('rg-prod-01') && az.includes('vm-app-01'), az);
  await screenshot(page, 'remote');

  // The plan the script carries is accepted by the native fixer once the key is trusted.
  const vm = new SimMachine('vm-app-01');
  assert.equal(vm.run(fixerArgs(trust)).code, 0);
  const verified = vm.run(['--json', 'verify', token]);
  assert.equal(verified.code, 0, verified.stdout);
  assert.deepEqual(problems, []);
  await page.context().close();
});
