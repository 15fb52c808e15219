// Two or more builds of the page side by side on one .evtx: rounds of one timed run each, in
// turn (a fresh headless Chromium per run, the page left open 1 s before the file is chosen,
// no memory sampling: as bench.mjs times), then each page's median. With RDPFIX_DUMP (the
// path of `evtx_dump`), each round starts with `evtx_dump -o jsonl -t 1 <file> > /dev/null`,
// timed the same way. Not run by `cargo xtask test`; see BENCHMARKS.md.
//
//   RDPFIX_DUMP=target/tools/bin/evtx_dump node tests/browser/sidebyside.mjs <file.evtx> <rounds> \
//     'http://127.0.0.1:8081/?workers=1' 'http://127.0.0.1:8082/?workers=1'
//
// Each URL is a page served with the site's headers (`cargo xtask serve` serves dist/; serve a
// copy of another build on another port). One JSON line per run (its round, the load average,
// chosen → findings, the worker's `spent` figures), then one MEDIAN line per page.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { launchForMeasuring, openMeasuredPage, measureAnalysis } from './measure.mjs';

const [file, rounds, ...urls] = process.argv.slice(2);
if (!file || !(Number(rounds) > 0) || !urls.length) {
  console.error('usage: node tests/browser/sidebyside.mjs <file.evtx> <rounds> <url> [<url> …]  (env RDPFIX_DUMP)');
  process.exit(2);
}
const path = resolve(file);
const dump = process.env.RDPFIX_DUMP;
const times = new Map(urls.map((u) => [u, []]));
const dumps = [];
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
let failed = false;
for (let round = 0; round < Number(rounds); round++) {
  if (dump) {
    const t = process.hrtime.bigint();
    execFileSync('sh', ['-c', '"$0" -o jsonl -t 1 "$1" > /dev/null', resolve(dump), path]);
    dumps.push(Number(process.hrtime.bigint() - t) / 1e6);
    console.log(JSON.stringify({ round, load: load(), evtx_dump_ms: Math.round(dumps.at(-1)) }));
  }
  for (const url of urls) {
    const browser = await launchForMeasuring();
    try {
      const { page } = await openMeasuredPage(browser, url);
      const m = await measureAnalysis(page, path, { sampleMemory: false, settleMs: 1000 });
      failed ||= m.state !== 'done';
      times.get(url).push(m.chosen_to_findings_ms);
      console.log(
        JSON.stringify({ round, load: load(), url, state: m.state, chosen_to_findings_ms: m.chosen_to_findings_ms, events: m.events, spent_ms: m.spent_ms }),
      );
    } finally {
      await browser.close();
    }
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
if (dump) console.log(`MEDIAN ${Math.round(median(dumps))} ms evtx_dump -o jsonl -t 1`);
for (const [url, a] of times) console.log(`MEDIAN ${median(a)} ms ${url} (${a.join(', ')})`);
process.exitCode = failed ? 1 : 0;
