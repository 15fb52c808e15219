// The diagnosis on screen: each sample (through its button and as a file chosen in the file
// input), real corpus logs (tests/fixtures/corpus, see its MANIFEST: real machines, no RDP
// failure, one damaged), several files at once, pasted text, and one cause shown by events
// and configuration (a pasted tests/fixtures/config/both-* output: one card, both parts, the
// values read as text). What the page shows is
// checked against the native `fixer diagnose --json` of the same files: the same analyzer
// must give the same findings and read the same number of events. No request may leave the
// page's origin while it works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import {
  browserPerFile,
  chooseFiles,
  analyse,
  findingIds,
  inputStatus,
  errorTexts,
  screenshot,
  foreignRequests,
  fixture,
  sampleFile,
  SAMPLES,
} from './harness.mjs';
import { diagnoseNative } from './native.mjs';

const fresh = browserPerFile();

/** Asserts the page's findings and input rows agree with `fixer diagnose --json files`. */
async function assertSameAsNative(page, files) {
  const native = diagnoseNative(files);
  assert.deepEqual(await findingIds(page), native.findings.map((f) => f.id).sort());
  const rows = await inputStatus(page);
  assert.equal(rows.length, native.inputs.length, JSON.stringify(rows));
  for (const input of native.inputs) {
    const row = rows.find((r) => r.text.includes(input.name));
    assert.ok(row, `no input-status row for ${input.name}: ${JSON.stringify(rows)}`);
    assert.equal(row.format, input.format ?? 'none', input.name);
    assert.equal(row.events, input.events, `${input.name}: events`);
    assert.equal(row.skipped, input.skipped, `${input.name}: skipped`);
    assert.equal(row.errors, input.errors, `${input.name}: errors`);
    assert.equal(row.sha256, input.sha256, `${input.name}: sha256`);
  }
  // Each evidence row says where its event is: the input and the record, line or column.
  const where = ({ input, location: l }) =>
    `${input}, ${l.kind === 'record' ? `record ${l.record_id}` : `line ${l.line}`}` +
    (l.kind === 'line_column' ? `, column ${l.column}` : '');
  for (const f of native.findings) {
    const shown = await page
      .locator(`article[data-finding-id="${f.id}"] table.evidence td.where`)
      .allTextContents();
    assert.deepEqual(shown, f.evidence.map((e) => where(e.origin)), f.id);
  }
  return native;
}

/** Asserts the "nothing found" state when there is no finding, and its absence otherwise. */
async function assertNothingFoundState(page, expected) {
  const nothing = await page.getByTestId('nothing-found').count();
  assert.equal(nothing > 0, expected.length === 0, `nothing-found shown: ${nothing}`);
}

test('the empty page offers the samples and the collection commands', async () => {
  const { page, problems } = await fresh();
  for (const { name } of SAMPLES) {
    assert.equal(await page.locator(`button[data-sample="${name}"]`).count(), 1, name);
  }
  await page.getByTestId('collect-commands').waitFor();
  assert.match(await page.getByTestId('privacy').textContent(), /\S/);
  await screenshot(page, 'empty');
  assert.deepEqual(problems, []);
  await page.context().close();
});

for (const { name, expected } of SAMPLES) {
  test(`sample button ${name}: ${expected.join(', ') || 'nothing found'}`, async () => {
    const { page, problems, requests } = await fresh();
    const state = await analyse(page, () => page.locator(`button[data-sample="${name}"]`).click());
    assert.equal(state, 'done');
    assert.deepEqual(await findingIds(page), expected);
    await assertNothingFoundState(page, expected);
    await assertSameAsNative(page, [sampleFile(`${name}.evtx`)]);
    if (name === 'rdp-cert-keys') await screenshot(page, 'results');
    assert.deepEqual(await errorTexts(page), []);
    assert.deepEqual(problems, []);
    assert.deepEqual(foreignRequests(requests), []);
    await page.context().close();
  });

  test(`sample ${name}.evtx chosen through the file input`, async () => {
    const { page, problems, requests } = await fresh();
    const state = await analyse(page, () => chooseFiles(page, [sampleFile(`${name}.evtx`)]));
    assert.equal(state, 'done');
    assert.deepEqual(await findingIds(page), expected);
    await assertNothingFoundState(page, expected);
    await assertSameAsNative(page, [sampleFile(`${name}.evtx`)]);
    assert.deepEqual(problems, []);
    assert.deepEqual(foreignRequests(requests), []);
    await page.context().close();
  });
}

// Real logs: none shows an RDP failure; the largest (security.evtx, 2.1 MB) and the damaged
// ones are among them.
const CORPUS = [
  'system.evtx',
  'security.evtx',
  '2-vss_0-Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx',
  '2-vss_0-Microsoft-Windows-RemoteDesktopServices-RdpCoreTS%4Operational.evtx',
  'Application_no_crc32.evtx',
  'security_bad_string_cache.evtx',
  'sample_with_a_bad_chunk_magic.evtx',
];

