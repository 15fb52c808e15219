// Every PowerShell text the analyzer generates parses as PowerShell, as each shell hands it
// over: Run Command scripts as they are, `az … --scripts '…'` after bash has unquoted it,
// `Invoke-AzVMRunCommand … -ScriptString '…'` whole, a Serial Console line's
// `-Command "…"` as cmd.exe passes it. The texts come from
// `analyzer/examples/generated_scripts.rs` (the same functions the page and `fixer plan`
// call, at their largest: every rule's remediation, the longest computer name). No browser:
// the page's own copies are parsed in enrol.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertParses, azScript, powershellProblems, serialCommand } from './powershell.mjs';
import { generatedScripts } from './native.mjs';

test('the checker finds what PowerShell refuses and lets only the two known false positives through', async () => {
  for (const bad of [
    'if ($a -eq 1 { Write-Output 1 }',
    "Write-Output 'never closed",
    '$x = (1 + 2',
    'foreach ($i in 1..3) { $i',
    "try { 1 } catch { 2 }; if ($why -eq 'x') { Write-Output 'y' } }",
    // The parenthesis allowance is for the quoted part of a native argument only.
    'wevtutil qe System /q:"x" (',
    'wevtutil qe System /q:"$(Get-Date" x',
  ]) {
    assert.notDeepEqual(await powershellProblems(bad), [], bad);
  }
  for (const good of [
    'Get-Service | Format-List Name,Status',
    "Get-WinEvent -LogName 'System' -MaxEvents 3 | Format-List TimeCreated,Id,Message",
    "$why = ((& $exe --json verify $plan) -join ' ' | ConvertFrom-Json).code",
    'wevtutil qe System /q:"*[System[(EventID=1 or EventID=2)]]" /rd:true /c:5 /f:text',
  ]) {
    assert.deepEqual(await powershellProblems(good), [], good);
  }
});

test('every script the analyzer generates parses as PowerShell, as its shell hands it over', async () => {
  const scripts = generatedScripts();
  const byName = new Map(scripts.map((s) => [s.name, s.text]));
  for (const name of [
    'enrolment script',
    'fix script',
    'collection script',
    'PowerShell preview',
    'PowerShell preview (offline)',
  ]) {
    assert.ok(byName.has(name), `${name} is among the generated scripts`);
  }
  for (const { name, form, text } of scripts) {
    if (form === 'powershell') {
      await assertParses(text, name);
    } else if (form === 'az') {
      const script = azScript(text);
      assert.equal(script, byName.get(name.replace(/ \(az\)$/, '')), `${name} carries the script`);
      await assertParses(script, `${name}, as bash unquotes it`);
    } else if (form === 'serial') {
      await assertParses(serialCommand(text), `${name}, as cmd.exe passes it`);
    } else {
      assert.fail(`${name}: unknown form ${form}`);
    }
  }
});
