// A pasted Run Command output of the collection script (the whole script's `az vm
// run-command invoke` output: two Schannel events and the RDPFIX-CONFIG block,
// tests/fixtures/config/collection-script) gives the findings `fixer diagnose` gives, the
// Configuration section, and a plan of typed steps (the policy value fDenyTSConnections set
// back to 0 beside the manual Group Policy step) that the page signs and the NATIVE fixer
// verifies on a simulated machine named like the snapshot's computer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { browserPerFile, analyse, findingIds, copyFrom, fixture } from './harness.mjs';
import { SimMachine, diagnoseNative, enrol, tokenOf, verify } from './native.mjs';

const fresh = browserPerFile();
const FILE = fixture('config/collection-script/az-run-command.json');
const POLICY = 'HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services';

test('a pasted collection output shows its configuration and signs typed steps', async () => {
  const native = diagnoseNative([FILE]);
  const expected = native.findings.map((f) => f.id).sort();
  assert.ok(expected.includes('rdp-config-disabled-by-policy'), expected.join(', '));

  const { page, problems } = await fresh({ clipboard: true });
  await page.getByTestId('paste-box').fill(readFileSync(FILE, 'utf8'));
  assert.equal(await analyse(page, () => page.getByTestId('paste-analyse').click()), 'done');
  assert.deepEqual(await findingIds(page), expected);
  const config = page.getByTestId('configuration');
  await config.waitFor();
  assert.match(await config.textContent(), /vm-app-01/);

  await page.getByTestId('create-key').click();
  const fingerprint = page.getByTestId('key-fingerprint');
  await fingerprint.waitFor();
  const steps = page.getByTestId('plan-step');
  await steps.first().waitFor();
  const summaries = await steps.allTextContents();
  assert.ok(
    summaries.some((s) => s.includes(`${POLICY}\\fDenyTSConnections to REG_DWORD 0`)),
    summaries.join('\n'),
  );
  assert.ok(
    summaries.some((s) => /Group Policy/.test(s) && /manual/.test(s)),
    summaries.join('\n'),
  );
  await page.getByTestId('sign').click();
  await page.getByTestId('fix-command').waitFor();
  const trust = await copyFrom(page, 'trust-command');
  const fix = await copyFrom(page, 'fix-command');

  const vm = new SimMachine('vm-app-01');
  enrol(vm, trust, (await fingerprint.textContent()).trim());
  const ok = verify(vm, tokenOf(fix));
  assert.equal(ok.code, 0, JSON.stringify(ok.json));
  assert.deepEqual([...ok.json.plan.findings].sort(), expected);
  // The fixer's reading of the signed step: a typed registry change it will execute.
  const policyStep = ok.json.plan.steps.find(
    (s) => s.summary === `set ${POLICY}\\fDenyTSConnections to REG_DWORD 0`,
  );
  assert.ok(policyStep, JSON.stringify(ok.json.plan.steps));
  assert.equal(policyStep.labels.manual, false);
  assert.equal(policyStep.labels.reversibility, 'reversible');
  assert.equal(ok.json.plan.steps.length, await steps.count());
  assert.deepEqual(problems, []);
  await page.context().close();
});