for (const file of CORPUS) {
  test(`real log ${file}: the page reads what the native fixer reads, no finding`, async () => {
    const path = fixture(`corpus/${file}`);
    const { page, problems } = await fresh();
    assert.equal(await analyse(page, () => chooseFiles(page, [path])), 'done');
    const native = await assertSameAsNative(page, [path]);
    assert.deepEqual(native.findings, [], 'the corpus has no RDP failure');
    await assertNothingFoundState(page, []);
    const [input] = native.inputs;
    const errors = await errorTexts(page);
    if (input.skipped > 0 || input.errors > 0) {
      // Damaged: said in words, naming the file, and the rest was still read.
      assert.ok(input.events > 0);
      assert.ok(
        errors.some((e) => e.includes(basename(path)) && /damaged|could not be read/i.test(e)),
        JSON.stringify(errors),
      );
    } else {
      assert.deepEqual(errors, []);
    }
    assert.deepEqual(problems, []);
    await page.context().close();
  });
}

test('several files at once: real logs and a sample, one row each, the sample finding', async () => {
  const files = [
    fixture('corpus/system.evtx'),
    fixture('corpus/2-vss_0-Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx'),
    sampleFile('rdp-tls-disabled.evtx'),
  ];
  const { page, problems } = await fresh();
  assert.equal(await analyse(page, () => chooseFiles(page, files)), 'done');
  assert.deepEqual(await findingIds(page), ['rdp-tls-disabled']);
  await assertSameAsNative(page, files);
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('pasted wevtutil text (the paste sample) gives its finding', async () => {
  const text = readFileSync(sampleFile('rdp-cert-keys.txt'), 'utf8');
  const { page, problems } = await fresh();
  await page.getByTestId('paste-box').fill(text);
  assert.equal(await analyse(page, () => page.getByTestId('paste-analyse').click()), 'done');
  assert.deepEqual(await findingIds(page), ['rdp-cert-keys']);
  const [row] = await inputStatus(page);
  assert.equal(row.format, 'wevtutil-text');
  assert.equal(row.events, diagnoseNative([sampleFile('rdp-cert-keys.txt')]).events);
  assert.deepEqual(problems, []);
  await page.context().close();
});

test("pasted Get-WinEvent table (what Run Command returns without | fl) reads as natively", async () => {
  // tests/fixtures/inputs/table-getwinevent-system.txt: the default view at 120 columns, the
  // seed's S1 (RCM 1057/1058) and S2 (Schannel 36871, its state cut off) among healthy events.
  const file = fixture('inputs/table-getwinevent-system.txt');
  const native = diagnoseNative([file]);
  assert.equal(native.inputs[0].format, 'format-table');
  const { page, problems } = await fresh();
  await page.getByTestId('paste-box').fill(readFileSync(file, 'utf8'));
  assert.equal(await analyse(page, () => page.getByTestId('paste-analyse').click()), 'done');
  assert.deepEqual(await findingIds(page), native.findings.map((f) => f.id).sort());
  assert.ok((await findingIds(page)).includes('rdp-cert-keys'));
  const [row] = await inputStatus(page);
  assert.equal(row.format, 'format-table');
  assert.equal(row.events, native.inputs[0].events);
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('one cause shown by events and configuration: one card naming both parts', async () => {
  // tests/fixtures/config/both-rdp-refused: RCM 1070 (rdp-logons-disabled alone) and a
  // snapshot with drain mode 2 (rdp-config-drain-mode alone), in one Run Command output.
  const file = fixture('config/both-rdp-refused/az-run-command.json');
  const native = diagnoseNative([file]);
  assert.equal(native.findings.length, 1, JSON.stringify(native.findings.map((f) => f.id)));
  const [finding] = native.findings;
  assert.deepEqual(
    finding.parts.map((p) => p.id),
    ['rdp-config-drain-mode', 'rdp-logons-disabled'],
  );
  assert.ok(finding.config.length > 0, 'the configuration values the finding rests on');

  const { page, problems } = await fresh();
  await page.getByTestId('paste-box').fill(readFileSync(file, 'utf8'));
  assert.equal(await analyse(page, () => page.getByTestId('paste-analyse').click()), 'done');
  assert.deepEqual(await findingIds(page), [finding.id]);
  const card = page.locator(`article.finding[data-finding-id="${finding.id}"]`);
  assert.equal(await card.count(), 1);

  const parts = card.locator('.parts');
  assert.match(await parts.locator('p').textContent(), /^One cause, shown by:$/);
  const items = parts.locator('li[data-part-id]');
  assert.deepEqual(
    await items.evaluateAll((lis) => lis.map((li) => li.dataset.partId)),
    finding.parts.map((p) => p.id),
  );
  const on = (p) =>
    p.events && p.config ? 'events and configuration' : p.config ? 'configuration' : 'events';
  assert.deepEqual(
    await items.allTextContents(),
    finding.parts.map((p) => `${p.title} (${p.id}): ${on(p)}, ${p.score}/100 alone`),
  );

  const values = card.locator('.config-values');
  assert.match(await values.locator('p').textContent(), /^Configuration read:$/);
  const lines = values.locator('li');
  assert.deepEqual(
    await lines.allTextContents(),
    finding.config.map((c) => {
      const subject = c.subject ? ` (${c.subject})` : '';
      return `${c.name} = ${c.value} under ${c.source}${subject} on ${c.computer}`;
    }),
  );
  // Shown as text: the registry path's backslashes as written, no markup inside.
  assert.ok((await lines.allTextContents()).some((t) => t.includes('HKLM\\SYSTEM\\')));
  assert.deepEqual(
    await lines.evaluateAll((lis) => lis.map((li) => li.children.length)),
    finding.config.map(() => 0),
  );
  assert.deepEqual(problems, []);
  await page.context().close();
});
