// From findings to a fix the native fixer accepts: the page creates its signing key, shows
// its fingerprint and the `fixer trust add …` line, signs the plan; the fix command is
// copied with the page's copy button (Clipboard API) and run through the NATIVE fixer:
// `trust add` exactly as copied, then `verify` of the copied command's token — on a
// simulated machine named like the logs' computer (see native.mjs), with the real clock.
// The same plan is refused on another computer and without the key enrolled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  browserPerFile,
  chooseFiles,
  analyse,
  findingIds,
  copyFrom,
  screenshot,
  sampleFile,
} from './harness.mjs';
import { SimMachine, diagnoseNative, enrol, tokenOf, verify } from './native.mjs';

const fresh = browserPerFile();

/** The computer the sample's findings name (the plan's target), from the native diagnosis. */
function computerOf(file) {
  const d = diagnoseNative([file]);
  const names = new Set(d.findings.flatMap((f) => f.evidence.map((e) => e.computer)));
  assert.equal(names.size, 1, [...names].join(', '));
  return [...names][0];
}

/** Finds, creates the key, signs: returns what the page shows and what its buttons copy. */
async function signedFix(page, file, expected) {
  assert.equal(await analyse(page, () => chooseFiles(page, [file])), 'done');
  assert.deepEqual(await findingIds(page), expected);
  await page.getByTestId('create-key').click();
  const fingerprint = page.getByTestId('key-fingerprint');
  await fingerprint.waitFor();
  await page.getByTestId('trust-command').waitFor();
  const steps = page.getByTestId('plan-step');
  await steps.first().waitFor();
  assert.match(await page.getByTestId('powershell-preview').textContent(), /\S/);
  await page.getByTestId('sign').click();
  await page.getByTestId('fix-command').waitFor();
  return {
    fingerprint: (await fingerprint.textContent()).trim(),
    fallback: (await page.getByTestId('key-fallback').count()) > 0,
    steps: await steps.count(),
    trust: await copyFrom(page, 'trust-command'),
    fix: await copyFrom(page, 'fix-command'),
    fixShown: (await page.getByTestId('fix-command').textContent()).trim(),
    fixPs: await copyFrom(page, 'fix-command-ps'),
  };
}

test('the copied fix command is accepted by the native fixer after trust add of the page key', async () => {
  const file = sampleFile('rdp-cert-keys.evtx');
  const computer = computerOf(file);
  const { page, problems } = await fresh({ clipboard: true });
  const fix = await signedFix(page, file, ['rdp-cert-keys']);
  await screenshot(page, 'plan');
  assert.equal(fix.fix, fix.fixShown, 'the copy button copies what is shown');
  assert.equal(fix.fallback, false, 'Chromium has WebCrypto Ed25519: no fallback key');
  const token = tokenOf(fix.fix);
  assert.equal(tokenOf(fix.fixPs), token, 'cmd and PowerShell forms carry the same plan');

  const vm = new SimMachine(computer);
  enrol(vm, fix.trust, fix.fingerprint);
  const ok = verify(vm, token);
  assert.equal(ok.code, 0, JSON.stringify(ok.json));
  assert.equal(ok.json.outcome, 'verified');
  assert.deepEqual(ok.json.plan.findings, ['rdp-cert-keys']);
  assert.equal(ok.json.plan.computer.toLowerCase(), computer.toLowerCase());
  assert.equal(ok.json.plan.steps.length, fix.steps);

  // The same plan on another computer, and on this one without the page's key: refused.
  const other = new SimMachine('vm-other-99');
  enrol(other, fix.trust, fix.fingerprint);
  const wrong = verify(other, token);
  assert.equal(wrong.code, 3, JSON.stringify(wrong.json));
  assert.equal(wrong.json.check, 6);
  const untrusted = verify(new SimMachine(computer), token);
  assert.equal(untrusted.code, 3, JSON.stringify(untrusted.json));
  assert.equal(untrusted.json.check, 3);
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('leaving out an optional step signs a smaller plan the native fixer accepts', async () => {
  const file = sampleFile('rdp-cert-keys.evtx');
  const { page, problems } = await fresh({ clipboard: true });
  const full = await signedFix(page, file, ['rdp-cert-keys']);
  const optional = page.locator('[data-testid="plan-step"] input[data-step-toggle]:not([disabled])');
  assert.ok((await optional.count()) > 0, 'the plan has no optional step');
  await optional.first().uncheck();
  await page.getByTestId('sign').click();
  await page.waitForFunction(
    (old) => document.querySelector('[data-testid="fix-command"]')?.textContent.trim() !== old,
    full.fixShown,
  );
  const fix = await copyFrom(page, 'fix-command');
  const vm = new SimMachine(computerOf(file));
  enrol(vm, full.trust, full.fingerprint);
  const ok = verify(vm, tokenOf(fix));
  assert.equal(ok.code, 0, JSON.stringify(ok.json));
  assert.equal(ok.json.plan.steps.length, full.steps - 1);
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('the downloaded plan file verifies like the fix command', async () => {
  const file = sampleFile('rdp-tls-disabled.evtx');
  const { page, problems } = await fresh({ clipboard: true });
  const fix = await signedFix(page, file, ['rdp-tls-disabled']);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('plan-download').click(),
  ]);
  const path = await download.path();
  const vm = new SimMachine(computerOf(file));
  enrol(vm, fix.trust, fix.fingerprint);
  const ok = verify(vm, path);
  assert.equal(ok.code, 0, `${readFileSync(path, 'utf8').slice(0, 200)}\n${JSON.stringify(ok.json)}`);
  assert.deepEqual(ok.json.plan.findings, ['rdp-tls-disabled']);
  assert.deepEqual(problems, []);
  await page.context().close();
});
