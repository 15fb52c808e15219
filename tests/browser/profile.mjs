// Profiles the analysis worker while it reads one file: Chromium's sampling profiler attached
// to the worker's target (through a browser-level CDP session; Playwright's page sessions
// do not reach workers), from choosing the file to the findings on screen. Prints the
// functions with the most self time and writes the whole profile (open it in DevTools'
// Performance panel). Not run by `cargo xtask test`; see BENCHMARKS.md.
//
//   RDPFIX_URL=http://127.0.0.1:8080/ node tests/browser/profile.mjs <file.evtx> [out.cpuprofile] [query]
//
// `query`: the page's query string, e.g. `?workers=1` (the profile is the analysis worker's
// alone, not its parsing helpers').
//
// Wasm functions are named only in a bundle whose name section survived: `wasm-opt`
// (cargo xtask dist) drops it unless asked to keep it — `RDPFIX_WASM_NAMES=1 cargo xtask
// dist --no-exe` builds a named bundle (a little larger and slower: not for release).
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { launch, openPage, appReady, chooseFiles } from './harness.mjs';

const [file, out = 'worker.cpuprofile', query = ''] = process.argv.slice(2);
if (!file) {
  console.error('usage: node tests/browser/profile.mjs <file> [out.cpuprofile]  (env RDPFIX_URL)');
  process.exit(2);
}
const browser = await launch();
try {
  const { page } = await openPage(browser, query);
  await appReady(page);
  await page.waitForTimeout(1000); // the page's analysis worker starts as it loads
  const cdp = await browser.newBrowserCDPSession();
  const { targetInfos } = await cdp.send('Target.getTargets');
  const worker = targetInfos.find((t) => t.type === 'worker' && t.url.endsWith('/worker.js'));
  if (!worker) throw new Error('the page has no analysis worker running');
  const { sessionId } = await cdp.send('Target.attachToTarget', {
    targetId: worker.targetId,
    flatten: false,
  });
  let nextId = 0;
  const answers = new Map();
  cdp.on('Target.receivedMessageFromTarget', (e) => {
    const m = JSON.parse(e.message);
    answers.get(m.id)?.(m);
    answers.delete(m.id);
  });
  const send = (method, params = {}) =>
    new Promise((answered) => {
      nextId += 1;
      answers.set(nextId, answered);
      cdp.send('Target.sendMessageToTarget', {
        sessionId,
        message: JSON.stringify({ id: nextId, method, params }),
      });
    });
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: 200 });
  await send('Profiler.start');
  // Stopped the moment the findings are on screen, from the page itself: the worker then
  // hashes the file and ends, taking its profile with it (waiting for the selector from
  // here, the stop reached a worker already gone: "No session with given id").
  let stopped;
  const stop = new Promise((done) => {
    stopped = done;
  });
  await page.exposeFunction('__profileStop', () => stopped(send('Profiler.stop')));
  await page.evaluate(() => {
    const observer = new MutationObserver(() => {
      const results = document.querySelector('[data-testid="results"]');
      if (results?.getAttribute('data-state') === 'done') {
        observer.disconnect();
        window.__profileStop();
      }
    });
    observer.observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ['data-state'],
    });
  });
  await chooseFiles(page, [resolve(file)]);
  const timeout = new Promise((_, failed) =>
    setTimeout(() => failed(new Error('no findings within 600 s')), 600_000).unref(),
  );
  const { result } = await Promise.race([stop, timeout]);
  const profile = result.profile;
  writeFileSync(out, JSON.stringify(profile));
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  profile.samples.forEach((id, i) => {
    const { functionName, url } = nodes.get(id).callFrame;
    const key = `${functionName || '(anonymous)'}  ${url.split('/').pop()}`;
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log(`${(us / 1000).toFixed(1).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${name}`);
  }
  console.log(`profile: ${out}`);
} finally {
  await browser.close();
}
