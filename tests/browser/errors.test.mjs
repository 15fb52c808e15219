// Inputs that are not logs or are damaged: the page says so in words (data-testid="error",
// naming the file), never dies, and analyses the next input normally. The damaged files
// are cut from a real corpus log (tests/fixtures/corpus/system.evtx) here, so what they
// hold is known: a header cut short, and a log cut in the middle of its third chunk.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  browserPerFile,
  chooseFiles,
  analyse,
  findingIds,
  inputStatus,
  errorTexts,
  fixture,
  sampleFile,
} from './harness.mjs';
import { diagnoseNative } from './native.mjs';

const fresh = browserPerFile();
let dir;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'rdpfix-errors-'));
});

function write(name, bytes) {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

const system = () => readFileSync(fixture('corpus/system.evtx'));

const CASES = [
  {
    what: 'a picture (not a log)',
    make: () => write('photo.png', Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex')),
    words: /not an? .*(event )?log|cannot read|can't read/i,
  },
  {
    what: 'a text note (not a log)',
    make: () => write('notes.txt', 'Remember to restart the VM after lunch.\n'),
    words: /not an? .*(event )?log|cannot read|can't read/i,
  },
  {
    what: 'an .evtx cut inside its header',
    make: () => write('cut-header.evtx', system().subarray(0, 3000)),
    words: /damaged|truncated|could not be read/i,
  },
  {
    what: 'an .evtx cut in its third chunk',
    make: () => write('cut-chunk.evtx', system().subarray(0, 200_000)),
    words: /damaged|truncated|could not be read|not read to the end/i,
  },
];

for (const { what, make, words } of CASES) {
  test(`${what}: an error in words, and the page keeps working`, async () => {
    const path = make();
    const name = path.split('/').pop();
    const { page, problems } = await fresh();
    const state = await analyse(page, () => chooseFiles(page, [path]));
    assert.ok(['done', 'error'].includes(state), state);
    const errors = await errorTexts(page);
    assert.ok(
      errors.some((e) => e.includes(name) && words.test(e)),
      `no error naming ${name} matching ${words}: ${JSON.stringify(errors)}`,
    );
    assert.deepEqual(await findingIds(page), []);
    // What could be read was read, as natively.
    const native = diagnoseNative([path]);
    const rows = await inputStatus(page);
    if (rows.length > 0) assert.equal(rows[0].events, native.inputs[0].events);
    // The page survives: the next input is analysed as usual and the old error is gone.
    const next = await analyse(page, () => chooseFiles(page, [sampleFile('rdp-cert-keys.evtx')]));
    assert.equal(next, 'done');
    assert.deepEqual(await findingIds(page), ['rdp-cert-keys']);
    assert.deepEqual(await errorTexts(page), []);
    assert.deepEqual(problems, []);
    await page.context().close();
  });
}

test('an empty paste is refused in words and nothing breaks', async () => {
  const { page, problems } = await fresh();
  await page.getByTestId('paste-box').fill('   \n');
  await page.getByTestId('paste-analyse').click();
  await page.getByTestId('paste-box').fill('just some words, no events at all');
  const state = await analyse(page, () => page.getByTestId('paste-analyse').click());
  assert.ok(['done', 'error'].includes(state), state);
  const errors = await errorTexts(page);
  assert.ok(
    errors.some((e) => /not an? .*(event )?log|cannot read|can't read/i.test(e)),
    JSON.stringify(errors),
  );
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('a worker whose script cannot be loaded is reported in words, not waited for', async () => {
  // A failed script load fires a plain `Event` at the worker, not an `ErrorEvent`. The page
  // starts its worker as it loads, so the script is gone from the start.
  const { page } = await fresh({
    routes: [['**/worker.js', (route) => route.fulfill({ status: 404, body: 'gone' })]],
  });
  assert.equal(
    await analyse(page, () => page.locator('button[data-sample="rdp-cert-keys"]').click()),
    'error',
  );
  const errors = await errorTexts(page);
  assert.ok(errors.some((e) => /worker|crash/i.test(e)), JSON.stringify(errors));
  await page.unroute('**/worker.js');
  assert.equal(
    await analyse(page, () => page.locator('button[data-sample="rdp-cert-keys"]').click()),
    'done',
  );
  assert.deepEqual(await findingIds(page), ['rdp-cert-keys']);
  await page.context().close();
});

test('a worker that crashes is reported in words, and the next analysis works', async () => {
  // The analysis worker's script throws as it starts, as a broken deployment or an
  // out-of-memory kill would end it (from the start: the page starts its worker as it loads).
  const { page, problems } = await fresh({
    routes: [
      [
        '**/worker.js',
        (route) =>
          route.fulfill({
            contentType: 'text/javascript',
            body: "throw new Error('rdpfix test: the worker died');",
          }),
      ],
    ],
  });
  assert.equal(
    await analyse(page, () => page.locator('button[data-sample="rdp-cert-keys"]').click()),
    'error',
  );
  const errors = await errorTexts(page);
  assert.ok(errors.some((e) => /worker|analysis (failed|stopped)|crash/i.test(e)), JSON.stringify(errors));
  await page.unroute('**/worker.js');
  assert.equal(
    await analyse(page, () => page.locator('button[data-sample="rdp-cert-keys"]').click()),
    'done',
  );
  assert.deepEqual(await findingIds(page), ['rdp-cert-keys']);
  assert.deepEqual(await errorTexts(page), []);
  // The worker's own failure is the only problem the page met.
  assert.ok(problems.every((p) => p.includes('rdpfix test: the worker died')), problems.join('\n'));
  await page.context().close();
});

// Issue 14: four pasted lines that announce a block of 99,999,999,999,999 (or 4,000,000,000)
// characters used to abort the native analyzer and trap the page's worker. The page now
// says what is wrong with the block, on which line, and keeps working.
for (const chars of ['99999999999999', '4000000000']) {
  test(`a pasted block announcing ${chars} characters is refused in words`, async () => {
    const { page, problems } = await fresh();
    const paste = `RDPFIX-EVIDENCE v1\nsha256 0123456789abcdef, ${chars} chars\nAAAA\nEND RDPFIX-EVIDENCE\n`;
    await page.getByTestId('paste-box').fill(paste);
    const state = await analyse(page, () => page.getByTestId('paste-analyse').click());
    assert.ok(['done', 'error'].includes(state), state);
    // In words: the paste is damaged, and its row says why, naming the line.
    const errors = await errorTexts(page);
    assert.ok(errors.some((e) => /damaged/.test(e)), JSON.stringify(errors));
    const rows = await inputStatus(page);
    assert.equal(rows.length, 1);
    assert.ok(
      rows[0].text.includes(`announces ${chars} characters`) && /line 2/.test(rows[0].text),
      rows[0].text,
    );
    const next = await analyse(page, () => chooseFiles(page, [sampleFile('rdp-cert-keys.evtx')]));
    assert.equal(next, 'done');
    assert.deepEqual(await findingIds(page), ['rdp-cert-keys']);
    assert.deepEqual(problems, []);
    await page.context().close();
  });
}
