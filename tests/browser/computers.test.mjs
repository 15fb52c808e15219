// Logs of several computers: the page offers each one it can sign a plan for, suggests the
// computer the findings' evidence comes from (not merely the one with the most events), and
// the plan, its fix command and the native fixer's verdict follow the computer chosen.
// Inputs: three real logs of one desktop (tests/fixtures/corpus, 4,865 events) with a sample
// VM's log (3,019 events, the finding); and two sample VMs' logs, each with its own finding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  browserPerFile,
  chooseFiles,
  analyse,
  findingIds,
  copyFrom,
  errorTexts,
  screenshot,
  fixture,
  sampleFile,
} from './harness.mjs';
import { SimMachine, diagnoseNative, enrol, tokenOf, verify } from './native.mjs';

const fresh = browserPerFile();

const DESKTOP = [
  'corpus/2-vss_0-Microsoft-Windows-RemoteDesktopServices-RdpCoreTS%4Operational.evtx',
  'corpus/2-vss_0-Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx',
  'corpus/2-vss_7-System.evtx',
].map(fixture);

/** The computers offered, in order, and the one checked. */
async function offered(page) {
  const radios = page.getByTestId('plan-computer').locator('input[type="radio"]');
  const names = await radios.evaluateAll((els) => els.map((e) => e.getAttribute('data-computer')));
  const checked = await radios.evaluateAll(
    (els) => els.find((e) => e.checked)?.getAttribute('data-computer') ?? null,
  );
  return { names, checked };
}

/** Creates the key, signs; returns what the native fixer needs. */
async function sign(page) {
  await page.getByTestId('create-key').click();
  const fingerprint = page.getByTestId('key-fingerprint');
  await fingerprint.waitFor();
  await page.getByTestId('sign').click();
  await page.getByTestId('fix-command').waitFor();
  return {
    fingerprint: (await fingerprint.textContent()).trim(),
    trust: await copyFrom(page, 'trust-command'),
    token: tokenOf(await copyFrom(page, 'fix-command')),
    signedFor: await page.getByTestId('signed-for').textContent(),
  };
}

test('real logs of a desktop and a VM: the VM with the finding is suggested, and the plan is for it', async () => {
  const files = [...DESKTOP, sampleFile('rdp-cert-keys.evtx')];
  const native = diagnoseNative(files);
  assert.deepEqual(
    native.computers.map((c) => c.name),
    ['DESKTOP-1N4R894', 'vm-app-01'],
    'the desktop has more events than the VM',
  );
  const { page, problems } = await fresh({ clipboard: true });
  assert.equal(await analyse(page, () => chooseFiles(page, files)), 'done');
  assert.deepEqual(await findingIds(page), ['rdp-cert-keys']);
  await page.getByTestId('plan-computer').waitFor();
  assert.deepEqual(await offered(page), {
    names: ['vm-app-01', 'DESKTOP-1N4R894'],
    checked: 'vm-app-01',
  });
  assert.equal(await page.getByTestId('plan-computer-name').textContent(), 'vm-app-01');
  assert.equal(await page.getByTestId('computer-warning').count(), 0);
  const legend = await page.getByTestId('plan-computer').locator('legend').textContent();
  assert.match(legend, /several computers/);
  assert.match(await page.getByTestId('powershell-preview').textContent(), /vm-app-01/);
  // The page no longer refuses to sign (the desktop's real logs are damaged in places: said).
  const errors = await errorTexts(page);
  assert.ok(!errors.some((e) => /sign|plan/i.test(e)), errors.join('\n'));

  const fix = await sign(page);
  assert.match(fix.signedFor, /signed for vm-app-01/);
  await screenshot(page, 'plan-several-computers');
  const vm = new SimMachine('vm-app-01');
  enrol(vm, fix.trust, fix.fingerprint);
  const ok = verify(vm, fix.token);
  assert.equal(ok.code, 0, JSON.stringify(ok.json));
  assert.equal(ok.json.plan.computer, 'vm-app-01');
  assert.deepEqual(ok.json.plan.findings, ['rdp-cert-keys']);
  const desktop = new SimMachine('DESKTOP-1N4R894');
  enrol(desktop, fix.trust, fix.fingerprint);
  const refused = verify(desktop, fix.token);
  assert.equal(refused.code, 3, JSON.stringify(refused.json));
  assert.equal(refused.json.check, 6);
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('two VMs, a finding each: picking the other VM re-targets the preview and the signed plan', async () => {
  const files = [sampleFile('rdp-cert-keys.evtx'), sampleFile('rdp-tls-disabled.evtx')];
  const native = diagnoseNative(files);
  // The computer the most likely finding's evidence names is suggested.
  const first = native.findings[0].evidence[0].computer;
  const other = first === 'vm-app-01' ? 'vm-app-02' : 'vm-app-01';
  const { page, problems } = await fresh({ clipboard: true });
  assert.equal(await analyse(page, () => chooseFiles(page, files)), 'done');
  assert.deepEqual(await findingIds(page), ['rdp-cert-keys', 'rdp-tls-disabled']);
  await page.getByTestId('plan-computer').waitFor();
  assert.deepEqual((await offered(page)).checked, first);

  // Through its label, as an admin would.
  await page.getByTestId('plan-computer').getByLabel(new RegExp(`^${other}`)).check();
  assert.deepEqual((await offered(page)).checked, other);
  assert.equal(await page.getByTestId('plan-computer-name').textContent(), other);
  assert.match(await page.getByTestId('powershell-preview').textContent(), new RegExp(other));
  // The other VM's finding is still in the plan: said next to the choice.
  const warning = await page.getByTestId('computer-warning').textContent();
  const foreign = native.findings.find((f) => f.evidence.every((e) => e.computer !== other)).id;
  assert.match(warning, new RegExp(`${foreign}.*${other}`));

  const fix = await sign(page);
  assert.match(fix.signedFor, new RegExp(`signed for ${other}`));
  const vm = new SimMachine(other);
  enrol(vm, fix.trust, fix.fingerprint);
  const ok = verify(vm, fix.token);
  assert.equal(ok.code, 0, JSON.stringify(ok.json));
  assert.equal(ok.json.plan.computer, other);
  const wrong = new SimMachine(first);
  enrol(wrong, fix.trust, fix.fingerprint);
  assert.equal(verify(wrong, fix.token).json.check, 6);

  // Choosing again drops the signed command: it was for the other computer.
  await page.getByTestId('plan-computer').getByLabel(new RegExp(`^${first}`)).check();
  await page.getByTestId('fix-command').waitFor({ state: 'detached' });
  assert.equal(await page.getByTestId('plan-computer-name').textContent(), first);
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('one computer: said next to the plan, nothing to choose', async () => {
  const { page, problems } = await fresh();
  const file = sampleFile('rdp-tls-disabled.evtx');
  assert.equal(await analyse(page, () => chooseFiles(page, [file])), 'done');
  await page.getByTestId('plan-computer-name').waitFor();
  assert.equal(await page.getByTestId('plan-computer-name').textContent(), 'vm-app-02');
  assert.equal(await page.getByTestId('plan-computer').count(), 0);
  assert.deepEqual(problems, []);
  await page.context().close();
});
