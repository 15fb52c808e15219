// From "key made in this browser" to "plan applied" with only Run Command, or only Serial
// Console, from the page alone: each channel shows step 1 (the enrolment script) before
// step 2 (the fix script); both are copied with the page's buttons, parse as PowerShell as
// their shell hands them over, and what they have fixer.exe run is carried out by the
// NATIVE fixer on a simulated VM that trusts nothing yet (native.mjs): the fix first is
// refused and the script's own question gets the answer that makes it name the enrolment
// script; the enrolment prints the page's fingerprint last; the same fix then applies.
//
// A page built without fixer.exe (`cargo xtask dist --no-exe`) offers no scripts; it is
// given a stand-in build-info.json here, since what fixer.exe the page serves is
// remote.test.mjs's to check and these tests never download it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyse, browserPerFile, chooseFiles, copyFrom, sampleFile, screenshot, BASE_URL } from './harness.mjs';
import { SimMachine, fixerRuns } from './native.mjs';
import { assertParses, azScript, serialCommand } from './powershell.mjs';

const fresh = browserPerFile();

const STAND_IN_SHA256 = 'c0'.repeat(32);

/** Serves build-info.json with a fixer SHA-256 when the page was built without fixer.exe. */
async function fixerInfo(route) {
  const response = await route.fetch();
  const info = await response.json();
  if (info.fixer_sha256) return route.fulfill({ response });
  return route.fulfill({ response, json: { ...info, fixer_sha256: STAND_IN_SHA256 } });
}

/** Whether the element `a` comes before `b` in the page. */
function before(page, a, b) {
  return page.evaluate(
    ([a, b]) => {
      const [x, y] = [a, b].map((id) => document.querySelector(`[data-testid="${id}"]`));
      return Boolean(x.compareDocumentPosition(y) & Node.DOCUMENT_POSITION_FOLLOWING);
    },
    [a, b],
  );
}

/** The Azure names typed, the rdp-tls-disabled sample analysed, the key made. */
async function keyMade() {
  const opened = await fresh({ clipboard: true, routes: [['**/build-info.json', fixerInfo]] });
  const { page } = opened;
  await page.getByTestId('rg').fill('rg-prod-01');
  await page.getByTestId('vm').fill('vm-app-02');
  assert.equal(await analyse(page, () => chooseFiles(page, [sampleFile('rdp-tls-disabled.evtx')])), 'done');
  await page.getByTestId('create-key').click();
  const fingerprint = (await page.getByTestId('key-fingerprint').textContent()).trim();
  return { ...opened, fingerprint };
}

/** Then the plan signed: the page's two runs for each channel as its copy buttons copy them. */
async function twoRuns() {
  const made = await keyMade();
  const { page } = made;
  // Step 1 is there before anything is signed; step 2 waits for the signature.
  await page.getByTestId('runcommand-enrol').waitFor();
  assert.equal(await page.getByTestId('runcommand-fix').count(), 0);
  await page.getByTestId('sign').click();
  await page.getByTestId('runcommand-fix').waitFor();
  for (const [one, two] of [
    ['trust-command', 'fix-command'],
    ['runcommand-enrol', 'runcommand-fix'],
    ['az-enrol', 'az-fix'],
    ['azps-enrol', 'azps-fix'],
    ['serial-enrol', 'serial-fix'],
  ]) {
    assert.ok(await before(page, one, two), `${one} is shown before ${two}`);
  }
  const copied = {};
  for (const id of [
    'runcommand-enrol',
    'az-enrol',
    'azps-enrol',
    'serial-enrol',
    'runcommand-fix',
    'az-fix',
    'azps-fix',
    'serial-fix',
  ]) {
    copied[id] = await copyFrom(page, id);
  }
  copied.preview = await page.getByTestId('powershell-preview').textContent();
  return { ...made, copied };
}

/** Every copied script parses as PowerShell, as its shell hands it over, and the forms agree. */
async function checkScripts(copied) {
  for (const step of ['enrol', 'fix']) {
    const script = copied[`runcommand-${step}`];
    await assertParses(script, `the Run Command ${step} script`);
    assert.equal(azScript(copied[`az-${step}`]), script, `az ${step} carries the script`);
    await assertParses(copied[`azps-${step}`], `the Invoke-AzVMRunCommand ${step} command`);
    const serial = serialCommand(copied[`serial-${step}`]);
    await assertParses(serial, `the Serial Console ${step} line`);
    assert.deepEqual(fixerRuns(serial), fixerRuns(script), `${step}: both channels run the same`);
  }
  await assertParses(copied.preview, 'the PowerShell preview');
}

