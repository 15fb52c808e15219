// Logs that name no computer (Get-WinEvent | Format-List, Event Viewer's "Save as CSV"): the
// fix panel asks for the computer's name in a labelled text field, the analyzer checks what
// is typed (its words when it is not a name a plan can hold), and the plan signed for the
// typed name carries the analyzer's warning. The NATIVE fixer verifies the copied fix
// command on a simulated machine of that name and refuses it (check 6) on another.
// Inputs: tests/fixtures/rules/rdp-termservice-failed/scm-7000-termservice-1058.formatlist.txt
// and rdp-listener-port-failed/rcm-1035.csv (no seed scenario has a nameless fixture).
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
} from './harness.mjs';
import { SimMachine, diagnoseNative, enrol, tokenOf, verify } from './native.mjs';

const fresh = browserPerFile();
const FORMAT_LIST = fixture('rules/rdp-termservice-failed/scm-7000-termservice-1058.formatlist.txt');
const CSV = fixture('rules/rdp-listener-port-failed/rcm-1035.csv');
const LABEL = 'Computer name (as the VM calls itself)';

/** Analyses `file` and checks that natively and in the page the logs name no computer. */
async function nameless(page, file) {
  const native = diagnoseNative([file]);
  assert.deepEqual(native.computers, [], 'the export names no computer');
  const expected = native.findings.map((f) => f.id).sort();
  assert.ok(expected.length > 0);
  assert.equal(await analyse(page, () => chooseFiles(page, [file])), 'done');
  assert.deepEqual(await findingIds(page), expected);
  await page.getByTestId('typed-computer').waitFor();
  assert.equal(await page.getByTestId('plan-computer').count(), 0);
  return expected;
}

test('Format-List without a computer: a typed name gives a signed plan for that VM only', async () => {
  const { page, problems } = await fresh({ clipboard: true });
  const findings = await nameless(page, FORMAT_LIST);
  const field = page.getByLabel(LABEL);
  assert.equal(await field.inputValue(), '');
  // Nothing to sign for yet: the analyzer's words say why, no signed command.
  await page.getByTestId('create-key').click();
  const fingerprint = page.getByTestId('key-fingerprint');
  await fingerprint.waitFor();
  await page.getByTestId('sign').click();
  await page.getByText(/^Not signed: /).waitFor();
  assert.equal(await page.getByTestId('fix-command').count(), 0);

  // Typed as an admin types: focus by the label, key by key.
  await field.focus();
  await page.keyboard.type('vm-app-01');
  assert.equal(await field.getAttribute('aria-invalid'), 'false');
  assert.equal(await page.getByTestId('typed-computer-error').count(), 0);
  assert.equal(await page.getByTestId('plan-computer-name').textContent(), 'vm-app-01');
  assert.match(await page.getByTestId('powershell-preview').textContent(), /vm-app-01/);
  // Signing from the keyboard as well.
  await page.getByTestId('sign').focus();
  await page.keyboard.press('Enter');
  await page.getByTestId('fix-command').waitFor();
  assert.match(await page.getByTestId('signed-for').textContent(), /signed for vm-app-01/);
  const warning = await page.getByTestId('typed-computer-warning').textContent();
  assert.match(warning, /the logs name no computer, so the plan is for `vm-app-01` as typed/);
  assert.equal(await page.getByTestId('typed-computer-warning').getAttribute('role'), 'note');
  await screenshot(page, 'plan-typed-computer');

  const trust = await copyFrom(page, 'trust-command');
  const token = tokenOf(await copyFrom(page, 'fix-command'));
  const fp = (await fingerprint.textContent()).trim();
  const vm = new SimMachine('vm-app-01');
  enrol(vm, trust, fp);
  const ok = verify(vm, token);
  assert.equal(ok.code, 0, JSON.stringify(ok.json));
  assert.equal(ok.json.plan.computer, 'vm-app-01');
  assert.deepEqual(ok.json.plan.findings, findings);
  const other = new SimMachine('vm-app-02');
  enrol(other, trust, fp);
  const refused = verify(other, token);
  assert.equal(refused.code, 3, JSON.stringify(refused.json));
  assert.equal(refused.json.check, 6);

  // Another name is another computer: the signed command goes.
  await field.press('End');
  await page.keyboard.type('x');
  await page.getByTestId('fix-command').waitFor({ state: 'detached' });
  assert.equal(await page.getByTestId('typed-computer-warning').count(), 0);
  assert.equal(await page.getByTestId('plan-computer-name').textContent(), 'vm-app-01x');
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('Event Viewer CSV: an invalid typed name shows the analyzer error and no plan', async () => {
  const { page, problems } = await fresh();
  await nameless(page, CSV);
  const field = page.getByLabel(LABEL);
  await field.fill('bad name!');
  const error = page.getByTestId('typed-computer-error');
  await error.waitFor();
  assert.equal(await error.getAttribute('role'), 'alert');
  assert.match(await error.textContent(), /bad name!/);
  assert.equal(await field.getAttribute('aria-invalid'), 'true');
  assert.match(await field.getAttribute('aria-describedby'), /typed-computer-error/);
  assert.equal(await page.getByTestId('plan-computer-name').count(), 0);
  assert.equal(await page.getByTestId('powershell-preview').count(), 0);
  const errors = await errorTexts(page);
  assert.ok(
    errors.some((e) => /^No plan: .*bad name!/.test(e)),
    errors.join('\n'),
  );
  await page.getByTestId('create-key').click();
  await page.getByTestId('key-fingerprint').waitFor();
  await page.getByTestId('sign').click();
  await page.getByText(/^Not signed: .*bad name!/).waitFor();
  assert.equal(await page.getByTestId('fix-command').count(), 0);
  assert.deepEqual(problems, []);
  await page.context().close();
});