/**
 * Carries out, on a VM that trusts no key, what the page's fix and enrolment PowerShell
 * have fixer.exe run (`fix`, `enrol`: the Run Command script or the Serial Console
 * line's command), in the order the admin runs them: fix, enrol, fix.
 */
function fixEnrolFix(fix, enrol, fingerprint) {
  const vm = new SimMachine('vm-app-02');
  const [apply, why] = fixerRuns(fix);
  assert.deepEqual(apply.slice(0, 2), ['apply', '--yes']);
  assert.deepEqual(why.slice(0, 2), ['--json', 'verify']);
  // Run 0, the admin's first try: refused, and the script's question answered so that its
  // last line names the enrolment script.
  const refused = vm.run(apply);
  assert.equal(refused.code, 3, refused.stdout + refused.stderr);
  const code = fix.match(/if \(\$code -eq (\d+)\)/)?.[1];
  assert.equal(Number(code), refused.code, 'the script asks why on this exit code');
  const asked = vm.run(why);
  const expected = fix.match(/if \(\$why -eq '([a-z_]+)'\) \{ Write-Output '((?:[^']|'')*)'/);
  assert.ok(expected, 'the fix script names the enrolment script on a refused key');
  assert.equal(JSON.parse(asked.stdout).code, expected[1], asked.stdout);
  assert.match(expected[2], /enrolment script/);

  // Run 1: enrol. The fixer prints the page's fingerprint last.
  const runs = fixerRuns(enrol);
  assert.equal(runs.length, 1, 'the enrolment runs fixer.exe once');
  assert.deepEqual(runs[0].slice(0, 2), ['trust', 'add']);
  const enrolled = vm.run(runs[0]);
  assert.equal(enrolled.code, 0, enrolled.stdout + enrolled.stderr);
  assert.equal(enrolled.stdout.trimEnd().split('\n').at(-1), fingerprint);
  assert.ok(Buffer.byteLength(enrolled.stdout) < 4096, 'within what Run Command returns');

  // Run 2: the same fix, applied.
  const applied = vm.run(apply);
  assert.equal(applied.code, 0, applied.stdout + applied.stderr);
  assert.match(applied.stdout, /APPLIED plan/);
  return { enrolled: enrolled.stdout, applied: applied.stdout };
}

test('Run Command only: the enrolment script, then the fix script, apply the plan', async () => {
  const { page, problems, fingerprint, copied } = await twoRuns();
  await screenshot(page, 'enrol-run-command');
  await checkScripts(copied);
  const out = fixEnrolFix(copied['runcommand-fix'], copied['runcommand-enrol'], fingerprint);
  console.log(
    `enrolment output ${Buffer.byteLength(out.enrolled)} bytes; scripts: enrolment ${copied['runcommand-enrol'].length}, fix ${copied['runcommand-fix'].length} bytes`,
  );
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('Serial Console only: the enrolment line, then the fix line, apply the plan', async () => {
  const { page, problems, fingerprint, copied } = await twoRuns();
  const [enrol, fix] = [copied['serial-enrol'], copied['serial-fix']];
  for (const line of [enrol, fix]) assert.ok(line.length < 8191, `${line.length} characters`);
  fixEnrolFix(serialCommand(fix), serialCommand(enrol), fingerprint);
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('the page keeps nothing about the VM: after a reload the key is there, the names and steps are not', async () => {
  const { page, problems, fingerprint } = await keyMade();
  await page.getByTestId('sign').click();
  await page.getByTestId('runcommand-fix').waitFor();
  const stored = await page.evaluate(() => ({ local: localStorage.length, session: sessionStorage.length }));
  assert.deepEqual(stored, { local: 0, session: 0 });

  await page.goto(new URL('', BASE_URL).href);
  await page.getByTestId('app-ready').waitFor({ state: 'attached' });
  assert.equal(await page.getByTestId('rg').inputValue(), '');
  assert.equal(await page.getByTestId('vm').inputValue(), '');
  assert.equal(await analyse(page, () => chooseFiles(page, [sampleFile('rdp-tls-disabled.evtx')])), 'done');
  assert.equal((await page.getByTestId('key-fingerprint').textContent()).trim(), fingerprint);
  // Step 1 is offered again as it was: the page cannot know whether the VM enrolled.
  await page.getByTestId('runcommand-enrol').waitFor();
  assert.equal(await page.getByTestId('runcommand-fix').count(), 0);
  assert.deepEqual(problems, []);
  await page.context().close();
});
